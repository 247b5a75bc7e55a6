"""Which CPU the calling thread is on, and keeping a child off it (Linux; elsewhere a no-op).

A child told READY (wire.HostFrame.READY) looks for its request without sleeping while its caller
prepares the run, and the caller then looks for the reply without sleeping (channel.SPIN_S). The
kernel wakes the reader of a Unix socket on the writer's CPU ("the writer sleeps next"), which is
wrong for both: two spinners on one CPU share it in slices of milliseconds. So while the caller
spins, the child is kept off the caller's CPU, and let back onto every CPU once the caller
sleeps (a long run is then free to use any CPU). Measured: docs/performance.md, the seventh
session.
"""

from __future__ import annotations

import contextlib
import os

from restricted_exec.isolation.syscalls import libc_function

__all__ = ["allowed_cpus", "current_cpu", "keep_off", "let_back"]


_sched_getcpu = libc_function("sched_getcpu") if hasattr(os, "sched_setaffinity") else None
_allowed: frozenset[int] | None = None


def current_cpu() -> int | None:
    """The CPU the calling thread runs on now (it may move any time), or None if unknown."""
    if _sched_getcpu is None:
        return None
    cpu = _sched_getcpu()
    return cpu if cpu >= 0 else None


def allowed_cpus() -> frozenset[int]:
    """The CPUs this process may use, read once (what a child inherits from its fork server)."""
    global _allowed
    if _allowed is None:
        _allowed = frozenset(os.sched_getaffinity(0)) if _sched_getcpu is not None else frozenset()
    return _allowed


def keep_off(pid: int, cpu: int) -> bool:
    """Let process ``pid`` run on every allowed CPU but ``cpu``; False if there is no other or
    the kernel refused (then nothing changed)."""
    others = allowed_cpus() - {cpu}
    if not others:
        return False
    try:
        os.sched_setaffinity(pid, others)
    except OSError:
        return False
    return True


def let_back(pid: int) -> None:
    """Let process ``pid`` run on every allowed CPU again (best effort: a child that is gone
    needs nothing)."""
    with contextlib.suppress(OSError):
        os.sched_setaffinity(pid, allowed_cpus())
