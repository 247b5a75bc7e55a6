"""Warm children (``Sandbox(child_reuse=...)``, opt-in): a child that, once it has run a program,
waits for the next run of the same key (one trust domain and one policy) instead of exiting.

A single-use child holds one run. A warm child holds the consecutive runs of one key, so a program
that escaped the language layer in one run would still be in the process for the next run of that
key, and of no other: the key is the caller's trust domain (a tenant, or finer), never shared.
Between runs the child drops the run's globals and collects what they held, before it replies
(``forked_child._serve_reused``), so that what freeing them costs is the run's own. The language
layer already keeps runs in one process apart (the inline mode depends on it), and the tests in
``tests/isolation/test_warm_children.py`` plant in one run and look in the next. An idle child is
stopped (SIGSTOP) until its next run, so it takes no CPU no run accounts for; one found gone or
talking (its socket readable) is retired at checkout, never handed on.

A child is retired (killed) after any ending other than ok or error, after ``runs`` runs, after
``idle_s`` idle, when its peak RSS grew past half its memory limit, and when the pool holds
``max_idle`` idle children and needs room: whenever in doubt.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from restricted_exec.isolation.pool import Domain, ProcessRunner
    from restricted_exec.isolation.session_child import SessionChild

__all__ = ["ReuseRules", "WarmChildren", "WarmCounts"]


@dataclass(frozen=True, slots=True)
class ReuseRules:
    """When a warm child is retired (see the module's docstring)."""

    runs: int
    idle_s: float
    max_idle: int


@dataclass(slots=True)
class WarmCounts:
    """Warm children started, runs served by a child that had served one before, and children
    retired (for Sandbox.stats)."""

    started: int = 0
    reused: int = 0
    retired: int = 0


@dataclass(slots=True)
class _Idle:
    key: Hashable
    child: SessionChild
    since: float = field(default_factory=time.monotonic)


class WarmChildren:
    """The warm children of one ProcessRunner, by key. Thread-safe."""

    def __init__(self, runner: ProcessRunner, rules: ReuseRules) -> None:
        self._runner = runner
        self._rules = rules
        self._lock = threading.Lock()
        # Idle children, least recently used first; a key's warmest child is its last.
        self._idle: collections.OrderedDict[int, _Idle] = collections.OrderedDict()
        self._closed = False
        self._sweeper: threading.Thread | None = None
        self._wake = threading.Event()
        self._counts = WarmCounts()

    def checkout(self, key: Hashable, domain: Domain, *, cpu_budget_s: float) -> SessionChild:
        """An idle child of ``key`` (the one used last), else a new warm child of ``domain``.
        It is the caller's until ``checkin``. Raises RunnerClosed."""
        found: SessionChild | None = None
        fresh = False
        with self._lock:
            for handle in reversed(self._idle):
                idle = self._idle[handle]
                if idle.key == key:
                    del self._idle[handle]
                    found = idle.child
                    # (Others past idle_s are the sweeper's to retire.)
                    fresh = idle.since >= time.monotonic() - self._rules.idle_s
                    break
        if found is not None and fresh and found.sound_while_idle():
            found.resume()
            self._count(reused=1)
            return found
        if found is not None:
            self._retire([found])
        # A clean child: not one primed with another program of ``domain``, whose runs may
        # be another caller's (per="caller").
        child = self._runner.open_session(
            domain, cpu_budget_s=cpu_budget_s, reuse=True, clean_only=True
        )
        self._count(started=1)
        return child

    def checkin(
        self, key: Hashable, child: SessionChild, *, reusable: bool, memory_mb: int
    ) -> None:
        """Take ``child`` back after a run: kept for ``key``'s next run if the run ended ok or
        in an error (``reusable``) and no rule retires it; otherwise killed."""
        grown_kb = child.peak_rss_kb - child.baseline_rss_kb
        keep = (
            reusable
            and not child.dead
            and child.limits_set  # its next request needs them set from outside
            and child.runs < self._rules.runs
            and grown_kb <= memory_mb * 1024 // 2
        )
        retired: list[SessionChild] = []
        with self._lock:
            if keep and not self._closed:
                child.pause()  # idle on no CPU: nothing it does between runs is unaccounted
                self._idle[id(child)] = _Idle(key, child)
                while len(self._idle) > self._rules.max_idle:
                    retired.append(self._idle.popitem(last=False)[1].child)
                self._start_sweeper_locked()
            else:
                retired.append(child)
        self._retire(retired)

    def snapshot(self) -> WarmCounts:
        """The counts now, read together."""
        with self._lock:
            return dataclasses.replace(self._counts)

    def close(self) -> None:
        """Retire every idle child and stop the sweeper. Idempotent."""
        with self._lock:
            self._closed = True
            idle = [entry.child for entry in self._idle.values()]
            self._idle.clear()
        self._wake.set()
        self._retire(idle)

    def _take_expired(self) -> list[SessionChild]:
        cutoff = time.monotonic() - self._rules.idle_s
        with self._lock:
            expired = [handle for handle, idle in self._idle.items() if idle.since < cutoff]
            return [self._idle.pop(handle).child for handle in expired]

    def _start_sweeper_locked(self) -> None:
        if self._sweeper is None:
            self._sweeper = threading.Thread(
                target=self._sweep_forever, name="restricted-exec-warm-sweeper", daemon=True
            )
            self._sweeper.start()

    def _sweep_forever(self) -> None:
        # Idle children are retired even when no run comes to look for them.
        period = min(max(self._rules.idle_s / 2, 0.05), 5.0)
        while not self._wake.wait(period):
            self._retire(self._take_expired())

    def _retire(self, children: list[SessionChild]) -> None:
        for child in children:
            child.close()
        self._count(retired=len(children))

    def _count(self, *, started: int = 0, reused: int = 0, retired: int = 0) -> None:
        with self._lock:
            self._counts.started += started
            self._counts.reused += reused
            self._counts.retired += retired
