"""A fork-server entry for the tests: plain, unrestricted Python in a locked-down child.

The isolation tests prove each OS layer on its own, with no language layer in the way: the
exec'd source has real builtins and real imports (of modules preloaded below), and only the OS
layers stand between it and the host. It lives under tests/, so nothing in the installed package
can select it: a ProcessRunner subclass names this module as its ``_entry`` and the fork server
it starts imports it from the tests' import path.
"""

from __future__ import annotations

from types import CodeType
from typing import ClassVar

from isolation.plain_python import compile_plain, decode, encode, run_plain
from restricted_exec.child.protocol import Outlet
from restricted_exec.isolation.pool import ProcessRunner

# How many times this process has warmed up: 1 in the fork server (and inherited by every
# child), 2 in a child that also warmed up while it waited. Tests read it from inside a child.
warm_ups = 0


def warm_up() -> None:
    global warm_ups
    warm_ups += 1
    # Landlock forbids reading any file once the child is locked down, so every module the tests'
    # hostile snippets import must already be in sys.modules.
    import ctypes  # noqa: F401
    import errno  # noqa: F401
    import mmap  # noqa: F401
    import os  # noqa: F401
    import resource  # noqa: F401
    import signal  # noqa: F401
    import socket  # noqa: F401
    import subprocess  # noqa: F401
    import threading  # noqa: F401
    import time  # noqa: F401

    # Exercise the exec/JSON path once, like the real runtime's warm-up program does.
    run_request(b"x = 1")


# Every program this process prepared, kept for its whole life: a test that reads a child's
# memory then sees everything the child was ever given, whatever the allocator reused since.
prepared_programs: list[bytes] = []


def prepare(program: bytes, base: object | None = None) -> bytes:
    prepared_programs.append(program)
    return program


def prepare_to_share(program: bytes) -> CodeType:
    """Like the real runtime's: the fork server compiles a program sent ahead once, so that its
    code object (and its constants) is what every child it forks starts with."""
    return compile_plain(program)


def run_prepared(prepared: object, inputs: bytes, outlet: Outlet | None = None) -> bytes:
    assert isinstance(prepared, bytes | CodeType)
    return run_request(prepared)  # plain Python has no inputs: a Sandbox's are ignored


def run_request(request: bytes | CodeType) -> bytes:
    return run_plain(request)


class UnrestrictedRunner(ProcessRunner):
    """A ProcessRunner whose children exec plain Python. For the isolation tests only."""

    _entry: ClassVar[str | None] = __name__


class HostRootRunner(UnrestrictedRunner):
    """An UnrestrictedRunner whose children keep the host's root directory (no empty root), for
    the tests that prove another layer (Landlock) against the host's real files."""

    _empty_root: ClassVar[bool] = False


__all__ = [
    "HostRootRunner",
    "UnrestrictedRunner",
    "decode",
    "encode",
    "prepare",
    "prepare_to_share",
    "run_prepared",
    "run_request",
    "warm_up",
]
