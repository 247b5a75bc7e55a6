"""restricted_exec, isolation="inline": ``compile_program`` once, then ``Program.run``."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.backends import _restricted_exec as common
from benchmarks.core import Outcome

NAME = "restricted_exec inline Program.run"
KIND = "in-process"
LIMITS = frozenset({"time"})
CONCURRENT = True
NOTES = "compiled once; caller thread, watchdog deadline, no memory limit"


def available() -> str | None:
    return common.probe("inline")


def prepare(source: str, *, timeout_s: float, memory_mb: int) -> Callable[[], Outcome]:
    import restricted_exec

    program = restricted_exec.compile_program(
        source, policy=common.policy("inline", timeout_s, memory_mb)
    )

    def call() -> Outcome:
        return common.to_outcome(program.run())

    return call


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    return prepare(source, timeout_s=timeout_s, memory_mb=memory_mb)()


async def run_async(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    import restricted_exec

    program = restricted_exec.compile_program(
        source, policy=common.policy("inline", timeout_s, memory_mb)
    )
    return common.to_outcome(await program.run_async())
