"""Fair admission of runs: a global concurrency limit, tenant quotas, round-robin hand-off.

:meth:`FairScheduler.acquire` either returns a :class:`Slot` (the run may start;
release it when the run ends) or a :class:`Rejection` (the run must not start).
A rejection for a quota is returned at once, never after a wait.

Waiting callers queue per tenant. A freed slot is handed directly to the next
waiter, chosen round-robin among the tenants that have waiters and are under
their own concurrency limit, FIFO inside a tenant; so one tenant queueing many
runs delays another tenant's next run by at most one run per busy tenant.

Hand-off is done under the scheduler's lock: the releasing thread counts the slot
as the waiter's and then sets the waiter's own Event. A waiter therefore never
has to win a race after waking, and a wake-up cannot be lost (the Event stays
set). A waiter that leaves early (timeout, KeyboardInterrupt) gives back a slot
handed to it in the meantime, or takes itself off the queue.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from pydantic import BaseModel, ConfigDict

from restricted_exec.host.tenants import TenantQuota, TokenBucket, tenant_name
from restricted_exec.policy import Policy

__all__ = [
    "FairScheduler",
    "Rejection",
    "RejectionKind",
    "SchedulerSnapshot",
    "Slot",
    "TenantLoad",
]

RejectionKind = Literal["rate_limit", "tenant_queue_full", "queue_full", "timeout", "closed"]

# Tenants that are idle and whose rate bucket is full carry no state worth keeping;
# they are forgotten as they go idle, and a sweep this often (in acquisitions)
# catches those that went idle with a partly drained bucket.
_SWEEP_EVERY = 1024


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a run may not start.

    Attributes:
        reason: a sentence for people (it becomes the ``rejected`` result's message).
        kind: the reason as a label for metrics: ``rate_limit``, ``tenant_queue_full``,
            ``queue_full``, ``timeout`` or ``closed``.
        tenant: the tenant's name (``None`` already resolved to the default tenant).
    """

    reason: str
    kind: RejectionKind
    tenant: str


class Slot:
    """Permission for one run to proceed. Release it when the run ends.

    :meth:`release` is idempotent, and a Slot is a context manager that releases
    on exit, so ``with slot: ...`` cannot leak it.
    """

    __slots__ = ("_released", "_scheduler", "tenant")

    def __init__(self, scheduler: FairScheduler, tenant: str) -> None:
        self._scheduler = scheduler
        self._released = False  # guarded by the scheduler's lock
        self.tenant = tenant

    @property
    def released(self) -> bool:
        """True once the slot has been given back."""
        return self._released

    def release(self) -> None:
        """Give the slot back (to the next waiter, if any). Idempotent."""
        self._scheduler._release(self)

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self._released else "held"
        return f"Slot(tenant={self.tenant!r}, {state})"


class TenantLoad(BaseModel):
    """One tenant's runs at the moment of a snapshot."""

    model_config = ConfigDict(frozen=True)

    running: int
    queued: int


class SchedulerSnapshot(BaseModel):
    """Runs running and waiting at one moment, in total and per tenant.

    ``tenants`` lists only tenants with a run running or queued.
    """

    model_config = ConfigDict(frozen=True)

    max_concurrency: int
    queue_limit: int
    running: int
    queued: int
    tenants: dict[str, TenantLoad]


class _Waiter:
    __slots__ = ("closed", "event", "slot", "tenant")

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.event = threading.Event()
        # Set under the scheduler's lock, before the event: a woken waiter reads them.
        self.slot: Slot | None = None
        self.closed = False


class _TenantState:
    __slots__ = ("bucket", "limit", "quota", "running", "waiters")

    def __init__(self, quota: TenantQuota | None, now: float) -> None:
        self.quota = quota
        self.running = 0
        self.waiters: deque[_Waiter] = deque()
        limit = quota.max_concurrency if quota is not None else None
        self.limit = limit if limit is not None else float("inf")
        self.bucket: TokenBucket | None = None
        if quota is not None and quota.rate_per_s is not None and quota.burst is not None:
            self.bucket = TokenBucket(quota.rate_per_s, quota.burst, now)

    def idle(self, now: float) -> bool:
        return (
            self.running == 0
            and not self.waiters
            and (self.bucket is None or self.bucket.full(now))
        )


