"""Tenants and their quotas: who is running, and how much each may run.

A tenant is a name the caller gives a run (``sandbox.run(..., tenant="acme")``).
``None`` means :data:`DEFAULT_TENANT`, so runs that name no tenant share one
quota and appear under one label in metrics. The scheduler that enforces
quotas is :class:`restricted_exec.host.scheduling.FairScheduler`.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

from restricted_exec.policy import Policy

__all__ = [
    "DEFAULT_TENANT",
    "MAX_TENANT_CHARS",
    "TenantQuota",
    "TokenBucket",
    "tenant_name",
    "trust_domain",
]

DEFAULT_TENANT = "default"
"""The tenant of runs that name none: ``tenant=None`` and ``tenant="default"`` are the same."""

MAX_TENANT_CHARS = 200
"""Longest tenant name: names become metric labels and audit columns."""

# Accumulated float refills can land a hair under a whole token (0.1 * 10 in
# ten steps is 0.9999999999999999); a token that is due must not be refused.
_EPSILON = 1e-9


def trust_domain(tenant: str | None) -> tuple[bool, str | None]:
    """What keeps runs apart wherever one run could learn of another (caches, primed children):
    for quotas and metrics ``None`` is the default tenant, but a run with no tenant is a trust
    domain of its own, apart from ``tenant="default"``."""
    return tenant is None, tenant


def tenant_name(tenant: str | None) -> str:
    """The tenant's name as used for quotas and metrics: ``None`` is :data:`DEFAULT_TENANT`.

    Raises:
        TypeError: ``tenant`` is not a str or None.
        ValueError: ``tenant`` is empty or longer than :data:`MAX_TENANT_CHARS`.
    """
    if tenant is None:
        return DEFAULT_TENANT
    if not isinstance(tenant, str):
        raise TypeError(f"tenant must be a str or None, not {type(tenant).__name__}")
    if not 0 < len(tenant) <= MAX_TENANT_CHARS:
        raise ValueError(f"tenant must be 1 to {MAX_TENANT_CHARS} characters, got {len(tenant)}")
    return tenant


class TenantQuota(BaseModel):
    """What one tenant may use. Every limit is optional; None means no limit of that kind.

    Attributes:
        max_concurrency: runs of this tenant at once; further runs wait in the queue.
        rate_per_s: runs started per second on average (token bucket refill rate); a
            run over it is rejected at once.
        burst: runs that may start back to back before ``rate_per_s`` applies (the
            bucket's capacity). Defaults to ``max(1, ceil(rate_per_s))``; it needs
            ``rate_per_s``.
        max_queued: runs of this tenant that may wait for a slot; one more is rejected
            at once.
        policy: the Policy for this tenant's runs that pass none (instead of the
            Sandbox's default).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_concurrency: int | None = Field(default=None, ge=1)
    rate_per_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    burst: int | None = Field(default=None, ge=1)
    max_queued: int | None = Field(default=None, ge=0)
    policy: Policy | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_burst(cls, settings: object) -> object:
        # Filled in here rather than computed later so that ``quota.burst`` shows
        # the capacity actually enforced.
        if isinstance(settings, dict) and settings.get("burst") is None:
            rate = settings.get("rate_per_s")
            if isinstance(rate, int | float) and math.isfinite(rate) and rate > 0:
                return {**settings, "burst": max(1, math.ceil(rate))}
        return settings

    @model_validator(mode="after")
    def _burst_needs_rate(self) -> TenantQuota:
        if self.burst is not None and self.rate_per_s is None:
            raise ValueError("burst needs rate_per_s")
        return self


class TokenBucket:
    """A token bucket: ``capacity`` tokens, refilled at ``rate`` per second of ``now``.

    Not thread-safe on its own: the scheduler calls it under its lock. Time is
    passed in (not read) so that tests can drive it with a fake clock.
    """

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.stamp = now

    def _refill(self, now: float) -> None:
        # A clock that steps back (it should not: the default is monotonic) must not
        # drain the bucket.
        elapsed = now - self.stamp
        if elapsed > 0:
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
            self.stamp = now

    def available(self, now: float) -> bool:
        """True if a token can be taken at ``now``."""
        self._refill(now)
        return self.tokens >= 1 - _EPSILON

    def take(self) -> None:
        """Take one token; call only after :meth:`available` said True."""
        self.tokens = max(0.0, self.tokens - 1)

    def full(self, now: float) -> bool:
        """True if the bucket is back at capacity (its state can then be forgotten)."""
        self._refill(now)
        return self.tokens >= self.capacity - _EPSILON
