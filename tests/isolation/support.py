"""Helpers for the isolation tests: run plain Python in a locked-down child, and host-hygiene
probes (zombies, fds)."""

from __future__ import annotations

import os
import time
from typing import Any

from isolation.unrestricted_entry import UnrestrictedRunner, decode, encode
from restricted_exec.isolation import ChildLimits, ChildOutcome, classify, pool

GENEROUS = ChildLimits(wall_s=10.0, cpu_s=10.0, memory_mb=256, max_payload_bytes=1 << 20)


def run_source(runner: UnrestrictedRunner, source: str, **limits: Any) -> ChildOutcome:
    values = {
        "wall_s": GENEROUS.wall_s,
        "cpu_s": GENEROUS.cpu_s,
        "memory_mb": GENEROUS.memory_mb,
        "max_payload_bytes": GENEROUS.max_payload_bytes,
    }
    values.update(limits)
    return runner.run(encode(source), ChildLimits(**values))


def run_ok(runner: UnrestrictedRunner, source: str, **limits: Any) -> dict[str, Any]:
    """Run ``source``; assert the child replied; return its decoded payload."""
    outcome = run_source(runner, source, **limits)
    assert classify(outcome).replied, outcome
    assert outcome.payload is not None
    return decode(outcome.payload)


def error_of(payload: dict[str, Any]) -> dict[str, Any]:
    error = payload["error"]
    assert error is not None, f"the hostile code succeeded: {payload}"
    assert isinstance(error, dict)
    return error


def zombies_of(*parents: int) -> list[int]:
    """Pids in Z state whose parent is one of ``parents``."""
    found: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, ppid = fields[0], int(fields[1])
        if state == "Z" and ppid in parents:
            found.append(int(name))
    return found


def lasting_zombies(*parents: int, grace_s: float = 5.0) -> list[int]:
    """Zombies of ``parents`` that are still unreaped after ``grace_s``.

    A child the fork server has just killed is a zombie until the server's
    SIGCHLD handler reaps it; that window is normal. A zombie that outlives the
    grace period is a leak.
    """
    deadline = time.monotonic() + grace_s
    found = zombies_of(*parents)
    while found and time.monotonic() < deadline:
        time.sleep(0.02)
        found = [pid for pid in zombies_of(*parents) if pid in found]
    return found


def children_of(parent: int) -> list[int]:
    found: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(name))
    return found


def open_fds() -> int:
    """This process's open fds, counted once every open runner has its waiting children back.

    A used child's replacement is asked for asynchronously (when the fork server reports it reaped),
    so a count taken just after a run may be one socket short; counts taken in settled states
    are comparable, and a leak still shows as growth."""
    _settle_live_runners(within_s=10.0)
    return len(os.listdir("/proc/self/fd"))


def _settle_live_runners(within_s: float) -> None:
    deadline = time.monotonic() + within_s
    for runner in list(pool._live_runners):
        while time.monotonic() < deadline:
            if runner._top_up_missed:
                runner._replenish_after_run()  # what the next run would do
            with runner._lock:
                fork_server = runner._fork_server
                if (
                    runner._closed
                    or fork_server is None
                    or fork_server.dead.is_set()
                    or len(runner._ready) >= runner._prefork
                ):
                    break
            time.sleep(0.005)
