"""Which sessions of a Sandbox hold a child, and their limits: how many at once (in all and per
tenant), how long one may sit idle, how long one may live."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass

__all__ = ["SessionBook", "SessionLimits"]


@dataclass(frozen=True, slots=True)
class SessionLimits:
    max_sessions: int
    max_sessions_per_tenant: int | None
    idle_s: float
    lifetime_s: float


@dataclass(slots=True)
class _Entry:
    tenant: str
    opened: float
    used: float


class SessionBook:
    """The open sessions (those holding a child), keyed by an object of the caller's."""

    def __init__(self, limits: SessionLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._open: dict[Hashable, _Entry] = {}

    def admit(self, key: Hashable, tenant: str) -> str | None:
        """Count ``key`` open (if it is not yet) and note its use now; the reason if that
        would pass a limit (then it is not counted)."""
        now = time.monotonic()
        with self._lock:
            entry = self._open.get(key)
            if entry is not None:
                entry.used = now
                return None
            limits = self.limits
            if len(self._open) >= limits.max_sessions:
                return (
                    f"the Sandbox has {len(self._open)} open sessions, its limit "
                    "(max_sessions); close one first"
                )
            per_tenant = limits.max_sessions_per_tenant
            if per_tenant is not None:
                held = sum(1 for other in self._open.values() if other.tenant == tenant)
                if held >= per_tenant:
                    return (
                        f"tenant {tenant!r} has {held} open sessions, its limit "
                        "(max_sessions_per_tenant); close one first"
                    )
            self._open[key] = _Entry(tenant, now, now)
            return None

    def expired(self) -> list[tuple[Hashable, str]]:
        """The open sessions that have ended by now, each with why (they stay counted until
        released)."""
        now = time.monotonic()
        with self._lock:
            found = ((key, self._why_expired(entry, now)) for key, entry in self._open.items())
            return [(key, reason) for key, reason in found if reason is not None]

    def release(self, key: Hashable) -> None:
        with self._lock:
            self._open.pop(key, None)

    def counts(self) -> dict[str, int]:
        """Open sessions per tenant."""
        with self._lock:
            counted: dict[str, int] = {}
            for entry in self._open.values():
                counted[entry.tenant] = counted.get(entry.tenant, 0) + 1
            return counted

    def _why_expired(self, entry: _Entry, now: float) -> str | None:
        if now - entry.used > self.limits.idle_s:
            return (
                f"the session was idle for more than {self.limits.idle_s:g} s "
                "(session_idle_s) and has ended"
            )
        if now - entry.opened > self.limits.lifetime_s:
            return (
                f"the session lived for more than {self.limits.lifetime_s:g} s "
                "(session_lifetime_s) and has ended"
            )
        return None
