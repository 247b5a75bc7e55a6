"""restricted_exec, isolation="process": ``compile_program`` once, then ``Program.run``."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.backends import _restricted_exec as common
from benchmarks.core import Outcome

NAME = "restricted_exec process Program.run"
KIND = "worker pool"
LIMITS = frozenset({"time", "memory"})
CONCURRENT = True
NOTES = "compiled once; fresh locked-down pre-forked child per run"


def available() -> str | None:
    return common.probe("process")


def prepare(source: str, *, timeout_s: float, memory_mb: int) -> Callable[[], Outcome]:
    import restricted_exec

    program = restricted_exec.compile_program(
        source, policy=common.policy("process", timeout_s, memory_mb)
    )

    def call() -> Outcome:
        return common.to_outcome(program.run())

    return call


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    return prepare(source, timeout_s=timeout_s, memory_mb=memory_mb)()


async def run_async(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    import restricted_exec

    program = restricted_exec.compile_program(
        source, policy=common.policy("process", timeout_s, memory_mb)
    )
    return common.to_outcome(await program.run_async())
