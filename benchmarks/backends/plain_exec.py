"""Plain CPython ``exec``: the floor. No safety at all; compiled once, fresh globals per run."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from benchmarks.capture import captured_stdout
from benchmarks.core import Outcome

NAME = "plain exec (no safety)"
KIND = "in-process"
LIMITS: frozenset[str] = frozenset()
CONCURRENT = True
NOTES = "compile() once, exec in fresh globals; no time or memory limit"


def available() -> str | None:
    return None


def prepare(source: str, *, timeout_s: float, memory_mb: int) -> Callable[[], Outcome]:
    code = compile(source, "<program>", "exec")

    def call() -> Outcome:
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        with captured_stdout() as buffer:
            try:
                exec(code, namespace)
            except Exception as error:
                return Outcome.failure(buffer.getvalue(), type(error).__name__)
        return Outcome.success(buffer.getvalue())

    return call


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    try:
        call = prepare(source, timeout_s=timeout_s, memory_mb=memory_mb)
    except SyntaxError:
        return Outcome.failure("", "SyntaxError")
    return call()
