"""A program's code runs only inside its own run: never after it, never in another thread.

Its objects can outlive the run or reach other threads through process-wide state (typing's
parameter caches compared a program's key with another caller's, running its ``__eq__`` in
that caller's thread; red-team round 10), and code the runtime ran on its objects after the
run escaped the run's guards (round 9). Every function and lambda of a program therefore
starts by checking its run (compiler.RUN_HOOK). The programs here are plain definitions, run
by the test through the runtime's own pieces; nothing hostile runs in this process.
"""

from __future__ import annotations

import threading
import typing
from collections.abc import Callable
from typing import Any

import pytest

from restricted_exec import Policy
from restricted_exec.child import executor
from restricted_exec.language.catalogue import DEFAULT_MODULES, DEFAULT_PRELOAD
from restricted_exec.language.compiler import compile_source
from restricted_exec.language.guards import OutsideItsRun

DEFINITIONS = """
def function(x):
    "a docstring stays the first statement"
    return x + 1
lam = lambda x: x * 2
class Widget:
    def method(self):
        return "method"
def generator():
    yield 1
"""


def _ran_and_ended(source: str, *, inline: bool) -> dict[str, Any]:
    """The globals of ``source`` run as its run would run it, after the run has ended."""
    state = executor._RunState(None, thread_bound=inline)
    state.presence.begin()
    program = _load(state, inline=inline, source=source)
    state.presence.end()
    return program


def _load(state: Any, *, inline: bool, source: str = DEFINITIONS) -> dict[str, Any]:
    # Each isolation mode compiles its own form of the check (compiler.RUN_HOOK).
    policy = Policy(isolation="inline" if inline else "process")
    outcome = compile_source(source, policy.compile_settings())
    assert outcome.code is not None
    options = executor.RunOptions(DEFAULT_MODULES, DEFAULT_PRELOAD, output_bytes=1_000)
    program_globals = executor.build_globals(
        outcome.hoisted, {}, options, executor._Stdout(1_000), state
    )
    exec(outcome.code, program_globals)
    return program_globals


def _calls(program: dict[str, Any]) -> list[Callable[[], Any]]:
    return [
        lambda: program["function"](1),
        lambda: program["lam"](2),
        lambda: program["Widget"]().method(),
        lambda: next(program["generator"]()),
    ]


@pytest.mark.parametrize(
    ("thread_bound", "inline_code"),
    [(False, False), (True, True), (False, True), (True, False)],
    ids=["child", "inline", "inline-code-in-a-child", "child-code-inline"],
)
def test_a_program_s_functions_run_inside_its_run_and_refuse_after_it(
    thread_bound: bool, inline_code: bool
) -> None:
    state = executor._RunState(None, thread_bound=thread_bound)
    state.presence.begin()
    program = _load(state, inline=inline_code)
    assert [call() for call in _calls(program)] == [2, 4, "method", 1]
    assert program["function"].__doc__ == "a docstring stays the first statement"
    state.presence.end()
    for call in _calls(program):
        with pytest.raises(OutsideItsRun):
            call()


def test_an_inline_run_s_functions_refuse_in_every_other_thread_while_it_runs() -> None:
    state = executor._RunState(None, thread_bound=True)
    state.presence.begin()  # this thread is the run's
    program = _load(state, inline=True)
    outcomes: list[object] = []

    def other_thread() -> None:
        for call in _calls(program):
            try:
                outcomes.append(call())
            except OutsideItsRun:
                outcomes.append("refused")

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert outcomes == ["refused"] * 4
    assert program["function"](1) == 2  # still fine in the run's own thread
    state.presence.end()


def test_a_refusal_is_a_type_error_so_typing_s_cache_answers_afresh() -> None:
    # What a program's key in typing's shared cache does once refused: the lookup of another
    # caller (another run, the host) treats it as a miss and builds its own alias.
    class ProgramKey:
        outside_its_run = False  # as the run's functions see it: inside, then not

        def __hash__(self) -> int:
            return hash(int)

        def __eq__(self, other: object) -> bool:
            if ProgramKey.outside_its_run:
                raise OutsideItsRun("a program's code runs only inside its own run")
            return other is self

    planted = typing.List[ProgramKey()]  # type: ignore[misc]  # noqa: UP006
    ProgramKey.outside_its_run = True
    try:
        looked_up = typing.List[int]  # noqa: UP006
        assert looked_up is not planted
        assert typing.get_args(looked_up) == (int,)
    finally:
        for clear in typing._cleanups:  # type: ignore[attr-defined]
            clear()


def test_the_run_check_moves_no_recursion_error() -> None:
    # The check reads an attribute and tests a dict: no call, no comparison, so a runaway
    # recursion still stops where CPython stops it, with CPython's message.
    state = executor._RunState(None, thread_bound=True)
    state.presence.begin()
    outcome = compile_source(
        "def depth(n):\n    return depth(n + 1)\n",
        Policy(isolation="inline").compile_settings(),
    )
    assert outcome.code is not None
    options = executor.RunOptions(DEFAULT_MODULES, DEFAULT_PRELOAD, output_bytes=1_000)
    program = executor.build_globals(outcome.hoisted, {}, options, executor._Stdout(1_000), state)
    exec(outcome.code, program)
    with pytest.raises(RecursionError) as raised:
        program["depth"](0)
    assert str(raised.value) == "maximum recursion depth exceeded"
    state.presence.end()


LATE_CODE = """
log = []
def gen():
    try:
        yield 1
    except [log.append("except expression ran") for _ in "x"] and ValueError:
        log.append("handler ran")
g = gen()
next(g)
lazy = (log.append("generator expression ran") for _ in "xy")
"""


@pytest.mark.parametrize("inline", [False, True], ids=["child", "inline"])
def test_code_a_suspended_generator_or_generator_expression_would_run_later_refuses(
    inline: bool,
) -> None:
    # Red-team round 11: finalising a suspended generator after its run (the garbage
    # collector, in any thread) evaluated its `except` type expression before any check; a
    # generator expression's body runs whenever someone calls next() on it.
    program = _ran_and_ended(LATE_CODE, inline=inline)
    with pytest.raises(OutsideItsRun):
        program["g"].close()
    with pytest.raises(OutsideItsRun):
        next(program["lazy"])
    assert program["log"] == []


LATE_DELEGATE = """
import functools
log = []
class Sub:
    def __iter__(self):
        return self
    def __next__(self):
        return 1
sub = Sub()
sub.close = functools.partial(log.append, "the delegate's close ran")
def outer():
    yield from sub
g = outer()
next(g)
"""


@pytest.mark.parametrize("inline", [False, True], ids=["child", "inline"])
def test_a_yield_from_delegate_s_close_runs_nothing_after_the_run(inline: bool) -> None:
    # Red-team round 11: CPython calls the delegate's `close` natively when the suspended
    # generator is finalised; an own object's `close` was any callable (a partial).
    program = _ran_and_ended(LATE_DELEGATE, inline=inline)
    with pytest.raises(executor.ExecutionInterrupted):
        program["g"].close()
    assert program["log"] == []
