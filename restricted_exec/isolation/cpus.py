"""Which CPU the calling thread is on, and keeping a child off it (Linux; elsewhere a no-op).

A caller that arrives at an idle runner looks for its reply without sleeping (channel.SPIN_S),
and a warm child told READY (wire.HostFrame.READY) looks for its request without sleeping while
its caller prepares the run. The kernel may wake the reader of a Unix socket on the writer's CPU
("the writer sleeps next"), which is wrong while the writer spins: the child then waits for the
spin to end, or both share the CPU in slices of milliseconds. So while the caller spins, a warm
child told READY and a fresh single-use child are kept off the caller's CPU, and let back onto
their own CPUs once the caller sleeps (a long run is then free to use any of them). (A warm
child not told READY, and a session's child, measured no different with it.) Setting another
process's affinity needs the same uid or CAP_SYS_NICE; without it, warm children are not told
READY, and a fresh child that already dropped root stays off its caller's CPU until it exits.
Measured: docs/performance.md, the seventh and eighth sessions.
"""

from __future__ import annotations

import contextlib
import os

from restricted_exec.isolation.syscalls import libc_function

__all__ = ["affinity", "current_cpu", "keep_off", "keep_off_caller", "let_back"]

_sched_getcpu = libc_function("sched_getcpu") if hasattr(os, "sched_setaffinity") else None


def current_cpu() -> int | None:
    """The CPU the calling thread runs on now (it may move any time), or None if unknown."""
    if _sched_getcpu is None:
        return None
    cpu = _sched_getcpu()
    return cpu if cpu >= 0 else None


def affinity(pid: int) -> frozenset[int] | None:
    """The CPUs process ``pid`` may run on, or None if they cannot be read."""
    if _sched_getcpu is None:
        return None
    try:
        return frozenset(os.sched_getaffinity(pid))
    except OSError:
        return None


def keep_off(pid: int, cpu: int, cpus: frozenset[int]) -> bool:
    """Let process ``pid`` run on ``cpus`` but ``cpu``; False if that leaves none or the kernel
    refused (then nothing changed)."""
    others = cpus - {cpu}
    if not others:
        return False
    try:
        os.sched_setaffinity(pid, others)
    except OSError:
        return False
    return True


def keep_off_caller(pid: int) -> frozenset[int] | None:
    """Keep process ``pid`` off the calling thread's CPU; the CPUs to let it back onto, or None
    if nothing changed (the CPU is unknown, ``pid`` is off it already or has no other, or the
    kernel refused)."""
    cpu = current_cpu()
    if cpu is None:
        return None
    own = affinity(pid)
    if own is None or cpu not in own or not keep_off(pid, cpu, own):
        return None
    return own


def let_back(pid: int, cpus: frozenset[int]) -> None:
    """Let process ``pid`` run on ``cpus`` again (best effort: a child that is gone needs
    nothing)."""
    with contextlib.suppress(OSError):
        os.sched_setaffinity(pid, cpus)
