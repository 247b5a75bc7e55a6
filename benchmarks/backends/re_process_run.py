"""restricted_exec, isolation="process": ``run()`` with different source every call.

A fresh constant is appended to the source on every call, so the compile cache never hits:
this is the cost of a program the service has never seen (the usual case for model code).
"""

from __future__ import annotations

from benchmarks.backends import _restricted_exec as common
from benchmarks.core import Outcome

NAME = "restricted_exec process run() new source"
KIND = "worker pool"
LIMITS = frozenset({"time", "memory"})
CONCURRENT = True
NOTES = "compile + run every call (a constant varies, defeating the compile cache)"


def available() -> str | None:
    return common.probe("process")


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    import restricted_exec

    result = restricted_exec.run(
        common.vary(source), policy=common.policy("process", timeout_s, memory_mb)
    )
    return common.to_outcome(result)
