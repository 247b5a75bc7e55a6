"""Per-request resource limits, set in the child just before untrusted code runs.

Every hard limit equals its soft limit, so the program cannot raise a soft limit back up. (Root
could raise hard limits; the child drops root and seccomp denies setrlimit/prlimit64 as well.)
The one exception is RLIMIT_CPU, see ``apply``.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# Descriptors the program may create on top of those already open (pipes, eventfds, epoll): enough
# for ordinary library internals, too few to exhaust anything of the host's.
EXTRA_FDS = 8


@dataclass(frozen=True, slots=True)
class Baseline:
    """The child's own footprint before the request, so limits can be relative to it."""

    vm_bytes: int  # address space (statm size): what RLIMIT_AS counts
    rss_kb: int  # resident set: what ru_maxrss reports
    cpu_s: float  # user + system CPU already spent (fork, warm-up)


def measure_baseline() -> Baseline:
    """Read the child's footprint. Must run before Landlock, which makes /proc unreadable."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    try:
        with open("/proc/self/statm", "rb") as f:
            size_pages, resident_pages = (int(x) for x in f.read().split()[:2])
    except OSError:
        # Not Linux (or /proc not mounted): fall back to the peak RSS as an approximation.
        return Baseline(usage.ru_maxrss * 1024, usage.ru_maxrss, cpu)
    return Baseline(size_pages * _PAGE_SIZE, resident_pages * _PAGE_SIZE // 1024, cpu)


def _set(which: int, soft: int, hard: int | None = None) -> None:
    resource.setrlimit(which, (soft, soft if hard is None else hard))


def apply(*, cpu_s: float, memory_mb: int, baseline: Baseline, highest_fd: int) -> None:
    """Set every limit for one request. Raises OSError/ValueError if the kernel refuses one."""
    # Address space relative to the baseline, so memory_mb is what the program may allocate no
    # matter how large the runtime is. Exceeding it makes mmap/brk fail: CPython raises
    # MemoryError, which the language layer reports.
    _set(resource.RLIMIT_AS, baseline.vm_bytes + memory_mb * 1024 * 1024)
    # CPU: counted from process start, so add what the child already used. Soft < hard by one
    # second: the soft limit sends SIGXCPU (the distinctive "CPU timeout" signal); the hard limit
    # SIGKILLs a program that somehow survives SIGXCPU.
    cpu_soft = max(1, round(baseline.cpu_s + cpu_s))
    _set(resource.RLIMIT_CPU, cpu_soft, cpu_soft + 1)
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


def highest_open_fd() -> int:
    """The highest fd number open in this process (the child has only a handful)."""
    try:
        return max(int(name) for name in os.listdir("/proc/self/fd"))
    except (OSError, ValueError):
        return 3
