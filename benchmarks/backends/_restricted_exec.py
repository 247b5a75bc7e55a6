"""Shared plumbing of the four restricted_exec adapters."""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from benchmarks.core import Outcome

if TYPE_CHECKING:
    from restricted_exec import ExecutionResult, Policy

Isolation = Literal["inline", "process"]

_nonce = itertools.count(1)
_nonce_lock = threading.Lock()


def vary(source: str) -> str:
    """The same program with a fresh constant appended, so no compile cache can hit."""
    with _nonce_lock:
        value = next(_nonce)
    return f"{source}\nbench_nonce = {value}\n"


@functools.lru_cache(maxsize=64)
def policy(isolation: Isolation, timeout_s: float, memory_mb: int) -> Policy:
    from restricted_exec import Policy

    return Policy(isolation=isolation, timeout_s=timeout_s, memory_mb=memory_mb)


def to_outcome(result: ExecutionResult) -> Outcome:
    status = result.status
    error = result.error
    if status == "ok":
        return Outcome.success(result.stdout)
    type_name = error.type if error is not None else status
    if status == "timeout":
        return Outcome.failure(result.stdout, type_name, "timeout")
    if status == "memory_limit":
        return Outcome.failure(result.stdout, type_name, "memory")
    if status in ("crashed", "rejected"):
        return Outcome.failure(result.stdout, f"{status}: {type_name}", "crash")
    if status in ("policy_violation", "syntax_error"):
        message = error.message if error is not None else ""
        return Outcome.failure(result.stdout, f"{type_name}: {message}", "unsupported")
    return Outcome.failure(result.stdout, type_name)


@functools.lru_cache(maxsize=2)
def probe(isolation: Isolation) -> str | None:
    """None if this mode runs a tiny program here, else why not (never raises)."""
    try:
        import restricted_exec

        result = restricted_exec.run("print(1)", policy=policy(isolation, 10.0, 256))
    except Exception as problem:
        return f"isolation={isolation!r} unavailable: {type(problem).__name__}: {problem}"
    if result.status != "ok" or result.stdout != "1\n":
        detail = result.error.message if result.error is not None else result.status
        return f"isolation={isolation!r} probe gave {result.status}: {detail}"
    if getattr(result, "isolation", isolation) != isolation:
        return f"isolation={isolation!r} probe ran in {result.isolation!r}"
    return None


class CompiledOnce:
    """The ``Program.run`` adapter for one isolation mode: compile once, run many."""

    def __init__(self, isolation: Isolation) -> None:
        self.isolation = isolation

    def available(self) -> str | None:
        return probe(self.isolation)

    def prepare(self, source: str, *, timeout_s: float, memory_mb: int) -> Callable[[], Outcome]:
        import restricted_exec

        program = restricted_exec.compile_program(
            source, policy=policy(self.isolation, timeout_s, memory_mb)
        )
        return lambda: to_outcome(program.run())

    def run(self, source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
        return self.prepare(source, timeout_s=timeout_s, memory_mb=memory_mb)()

    async def run_async(self, source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
        import restricted_exec

        program = restricted_exec.compile_program(
            source, policy=policy(self.isolation, timeout_s, memory_mb)
        )
        return to_outcome(await program.run_async())


class NewSourceEachCall:
    """The ``run()`` adapter for one isolation mode: a source no cache has seen, every call."""

    def __init__(self, isolation: Isolation) -> None:
        self.isolation = isolation

    def available(self) -> str | None:
        return probe(self.isolation)

    def run(self, source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
        import restricted_exec

        result = restricted_exec.run(
            vary(source), policy=policy(self.isolation, timeout_s, memory_mb)
        )
        return to_outcome(result)
