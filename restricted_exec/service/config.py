"""What a service is told: a JSON file (``restricted-exec serve --config FILE``), every field
optional."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from restricted_exec.errors import InputError
from restricted_exec.host.child_reuse import ChildReuse
from restricted_exec.host.tenants import TenantQuota
from restricted_exec.policy import Policy
from restricted_exec.service.functions import FunctionSpec

__all__ = ["ServiceConfig"]


class ServiceConfig(BaseModel):
    """A service's settings.

    Attributes:
        policy: the default policy of every run, and the ceiling of each limit: a request may
            ask for less time, memory or output, or fewer modules, never more.
        max_concurrency: runs at once (default: the container's CPU quota).
        queue_limit: runs waiting for a slot; past them a request is answered 429.
        max_body_bytes: the largest request body (413 past it).
        api_keys_file: the keys (see ``service.keys``); default: the environment variable.
        allow_anonymous: serve requests without a key, as tenant ``anonymous`` (local use).
        audit_path: the SQLite audit log (None: no audit log).
        tenants: quotas by tenant name (``TenantQuota``).
        max_programs_per_tenant: compiled programs kept per tenant, least recently used
            dropped first.
        max_sessions, max_sessions_per_tenant: open sessions.
        broker_url: the Redis broker of queued jobs (``/v1/jobs``; workers are
            ``restricted-exec worker``); None: no jobs.
        job_result_expires_s: how long a job's result is kept.
        host_functions: host functions the runs may call, by name: each a
            ``FunctionSpec`` (``{"target": "package.module:function", "tenants": [...]}``),
            imported from the operator's code when the service starts. Queued jobs get none
            (a worker is another process, with no service configuration).
        child_reuse: warm children (``ChildReuse``; None: a fresh child per run). With
            ``"per": "caller"`` each API key is a trust domain of its own.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: Policy = Field(default_factory=Policy)
    max_concurrency: int | None = Field(default=None, ge=1)
    queue_limit: int = Field(default=64, ge=0)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    api_keys_file: Path | None = None
    allow_anonymous: bool = False
    audit_path: Path | None = Path("restricted-exec-audit.sqlite3")
    tenants: dict[str, TenantQuota] = Field(default_factory=dict)
    max_programs_per_tenant: int = Field(default=256, ge=1)
    max_sessions: int = Field(default=64, ge=1)
    max_sessions_per_tenant: int | None = Field(default=16, ge=1)
    broker_url: str | None = None
    job_result_expires_s: float = Field(default=3600.0, gt=0)
    host_functions: dict[str, FunctionSpec] = Field(default_factory=dict)
    child_reuse: ChildReuse | None = None

    @classmethod
    def load(cls, path: Path | None) -> ServiceConfig:
        """From a JSON file (the defaults if None). Raises InputError naming what is wrong."""
        if path is None:
            return cls()
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except OSError as problem:
            raise InputError(f"{path}: cannot read it ({problem.strerror})") from None
        except (ValueError, ValidationError) as problem:
            raise InputError(f"{path}: not a service configuration: {problem}") from None