class FairScheduler:
    """Admits runs under a global concurrency limit and per-tenant quotas, fairly.

    Thread-safe; :meth:`acquire` blocks the calling thread while it waits, so call it
    from a worker thread in asyncio code (``asyncio.to_thread``).

    Args:
        max_concurrency: slots held at once, over all tenants.
        queue_limit: callers that may wait, over all tenants; one more is rejected at once.
        quotas: per-tenant quotas, by tenant name (use :data:`~restricted_exec.host.tenants.
            DEFAULT_TENANT` for runs that name no tenant).
        default_quota: the quota of tenants not in ``quotas`` (None: only the global
            limits apply). Each such tenant gets its own bucket and limits.
        clock: seconds, monotonic; read for the rate limits only (tests pass a fake).
    """

    def __init__(
        self,
        max_concurrency: int,
        queue_limit: int,
        quotas: Mapping[str, TenantQuota] | None = None,
        default_quota: TenantQuota | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if queue_limit < 0:
            raise ValueError(f"queue_limit must be >= 0, got {queue_limit}")
        self._max_concurrency = max_concurrency
        self._queue_limit = queue_limit
        self._quotas = {tenant_name(name): quota for name, quota in (quotas or {}).items()}
        self._default_quota = default_quota
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, _TenantState] = {}
        # Tenants with waiters, in round-robin order (a dict is an ordered set): the
        # next slot goes to the first one under its own limit, which then moves last.
        self._ring: dict[str, None] = {}
        self._running = 0
        self._queued = 0
        self._closed = False
        self._acquisitions = 0

    # -- public API ------------------------------------------------------

    @property
    def max_concurrency(self) -> int:
        """Slots held at once, over all tenants."""
        return self._max_concurrency

    @property
    def queue_limit(self) -> int:
        """Callers that may wait at once, over all tenants."""
        return self._queue_limit

    def quota_for(self, tenant: str | None) -> TenantQuota | None:
        """The quota that applies to ``tenant`` (None: only the global limits)."""
        return self._quotas.get(tenant_name(tenant), self._default_quota)

    def policy_for(self, tenant: str | None) -> Policy | None:
        """The tenant's Policy override, for runs that pass no policy (None: no override)."""
        quota = self.quota_for(tenant)
        return quota.policy if quota is not None else None

    def acquire(self, tenant: str | None, *, timeout: float | None = None) -> Slot | Rejection:
        """A Slot when the run may start, or a Rejection saying why it may not.

        Rejects at once when the tenant is over its rate, its queue or the global
        queue is full, or the scheduler is closed. A rate token is spent when the
        run is admitted (to start or to queue), not for a rejected run.

        Otherwise waits (blocking this thread) for a slot; with ``timeout``
        (seconds), gives up after that long with a ``timeout`` Rejection. A waiter
        woken by :meth:`close` gets a ``closed`` Rejection; close never raises in
        waiters.

        Raises:
            TypeError, ValueError: ``tenant`` is not a valid tenant name.
        """
        name = tenant_name(tenant)
        with self._lock:
            if self._closed:
                return Rejection("sandbox closed", "closed", name)
            now = self._clock()
            self._acquisitions += 1
            if self._acquisitions % _SWEEP_EVERY == 0:
                self._sweep_locked(now)
            state = self._states.get(name)
            if state is None:
                state = self._states[name] = _TenantState(self.quota_for(name), now)
            rejection = self._admit_locked(name, state, now)
            if rejection is not None:
                self._forget_if_idle_locked(name, state, now)
                return rejection
            if self._running < self._max_concurrency and state.running < state.limit:
                # No waiter can be eligible while a global slot is free (every release
                # dispatches), so taking it here jumps no queue.
                return self._grant_locked(name, state)
            waiter = _Waiter(name)
            state.waiters.append(waiter)
            self._queued += 1
            self._ring.setdefault(name, None)
        return self._wait(waiter, timeout)

    def close(self) -> None:
        """Refuse new acquisitions and wake every waiter with a ``closed`` Rejection.

        Slots already held stay valid and may be released as usual. Idempotent.
        """
        with self._lock:
            self._closed = True
            for state in self._states.values():
                while state.waiters:
                    waiter = state.waiters.popleft()
                    waiter.closed = True
                    waiter.event.set()
            self._queued = 0
            self._ring.clear()

    def snapshot(self) -> SchedulerSnapshot:
        """Runs running and queued now, in total and per tenant."""
        with self._lock:
            tenants = {
                name: TenantLoad(running=state.running, queued=len(state.waiters))
                for name, state in self._states.items()
                if state.running or state.waiters
            }
            return SchedulerSnapshot(
                max_concurrency=self._max_concurrency,
                queue_limit=self._queue_limit,
                running=self._running,
                queued=self._queued,
                tenants=tenants,
            )

    # -- internals (all *_locked methods need self._lock held) ----------

    def _admit_locked(self, name: str, state: _TenantState, now: float) -> Rejection | None:
        # The rate is checked first, so a tenant over its rate hears that; the token
        # is taken last, so a run rejected for a full queue does not spend one.
        bucket = state.bucket
        if bucket is not None and not bucket.available(now):
            quota = state.quota
            assert quota is not None
            return Rejection(
                f"tenant {name!r} is over its rate limit of {quota.rate_per_s:g} runs/s "
                f"(burst {quota.burst})",
                "rate_limit",
                name,
            )
        must_wait = self._running >= self._max_concurrency or state.running >= state.limit
        if must_wait:
            max_queued = state.quota.max_queued if state.quota is not None else None
            if max_queued is not None and len(state.waiters) >= max_queued:
                return Rejection(
                    f"tenant {name!r} already has {len(state.waiters)} runs queued "
                    f"(its max_queued is {max_queued})",
                    "tenant_queue_full",
                    name,
                )
            if self._queued >= self._queue_limit:
                return Rejection(
                    f"all {self._max_concurrency} run slots are busy and "
                    f"{self._queued} runs are already queued",
                    "queue_full",
                    name,
                )
        if bucket is not None:
            bucket.take()
        return None

    def _grant_locked(self, name: str, state: _TenantState) -> Slot:
        state.running += 1
        self._running += 1
        return Slot(self, name)

    def _wait(self, waiter: _Waiter, timeout: float | None) -> Slot | Rejection:
        settled = False
        try:
            waiter.event.wait(timeout)
            with self._lock:
                settled = True
                if waiter.slot is not None:
                    return waiter.slot
                if waiter.closed:
                    return Rejection("sandbox closed", "closed", waiter.tenant)
                self._withdraw_locked(waiter)
            return Rejection(
                f"waited {timeout:g} s for a run slot without getting one",
                "timeout",
                waiter.tenant,
            )
        finally:
            if not settled:
                # Interrupted while waiting (KeyboardInterrupt, or any exception raised
                # in this thread): give back a slot handed over meanwhile, or leave
                # the queue, so that nobody waits for this caller.
                with self._lock:
                    if waiter.slot is not None:
                        self._release_locked(waiter.slot)
                    elif not waiter.closed:
                        self._withdraw_locked(waiter)

    def _withdraw_locked(self, waiter: _Waiter) -> None:
        state = self._states[waiter.tenant]
        state.waiters.remove(waiter)
        self._queued -= 1
        if not state.waiters:
            self._ring.pop(waiter.tenant, None)
        # Leaving the queue frees no slot, so no other waiter becomes eligible.
        self._forget_if_idle_locked(waiter.tenant, state, self._clock())

    def _release(self, slot: Slot) -> None:
        with self._lock:
            self._release_locked(slot)

    def _release_locked(self, slot: Slot) -> None:
        if slot._released:
            return
        slot._released = True
        state = self._states[slot.tenant]
        state.running -= 1
        self._running -= 1
        self._dispatch_locked()
        self._forget_if_idle_locked(slot.tenant, state, self._clock())

    def _dispatch_locked(self) -> None:
        """Hand free slots to waiters, round-robin over tenants under their own limit."""
        while self._running < self._max_concurrency and self._ring:
            chosen: str | None = None
            for name in self._ring:
                if self._states[name].running < self._states[name].limit:
                    chosen = name
                    break
            if chosen is None:
                return  # every waiting tenant is at its own limit
            state = self._states[chosen]
            waiter = state.waiters.popleft()
            self._queued -= 1
            del self._ring[chosen]
            if state.waiters:
                self._ring[chosen] = None  # to the back of the round
            waiter.slot = self._grant_locked(chosen, state)
            # Set right after the slot is counted as the waiter's: the Event stays
            # set, so a waiter that has not started waiting yet still sees it.
            waiter.event.set()

    def _forget_if_idle_locked(self, name: str, state: _TenantState, now: float) -> None:
        if state.idle(now) and self._states.get(name) is state:
            del self._states[name]

    def _sweep_locked(self, now: float) -> None:
        for name in [name for name, state in self._states.items() if state.idle(now)]:
            del self._states[name]
