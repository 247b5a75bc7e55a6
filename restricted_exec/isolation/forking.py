"""How the zygote forks: libc's fork(), without CPython's fork hooks.

``os.fork()`` wraps fork() in CPython's hooks: before it, every ``os.register_at_fork(before=)``
callback (logging takes its lock); after it, in the child, ``PyOS_AfterFork_Child`` re-creates
the GIL, the import lock and the thread states and runs every ``after_in_child`` callback
(``threading`` rebuilds its thread table, ``random`` reseeds its global generator, logging
re-creates the lock of every handler). Those exist for processes that had other threads at fork
time. The zygote never has: it is a single thread that only polls, forks and reaps. So the
hooks only write to hundreds of copy-on-write pages in every child, and each such page fault
costs a few microseconds on a VM (measured with ``perf record -e page-faults`` on the zygote's
children: 259 faults before a child ran its first line with ``os.fork()``, 54 with this).

Skipping them is sound only while the zygote is single-threaded, so ``fork`` checks that and
falls back to ``os.fork()`` otherwise. What the child gives up by skipping them:

* ``random``'s module-level generator would keep the zygote's state, so every child would draw
  the same numbers wherever the stdlib uses it (``statistics.NormalDist.samples`` does):
  ``reseed_for_next_child`` does that one hook's job, in the zygote after each fork, so that
  every child starts from a state no other child had. (Reseeding in the child cost ~100 us
  there, mostly copy-on-write faults; the zygote's second and later reseeds are warm. The
  ``random`` module a program imports is a private generator per run anyway, see
  ``restricted_exec.modules``.)
* ``threading.get_native_id()`` of the main thread keeps the zygote's value; the child never
  starts threads (seccomp forbids it).
* Signals the zygote received but had not yet handled are handled in the child too; the only
  handler the zygote installs does nothing, and the child resets it first thing.

glibc's own fork handling (malloc locks, the cached thread id, ``pthread_atfork`` handlers of C
libraries) still runs: this is libc's fork(), not a raw clone syscall.
"""

from __future__ import annotations

import ctypes
import os
import random
import threading
from collections.abc import Callable


def _libc_fork() -> Callable[[], int] | None:
    try:
        # PyDLL, not CDLL: the call keeps the GIL, so the child starts holding it, exactly as
        # the only thread of the parent did.
        libc = ctypes.PyDLL(None, use_errno=True)
        fork = libc.fork
    except (OSError, AttributeError):
        return None
    fork.restype = ctypes.c_int
    fork.argtypes = []
    return fork


_FORK = _libc_fork()


def fork() -> int:
    """fork(2): the child's pid in the parent, 0 in the child. Raises OSError on failure."""
    if _FORK is None or threading.active_count() != 1:
        return os.fork()
    pid = _FORK()
    if pid < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"fork: {os.strerror(errno)}")
    return pid


def reseed_for_next_child() -> None:
    """The one after-fork hook a child needs, run ahead of time: call it in the parent after
    every fork, and the next child inherits a fresh seed for the stdlib's shared generator."""
    random.seed()
