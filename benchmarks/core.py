"""Shared types of the harness: what a backend returns, and the statistics we quote."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Literal

Kind = Literal["ok", "error", "timeout", "memory", "crash", "unsupported"]


@dataclass(frozen=True)
class Outcome:
    """What one run of a program gave the caller.

    Attributes:
        stdout: everything the program printed (before an error, too).
        ok: the program ran to its end without an uncaught exception.
        error: exception type name (``"ZeroDivisionError"``) or a short reason; None if ok.
        kind: how the run ended, normalised across backends.
    """

    stdout: str
    ok: bool
    error: str | None = None
    kind: Kind = "ok"

    @staticmethod
    def success(stdout: str) -> Outcome:
        return Outcome(stdout=stdout, ok=True)

    @staticmethod
    def failure(stdout: str, error: str, kind: Kind = "error") -> Outcome:
        if kind == "error" and error in ("MemoryError",):
            kind = "memory"
        if kind == "error" and error in ("TimeoutError",):
            kind = "timeout"
        return Outcome(stdout=stdout, ok=False, error=error, kind=kind)


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: with few runs p99 is the maximum)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    runs: int
    median_ms: float
    p99_ms: float
    min_ms: float
    mean_ms: float

    @staticmethod
    def of(samples_ms: list[float]) -> Summary:
        return Summary(
            runs=len(samples_ms),
            median_ms=statistics.median(samples_ms),
            p99_ms=percentile(samples_ms, 0.99),
            min_ms=min(samples_ms),
            mean_ms=statistics.fmean(samples_ms),
        )
