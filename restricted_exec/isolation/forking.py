"""How the fork server forks: libc's fork(), without CPython's fork hooks.

``os.fork()`` wraps fork() in CPython's hooks: before it, every ``os.register_at_fork(before=)``
callback (logging takes its lock); after it, in the child, ``PyOS_AfterFork_Child`` re-creates
the GIL, the import lock and the thread states and runs every ``after_in_child`` callback
(``threading`` rebuilds its thread table, ``random`` reseeds its global generator, logging
re-creates the lock of every handler). Those exist for processes that had other threads at fork
time. The fork server never has: it is a single thread that only polls, forks and reaps. So the
hooks only write to hundreds of copy-on-write pages in every child, and each such page fault
costs a few microseconds on a VM (docs/performance.md, "Measurements behind the code").

Skipping them is sound only while the fork server is single-threaded, so ``fork`` checks that and
falls back to ``os.fork()`` otherwise. What the child gives up by skipping them:

* ``random``'s module-level generator would keep the fork server's state, so every child would draw
  the same numbers wherever the stdlib uses it (``statistics.NormalDist.samples`` does).
  ``seed_shared_random_on_first_draw`` does that one hook's job lazily: the fork server replaces the
  shared generator with one that seeds itself from the OS the first time a process draws from
  it, and ``fork`` re-arms it, so every child that draws starts from a state no other child
  had, and the many children that never draw pay nothing. (Reseeding eagerly cost every run
  copy-on-write faults and CPU in the fork server and the child. The ``random`` module a
  program imports is a private generator per run anyway, see
  ``restricted_exec.language.modules``.)
* ``threading.get_native_id()`` of the main thread keeps the fork server's value; the child never
  starts threads (seccomp forbids it).
* Signals the fork server received but had not yet handled are handled in the child too; the only
  handler the fork server installs does nothing, and the child resets it first thing.

glibc's own fork handling (malloc locks, the cached thread id, ``pthread_atfork`` handlers of C
libraries) still runs: this is libc's fork(), not a raw clone syscall.
"""

from __future__ import annotations

import ctypes
import os
import random
import threading
from typing import Any

from restricted_exec.isolation.syscalls import libc_function

_FORK = libc_function("fork", keep_gil=True)


def fork() -> int:
    """fork(2): the child's pid in the parent, 0 in the child. Raises OSError on failure."""
    if _SHARED_RANDOM is not None and not _SHARED_RANDOM.seed_pending:
        # The parent drew from the shared generator since the last fork (the fork server does not,
        # but nothing forbids it): the child must not continue the parent's sequence.
        _SHARED_RANDOM.seed_pending = True
    if _FORK is None or threading.active_count() != 1:
        return os.fork()
    pid = _FORK()
    if pid < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"fork: {os.strerror(errno)}")
    return pid


class _SeededOnFirstDraw(random.Random):
    """A ``random.Random`` that seeds itself from the OS before its first draw once
    ``seed_pending`` is set. Every other method draws through ``random`` or ``getrandbits``
    (``random.Random.__init_subclass__`` picks ``_randbelow`` by the latter)."""

    def __init__(self) -> None:
        super().__init__(0)  # a placeholder state: seed_pending makes the first draw reseed
        self.seed_pending = True

    def random(self) -> float:
        if self.seed_pending:
            self.seed()
        return super().random()

    def getrandbits(self, k: int, /) -> int:
        if self.seed_pending:
            self.seed()
        return super().getrandbits(k)

    def getstate(self) -> tuple[Any, ...]:
        if self.seed_pending:
            self.seed()
        return super().getstate()

    def seed(self, a: Any = None, version: int = 2) -> None:
        super().seed(a, version)
        self.seed_pending = False

    def setstate(self, state: tuple[Any, ...]) -> None:
        super().setstate(state)
        self.seed_pending = False


_SHARED_RANDOM: _SeededOnFirstDraw | None = None


def seed_shared_random_on_first_draw() -> None:
    """For the fork server, once: make ``random``'s module-level functions draw from a generator
    that every process ``fork`` creates seeds from the OS on its first draw (see the module doc)."""
    global _SHARED_RANDOM
    if _SHARED_RANDOM is not None:
        return
    shared = _SeededOnFirstDraw()
    previous = random._inst
    for name in dir(random):
        if getattr(getattr(random, name), "__self__", None) is previous:
            setattr(random, name, getattr(shared, name))
    random._inst = shared
    _SHARED_RANDOM = shared
