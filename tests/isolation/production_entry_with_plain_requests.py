"""A fork-server entry for the tests: the production entry, plus plain-Python requests.

Some tests need a child that behaves as the production one does (its fork server warmed up by
``restricted_exec.child.executor``, honest programs run by the real runtime) but that can also be
told to run plain Python: to read what a production child starts with (its ``sys.modules``),
or to play a hostile child that forges its reply frame through a real Sandbox. A request whose
program part starts with ``plain_python.PLAIN`` is such plain Python; every other request goes
to the production entry unchanged. It imports nothing more than the production entry does but
``plain_python`` (the runner that names it, ``plain_capable.PlainCapableRunner``, lives apart).
It lives under tests/, so no installed code can send one.
"""

from __future__ import annotations

from isolation.plain_python import PLAIN, run_plain
from restricted_exec.child import executor
from restricted_exec.child.protocol import Outlet


def warm_up() -> None:
    executor.warm_up()


def warm_child(link: executor.ChildLink | None = None) -> None:
    executor.warm_child(link)


def prepare_base() -> object | None:
    return executor.prepare_base()


def prepare(program: bytes, base: object | None = None) -> object:
    if program.startswith(PLAIN):
        return program[len(PLAIN) :]
    assert base is None or isinstance(base, executor.BaseGlobals)
    return executor.prepare(program, base)


def prepare_to_share(program: bytes) -> object | None:
    if program.startswith(PLAIN):
        return None  # each child prepares it itself
    return executor.prepare_to_share(program)


def run_prepared(prepared: object, inputs: bytes, outlet: Outlet | None = None) -> bytes:
    if isinstance(prepared, executor.Prepared):
        return executor.run_prepared(prepared, inputs, outlet)
    assert isinstance(prepared, bytes)
    return run_plain(prepared)  # plain Python has no inputs: a Sandbox's are ignored
