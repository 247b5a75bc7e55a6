"""pydantic-monty (Rust Python VM, subprocess worker pool): one checkout per run."""

from __future__ import annotations

from benchmarks.backends import _monty as common
from benchmarks.core import Outcome

NAME = "pydantic-monty checkout per run"
KIND = "worker pool"
LIMITS = frozenset({"time", "memory"})
CONCURRENT = True
NOTES = "fresh session per run on a warm pooled worker (pool: a worker per CPU); its own VM"


def available() -> str | None:
    return common.available(__name__)


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    with common.pool(__name__).checkout(limits=common.limits(timeout_s, memory_mb)) as session:
        outcome, _ = common.feed(session, source)
    return outcome


def close() -> None:
    common.close(__name__)
