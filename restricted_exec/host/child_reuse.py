"""``ChildReuse``: the opt-in setting under which a child serves consecutive runs of one trust
domain (see restricted_exec.isolation.warm_children and SECURITY.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ChildReuse"]


class ChildReuse(BaseModel):
    """Warm children, opt-in: ``Sandbox(child_reuse=ChildReuse())``.

    A process-mode run normally takes a fresh child that exits after it. Under this setting a
    child that ran a program ok (or to an error of the program's) waits for the next run of the
    same trust domain and policy, and serves it in fresh globals: no fork, no copy-on-write
    faults, no teardown on the run's path. A child never serves two trust domains, and each
    domain's runs only ever share children among themselves. Only runs in process isolation,
    outside sessions, are served this way.

    Attributes:
        runs: the most runs one child serves; then it is retired.
        idle_s: a child idle this long is retired.
        per: the trust domain: ``"tenant"`` (the run's tenant; no tenant is a domain of its
            own), or ``"caller"``: the tenant and the caller the runs are attributed to
            (``restricted_exec.audit.attributed_to``, e.g. one end user or one conversation);
            a run attributed to no caller then gets a fresh child, as without reuse.
        max_idle: idle children kept over all domains; the least recently used go first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    runs: int = Field(default=100, ge=1)
    idle_s: float = Field(default=30.0, gt=0)
    per: Literal["tenant", "caller"] = "tenant"
    max_idle: int = Field(default=16, ge=1)
