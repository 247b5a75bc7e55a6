"""Warm children (``Sandbox(child_reuse=...)``, opt-in): a child that, once it has run a program,
waits for the next run of the same key (one trust domain and one policy) instead of exiting.

A single-use child holds one run. A warm child holds the consecutive runs of one key, so a program
that escaped the language layer in one run would still be in the process for the next run of that
key, and of no other: the key is the caller's trust domain (a tenant, or finer), never shared.
Between runs the child drops the run's globals and collects what they held, before it replies
(``forked_child._serve_reused``), so that what freeing them costs is the run's own. The language
layer already keeps runs in one process apart (the inline mode depends on it), and the tests in
``tests/isolation/test_warm_children.py`` plant in one run and look in the next. A child idle for
PAUSE_AFTER_S is stopped (SIGSTOP) until its next run, so that what it could do between runs on
CPU no run accounts for is bounded by that much per run; one found gone or talking (its socket
readable) is retired at checkout, never handed on. (Stopping it at once would cost every run a
stop and a continue: two signals and two wake-ups of the child, a tenth of a warm run.)

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

__all__ = ["PAUSE_AFTER_S", "ReuseRules", "WarmChildren", "WarmCounts"]

PAUSE_AFTER_S = 0.01
"""How long a warm child may stay idle and unstopped: runs that come sooner find it ready."""


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
    paused: bool = False


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
        # Idle children not yet paused, and children taken back since the sweeper last looked:
        # while there are either, it looks every PAUSE_AFTER_S / 2; otherwise it dozes (for
        # the idle_s rule only), and the next checkin wakes it.
        self._unpaused = 0
        self._checkins = 0
        self._sweeper_dozing = False
        self._counts = WarmCounts()

    def checkout(self, key: Hashable, domain: Domain, *, cpu_budget_s: float) -> SessionChild:
        """An idle child of ``key`` (the one used last), else a new warm child of ``domain``.
        It is the caller's until ``checkin``. Raises RunnerClosed."""
        found: SessionChild | None = None
        fresh = paused = False
        with self._lock:
            for handle in reversed(self._idle):
                idle = self._idle[handle]
                if idle.key == key:
                    del self._idle[handle]
                    found, paused = idle.child, idle.paused
                    self._unpaused -= not paused
                    # (Others past idle_s are the sweeper's to retire.)
                    fresh = idle.since >= time.monotonic() - self._rules.idle_s
                    break
        if found is not None and fresh and found.sound_while_idle():
            if paused:
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

    def expect(self, key: Hashable) -> None:
        """Tell the child ``checkout(key)`` would hand out now that its request comes soon,
        from this thread (SessionChild.expect_request); nothing if it is stopped or there is
        none. Under the lock: no checkout sends it a request meanwhile."""
        with self._lock:
            for handle in reversed(self._idle):
                idle = self._idle[handle]
                if idle.key == key:
                    if not idle.paused:
                        idle.child.expect_request()
                        idle.since = time.monotonic()  # in use: not to be stopped mid-look
                    return

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
                self._idle[id(child)] = _Idle(key, child)
                self._unpaused += 1
                self._checkins += 1
                while len(self._idle) > self._rules.max_idle:
                    evicted = self._idle.popitem(last=False)[1]
                    self._unpaused -= not evicted.paused
                    retired.append(evicted.child)
                if self._sweeper_dozing:
                    self._sweeper_dozing = False
                    self._wake.set()
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
            self._unpaused = 0
        self._wake.set()
        self._retire(idle)

    def _sweep_locked(self) -> list[SessionChild]:
        """Pause the children idle for PAUSE_AFTER_S, and take out those idle for idle_s."""
        now = time.monotonic()
        expired = [h for h, idle in self._idle.items() if idle.since < now - self._rules.idle_s]
        taken = [self._idle.pop(handle) for handle in expired]
        self._unpaused -= sum(not idle.paused for idle in taken)
        if self._unpaused:
            for idle in self._idle.values():
                if not idle.paused and idle.since <= now - PAUSE_AFTER_S:
                    # Under the lock: a checkout must not take it between the flag and the
                    # signal, or its SIGCONT could come first and stop it mid-run.
                    idle.child.pause()
                    idle.paused = True
                    self._unpaused -= 1
        return [idle.child for idle in taken]

    def _start_sweeper_locked(self) -> None:
        if self._sweeper is None:
            self._sweeper = threading.Thread(
                target=self._sweep_forever, name="restricted-exec-warm-sweeper", daemon=True
            )
            self._sweeper.start()

    def _sweep_forever(self) -> None:
        # Idle children are paused and retired even when no run comes to look for them.
        period = min(max(self._rules.idle_s / 2, 0.05), 5.0)
        while True:
            with self._lock:
                if self._closed:
                    return
                self._sweeper_dozing = not self._unpaused and not self._checkins
                self._checkins = 0
                dozing = self._sweeper_dozing
            # (A checkin between the flag and the wait sets the event: the wait returns.)
            self._wake.wait(period if dozing else PAUSE_AFTER_S / 2)
            self._wake.clear()
            try:
                with self._lock:
                    self._sweeper_dozing = False
                    expired = self._sweep_locked()
                self._retire(expired)
            except Exception:  # (a bug): the next tick tries again; the sweeper must not end
                continue

    def _retire(self, children: list[SessionChild]) -> None:
        for child in children:
            child.close()
        self._count(retired=len(children))

    def _count(self, *, started: int = 0, reused: int = 0, retired: int = 0) -> None:
        with self._lock:
            self._counts.started += started
            self._counts.reused += reused
            self._counts.retired += retired
