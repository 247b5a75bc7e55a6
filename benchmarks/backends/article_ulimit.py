"""The Kotaemon-article recipe, exactly: bash, ``ulimit -v``, ``python3 -c CODE``, a timeout."""

from __future__ import annotations

import shlex
import subprocess

from benchmarks.backends import _subprocess as common
from benchmarks.core import Outcome

NAME = "article: bash ulimit -v + python3 -c"
KIND = "subprocess"
LIMITS = frozenset({"time", "memory"})
CONCURRENT = True
NOTES = "new bash + interpreter per run; full stdlib, filesystem and network reachable"


def available() -> str | None:
    return None


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    command = f"ulimit -v {memory_mb * 1024}; {common.python3()} -c {shlex.quote(source)}"
    try:
        completed = subprocess.run(
            ["/bin/bash", "-c", command], capture_output=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as error:
        return common.timed_out(error)
    return common.decode(completed)
