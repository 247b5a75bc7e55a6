"""``python3 -I -S -c CODE`` in a subprocess, with only subprocess.run's timeout."""

from __future__ import annotations

import subprocess

from benchmarks.backends import _subprocess as common
from benchmarks.core import Outcome

NAME = "python3 -I -S -c"
KIND = "subprocess"
LIMITS = frozenset({"time"})
CONCURRENT = True
NOTES = "isolated mode, no site; no memory limit (a memory bomb would hit the host)"


def available() -> str | None:
    return None


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    try:
        completed = subprocess.run(
            [common.python3(), "-I", "-S", "-c", source], capture_output=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as error:
        return common.timed_out(error)
    return common.decode(completed)
