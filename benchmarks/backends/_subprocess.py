"""Shared plumbing of the subprocess recipes: which python3, and reading a run's ending."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys

from benchmarks.core import Outcome

_LAST_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


@functools.cache
def python3() -> str:
    """The real ``python3`` binary.

    ``python3`` on PATH may be a version-manager shim (a shell script that adds tens of
    milliseconds); the article's recipe means the interpreter itself, so shims are resolved.
    ``BENCH_PYTHON3`` overrides.
    """
    override = os.environ.get("BENCH_PYTHON3")
    if override:
        return override
    found = shutil.which("python3")
    if found and "shims" not in found:
        return os.path.realpath(found)
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def decode(completed: subprocess.CompletedProcess[bytes]) -> Outcome:
    stdout = completed.stdout.decode("utf-8", "replace")
    if completed.returncode == 0:
        return Outcome.success(stdout)
    stderr = completed.stderr.decode("utf-8", "replace").strip()
    if completed.returncode < 0:
        return Outcome.failure(stdout, f"signal {-completed.returncode}", "crash")
    last = stderr.splitlines()[-1] if stderr else ""
    match = _LAST_LINE.match(last)
    if match and "Traceback" in stderr:
        return Outcome.failure(stdout, match.group(1).rsplit(".", 1)[-1])
    return Outcome.failure(stdout, f"exit {completed.returncode}: {last[:80]}", "crash")


def timed_out(error: subprocess.TimeoutExpired) -> Outcome:
    raw = error.stdout or b""
    stdout = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return Outcome.failure(stdout, "TimeoutExpired", "timeout")
