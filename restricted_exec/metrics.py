"""Run statistics and the Prometheus collector (public API).

    from restricted_exec import Sandbox
    from restricted_exec.metrics import register_prometheus

    sandbox = Sandbox()
    register_prometheus(sandbox.stats)  # into prometheus_client's default registry

``Sandbox.stats()`` returns a :class:`SandboxStats`; the implementation lives in
``restricted_exec.host.metrics``.
"""

from __future__ import annotations

from restricted_exec.host.metrics import (
    BUCKET_BOUNDS_MS,
    Histogram,
    Metrics,
    RunStats,
    SandboxStats,
    TenantStats,
    register_prometheus,
)

__all__ = [
    "BUCKET_BOUNDS_MS",
    "Histogram",
    "Metrics",
    "RunStats",
    "SandboxStats",
    "TenantStats",
    "register_prometheus",
]
