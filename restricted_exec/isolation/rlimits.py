"""Per-request resource limits, set in the child just before untrusted code runs.

Every hard limit equals its soft limit, so the program cannot raise a soft limit back up. (Root
could raise hard limits; the child drops root and seccomp denies setrlimit/prlimit64 as well.)
The one exception is RLIMIT_CPU, see ``apply``.
"""

from __future__ import annotations

import math
import os
import resource

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# Descriptors the program may create on top of those already open (pipes, eventfds, epoll): enough
# for ordinary library internals, too few to exhaust anything of the host's.
EXTRA_FDS = 8


def memory_footprint(proc_fd: int | None = None) -> tuple[int, int]:
    """(address space in bytes, resident set in KiB) of the calling process.

    Must run before Landlock, which makes /proc unreadable. ``proc_fd``: a descriptor of /proc,
    read through where /proc is not in the process's root (see emptyroot). Raw os calls rather
    than open(): this runs in every child, and the io stack's first use there costs
    copy-on-write faults.
    """
    try:
        if proc_fd is None:
            fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        else:
            fd = os.open("self/statm", os.O_RDONLY | os.O_CLOEXEC, dir_fd=proc_fd)
        try:
            size_pages, resident_pages = (int(x) for x in os.read(fd, 256).split()[:2])
        finally:
            os.close(fd)
    except OSError:
        # Not Linux (or /proc not mounted): approximate both with the peak RSS.
        rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss_kb * 1024, rss_kb
    return size_pages * _PAGE_SIZE, resident_pages * _PAGE_SIZE // 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _set(which: int, soft: int, hard: int | None = None) -> None:
    resource.setrlimit(which, (soft, soft if hard is None else hard))


def apply_static(*, highest_fd: int) -> None:
    """The limits that do not depend on the request; set while the child waits for it."""
    # No file may be written or grown at all (CPython ignores SIGXFSZ, so writes fail with EFBIG).
    _set(resource.RLIMIT_FSIZE, 0)
    # No core dumps: a crashing child must not write its memory to disk.
    _set(resource.RLIMIT_CORE, 0)
    # New fds must be numbered below this: room for a few, never enough to exhaust the host.
    _set(resource.RLIMIT_NOFILE, highest_fd + 1 + EXTRA_FDS)
    # No locked memory, message queues, or real-time scheduling: nothing a calculation needs.
    _set(resource.RLIMIT_MEMLOCK, 0)
    if hasattr(resource, "RLIMIT_MSGQUEUE"):
        _set(resource.RLIMIT_MSGQUEUE, 0)
    if hasattr(resource, "RLIMIT_RTPRIO"):
        _set(resource.RLIMIT_RTPRIO, 0)
    # No processes for this uid. The kernel ignores RLIMIT_NPROC for root (and for
    # CAP_SYS_RESOURCE/CAP_SYS_ADMIN), so this only bites once the child has dropped root
    # (privileges.drop_root); seccomp denies fork/clone regardless.
    _set(resource.RLIMIT_NPROC, 0)
    # The stack: keep the soft limit CPython started with but pin the hard limit to it.
    stack_soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    _set(resource.RLIMIT_STACK, stack_soft)


def request_limits(
    *, cpu_s: float, memory_mb: int, baseline_vm_bytes: int, baseline_cpu_s: float
) -> list[tuple[int, tuple[int, int]]]:
    """The per-request limits as (resource, (soft, hard)) pairs, relative to the child's baseline.

    Computed by the host (which sets them on the waiting child with prlimit) or, as a fallback,
    by the child itself.
    """
    # Address space relative to the baseline, so memory_mb is what the program may allocate no
    # matter how large the runtime is. Exceeding it makes mmap/brk fail: CPython raises
    # MemoryError, which the language layer reports.
    address_space = baseline_vm_bytes + memory_mb * 1024 * 1024
    # CPU is counted from process start, so add what the child already used (fork, warm-up,
    # lockdown). RLIMIT_CPU has one-second granularity: the program gets cpu_s rounded up to a
    # whole second (rounding to the nearest ended a cpu_s=1.4 run at 1.0 s, reporting a limit it
    # had not reached). Soft < hard by one second: the soft limit sends SIGXCPU (the distinctive
    # "CPU timeout" signal); the hard limit SIGKILLs a program that survives it.
    cpu_soft = max(1, math.ceil(baseline_cpu_s + cpu_s))
    return [
        (resource.RLIMIT_AS, (address_space, address_space)),
        (resource.RLIMIT_CPU, (cpu_soft, cpu_soft + 1)),
    ]


def set_on_child(pid: int, limits: list[tuple[int, tuple[int, int]]]) -> bool:
    """Set ``limits`` on another process with prlimit(2). Lowering a hard limit needs no
    privilege, and the child's seccomp filter does not apply to the host. False if impossible."""
    prlimit = getattr(resource, "prlimit", None)
    if prlimit is None:
        return False
    try:
        for which, pair in limits:
            prlimit(pid, which, pair)
    except (OSError, ValueError):
        return False
    return True


def highest_open_fd() -> int:
    """The highest fd number open in this process (the child has only a handful)."""
    try:
        return max(int(name) for name in os.listdir("/proc/self/fd"))
    except (OSError, ValueError):
        return 3
