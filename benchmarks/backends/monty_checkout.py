"""pydantic-monty (Rust Python VM, subprocess worker pool): one checkout per run."""

from __future__ import annotations

from benchmarks.backends import _monty as common
from benchmarks.core import Outcome

NAME = "pydantic-monty checkout per run"
KIND = "worker pool"
LIMITS = frozenset({"time", "memory"})
CONCURRENT = True
NOTES = "fresh session per run on a warm pooled worker; its own VM, not CPython"


def available() -> str | None:
    return common.available()


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    with common.pool().checkout(limits=common.limits(timeout_s, memory_mb)) as session:
        outcome, _ = common.feed(session, source)
    return outcome


def close() -> None:
    common.close()
