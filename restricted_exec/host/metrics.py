"""Counters and histograms of runs, by tenant and status, and an optional Prometheus view.

:class:`Metrics` is fed one :class:`~restricted_exec.result.ExecutionResult` per
run (:meth:`Metrics.observe`) and one call per rejection by the scheduler
(:meth:`Metrics.observe_rejection`). An observation takes a lock and bumps a few
integers in plain dicts and lists (about a microsecond), so it can stay on the hot
path; :meth:`Metrics.snapshot` copies them into a frozen :class:`SandboxStats`.

Prometheus (the ``prometheus`` extra) reads snapshots at scrape time through
:func:`register_prometheus`, so runs never touch prometheus_client objects.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from restricted_exec.host.scheduling import SchedulerSnapshot
from restricted_exec.host.tenants import tenant_name
from restricted_exec.result import ExecutionResult

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

__all__ = [
    "BUCKET_BOUNDS_MS",
    "Histogram",
    "Metrics",
    "RunStats",
    "SandboxStats",
    "TenantStats",
    "register_prometheus",
]

BUCKET_BOUNDS_MS: tuple[float, ...] = (
    0.1, 0.2, 0.5,
    1.0, 2.0, 5.0,
    10.0, 20.0, 50.0,
    100.0, 200.0, 500.0,
    1_000.0, 2_000.0, 5_000.0,
    10_000.0, 20_000.0, 60_000.0,
)  # fmt: skip
"""Upper bounds (inclusive, milliseconds) of the histogram buckets: 1-2-5 steps from
0.1 ms to 60 s. Values above the last bound go to an overflow bucket."""

_BOUNDS = list(BUCKET_BOUNDS_MS)
_N_BUCKETS = len(BUCKET_BOUNDS_MS) + 1


# -- snapshot models -----------------------------------------------------------------------


class Histogram(BaseModel):
    """A frozen histogram of milliseconds.

    Attributes:
        bounds_ms: upper bound (inclusive) of each bucket but the last.
        counts: observations per bucket (not cumulative); the last one counts values
            above ``bounds_ms[-1]``.
        count: observations in all.
        sum_ms: their sum.
        max_ms: the largest (0 if none).
        p50_ms, p99_ms: :meth:`quantile` at 0.5 and 0.99.
    """

    model_config = ConfigDict(frozen=True)

    bounds_ms: tuple[float, ...] = BUCKET_BOUNDS_MS
    counts: tuple[int, ...] = (0,) * _N_BUCKETS
    count: int = 0
    sum_ms: float = 0.0
    max_ms: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None

    def quantile(self, q: float) -> float | None:
        """An upper estimate of the ``q`` quantile (0 < q <= 1); None if empty.

        It is the upper bound of the bucket holding the ``ceil(q * count)``-th
        smallest observation, capped at ``max_ms``: the true quantile is at most
        this and above the bucket's lower bound. A quantile in the overflow bucket
        is ``max_ms``.
        """
        return _quantile(self.counts, self.count, self.max_ms, q)


class RunStats(BaseModel):
    """Runs of one tenant that ended with one status.

    ``duration_ms`` counts every run but ``rejected`` ones (cache hits included:
    their duration is the caller's wait); ``cpu_ms`` counts runs that report CPU
    time (process mode) and were not cache hits.
    """

    model_config = ConfigDict(frozen=True)

    runs: int
    duration_ms: Histogram
    cpu_ms: Histogram


class TenantStats(BaseModel):
    """One tenant's runs.

    Attributes:
        runs: results observed, of every status.
        by_status: the runs per status.
        rejected: scheduler rejections per reason kind (``rate_limit``, ...).
        cache_hits: runs served from the result cache.
        duration_ms, cpu_ms: the tenant's histograms over all statuses.
    """

    model_config = ConfigDict(frozen=True)

    runs: int
    by_status: dict[str, RunStats]
    rejected: dict[str, int]
    cache_hits: int
    duration_ms: Histogram
    cpu_ms: Histogram


class SandboxStats(BaseModel):
    """A snapshot of a Sandbox's metrics since it was created.

    Attributes:
        runs: results observed, of every status (``rejected`` included).
        by_status: results per status.
        rejected: scheduler rejections (also counted in ``by_status["rejected"]``
            when their results were observed).
        rejected_by_reason: scheduler rejections per reason kind.
        cache_hits: results served from the result cache.
        duration_ms, cpu_ms: histograms over every tenant and status.
        tenants: the same, per tenant (``None`` is counted as ``"default"``).
        load: runs running and queued at the moment of the snapshot, if known.
        sessions_open: sessions holding a child at the moment of the snapshot.
        sessions_by_tenant: the same per tenant.
        warm_started, warm_reused, warm_retired: under ``child_reuse``, warm children
            started, runs served by a child that had served a run before, and children
            retired.
    """

    model_config = ConfigDict(frozen=True)

    runs: int
    by_status: dict[str, int]
    rejected: int
    rejected_by_reason: dict[str, int]
    cache_hits: int
    duration_ms: Histogram
    cpu_ms: Histogram
    tenants: dict[str, TenantStats]
    load: SchedulerSnapshot | None = None
    sessions_open: int = 0
    sessions_by_tenant: dict[str, int] = {}
    warm_started: int = 0
    warm_reused: int = 0
    warm_retired: int = 0


# -- the hot path ----------------------------------------------------------------------------


class _Series:
    """Mutable accumulators of one (tenant, status); guarded by the Metrics lock."""

    __slots__ = (
        "cpu_counts",
        "cpu_max",
        "cpu_sum",
        "duration_counts",
        "duration_max",
        "duration_sum",
        "runs",
    )

    def __init__(self) -> None:
        self.runs = 0
        self.duration_counts = [0] * _N_BUCKETS
        self.duration_sum = 0.0
        self.duration_max = 0.0
        self.cpu_counts = [0] * _N_BUCKETS
        self.cpu_sum = 0.0
        self.cpu_max = 0.0


class Metrics:
    """Thread-safe counters and histograms of runs, by tenant and status.

    Feed it every result a Sandbox returns (:meth:`observe`) and every scheduler
    rejection (:meth:`observe_rejection`); read it with :meth:`snapshot`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], _Series] = {}
        self._rejected: dict[tuple[str, str], int] = {}
        self._cache_hits: dict[str, int] = {}

    def observe(
        self, result: ExecutionResult, *, tenant: str | None, cache_hit: bool = False
    ) -> None:
        """Count one result of ``tenant`` (None: the default tenant).

        ``cache_hit`` (or ``result.cache_hit``) marks a result served from the
        result cache: it is counted as a run and a cache hit, its duration goes to
        the duration histogram, and its (stored run's) CPU time is not counted.
        Results with status ``rejected`` are counted but kept out of the histograms.
        """
        name = tenant_name(tenant)
        status = result.status
        hit = cache_hit or result.cache_hit
        timed = status != "rejected"
        duration = result.duration_ms
        cpu = result.cpu_ms if timed and not hit else None
        # Bucket indexes are found before taking the lock, to keep it short.
        duration_bucket = bisect_left(_BOUNDS, duration) if timed else 0
        cpu_bucket = bisect_left(_BOUNDS, cpu) if cpu is not None else 0
        key = (name, status)
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series()
            series.runs += 1
            if timed:
                series.duration_counts[duration_bucket] += 1
                series.duration_sum += duration
                if duration > series.duration_max:
                    series.duration_max = duration
            if cpu is not None:
                series.cpu_counts[cpu_bucket] += 1
                series.cpu_sum += cpu
                if cpu > series.cpu_max:
                    series.cpu_max = cpu
            if hit:
                self._cache_hits[name] = self._cache_hits.get(name, 0) + 1

    def observe_rejection(self, tenant: str | None, reason_kind: str) -> None:
        """Count one rejection of ``tenant`` by the scheduler, by reason kind.

        This counts the rejection only; the ``rejected`` result returned to the
        caller is counted by :meth:`observe` like any other.
        """
        key = (tenant_name(tenant), reason_kind)
        with self._lock:
            self._rejected[key] = self._rejected.get(key, 0) + 1

    def snapshot(self, *, load: SchedulerSnapshot | None = None) -> SandboxStats:
        """A frozen copy of every counter and histogram, with ``load`` attached."""
        with self._lock:
            series = {
                key: (
                    s.runs,
                    (tuple(s.duration_counts), s.duration_sum, s.duration_max),
                    (tuple(s.cpu_counts), s.cpu_sum, s.cpu_max),
                )
                for key, s in self._series.items()
            }
            rejected = dict(self._rejected)
            cache_hits = dict(self._cache_hits)
        return _build_stats(series, rejected, cache_hits, load)


# -- building snapshots (off the hot path) ---------------------------------------------------

_Raw = tuple[tuple[int, ...], float, float]  # counts, sum, max


def _histogram(parts: Iterable[_Raw]) -> Histogram:
    counts = [0] * _N_BUCKETS
    total_sum = 0.0
    total_max = 0.0
    for part_counts, part_sum, part_max in parts:
        for index, value in enumerate(part_counts):
            counts[index] += value
        total_sum += part_sum
        total_max = max(total_max, part_max)
    count = sum(counts)
    return Histogram(
        counts=tuple(counts),
        count=count,
        sum_ms=total_sum,
        max_ms=total_max,
        p50_ms=_quantile(counts, count, total_max, 0.5),
        p99_ms=_quantile(counts, count, total_max, 0.99),
    )


def _quantile(counts: Sequence[int], count: int, max_ms: float, q: float) -> float | None:
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1], got {q}")
    if count == 0:
        return None
    # The epsilon keeps float noise (0.07 * 100 == 7.000000000000001) from moving
    # the rank up by one.
    rank = max(1, math.ceil(q * count - 1e-9))
    seen = 0
    for index, value in enumerate(counts):
        seen += value
        if seen >= rank:
            if index == len(BUCKET_BOUNDS_MS):
                return max_ms
            return min(BUCKET_BOUNDS_MS[index], max_ms)
    return max_ms  # unreachable when count == sum(counts)


def _build_stats(
    series: dict[tuple[str, str], tuple[int, _Raw, _Raw]],
    rejected: dict[tuple[str, str], int],
    cache_hits: dict[str, int],
    load: SchedulerSnapshot | None,
) -> SandboxStats:
    # Grouped in one pass each, so a snapshot stays linear in the number of series.
    runs_of: dict[str, dict[str, tuple[int, _Raw, _Raw]]] = {}
    by_status: dict[str, int] = {}
    for (name, status), raw in sorted(series.items()):
        runs_of.setdefault(name, {})[status] = raw
        by_status[status] = by_status.get(status, 0) + raw[0]
    rejections_of: dict[str, dict[str, int]] = {}
    by_reason: dict[str, int] = {}
    for (name, kind), n in sorted(rejected.items()):
        rejections_of.setdefault(name, {})[kind] = n
        by_reason[kind] = by_reason.get(kind, 0) + n
    tenants: dict[str, TenantStats] = {}
    for name in sorted(runs_of.keys() | rejections_of.keys() | cache_hits.keys()):
        mine = runs_of.get(name, {})
        tenants[name] = TenantStats(
            runs=sum(runs for runs, _, _ in mine.values()),
            by_status={
                status: RunStats(runs=runs, duration_ms=_histogram([dur]), cpu_ms=_histogram([cpu]))
                for status, (runs, dur, cpu) in mine.items()
            },
            rejected=rejections_of.get(name, {}),
            cache_hits=cache_hits.get(name, 0),
            duration_ms=_histogram(dur for _, dur, _ in mine.values()),
            cpu_ms=_histogram(cpu for _, _, cpu in mine.values()),
        )
    return SandboxStats(
        runs=sum(runs for runs, _, _ in series.values()),
        by_status=dict(sorted(by_status.items())),
        rejected=sum(rejected.values()),
        rejected_by_reason=dict(sorted(by_reason.items())),
        cache_hits=sum(cache_hits.values()),
        duration_ms=_histogram(dur for _, dur, _ in series.values()),
        cpu_ms=_histogram(cpu for _, _, cpu in series.values()),
        tenants=tenants,
        load=load,
    )


# -- Prometheus ------------------------------------------------------------------------------


def register_prometheus(
    source: Metrics | Callable[[], SandboxStats],
    registry: CollectorRegistry | None = None,
    *,
    namespace: str = "restricted_exec",
) -> Any:
    """Expose ``source``'s snapshots to Prometheus; returns the collector (to unregister).

    ``source`` is a :class:`Metrics` or any callable returning :class:`SandboxStats`
    (such as ``Sandbox.stats``; with ``load`` set, ``running`` and ``queued`` gauges
    per tenant are exposed too). It is read at scrape time only. Metrics, all
    prefixed with ``namespace``: counters ``runs_total{tenant,status}``,
    ``rejected_total{tenant,reason}``, ``cache_hits_total{tenant}``; histograms
    ``run_duration_seconds{tenant,status}`` and ``run_cpu_seconds{tenant,status}``.

    Args:
        registry: where to register (default: prometheus_client's global REGISTRY).
            Registering two sources under one namespace in one registry raises
            ValueError (duplicate timeseries).

    Raises:
        ImportError: prometheus_client is not installed (``pip install
            'restricted_exec[prometheus]'``).
    """
    try:
        from prometheus_client import REGISTRY
    except ImportError as problem:
        raise ImportError(
            "register_prometheus needs prometheus-client: pip install 'restricted_exec[prometheus]'"
        ) from problem
    snapshot = source.snapshot if isinstance(source, Metrics) else source
    collector = _PrometheusCollector(snapshot, namespace)
    (registry if registry is not None else REGISTRY).register(collector)
    return collector


class _PrometheusCollector:
    """A prometheus_client custom collector (duck-typed: collect and describe)."""

    def __init__(self, snapshot: Callable[[], SandboxStats], namespace: str) -> None:
        self._snapshot = snapshot
        self._prefix = f"{namespace}_" if namespace else ""

    def describe(self) -> Iterator[Any]:
        # Names only, so that registering does not take a snapshot.
        return iter(self._families(None))

    def collect(self) -> Iterator[Any]:
        return iter(self._families(self._snapshot()))

    def _families(self, stats: SandboxStats | None) -> list[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )
        from prometheus_client.utils import floatToGoString

        p = self._prefix
        runs = CounterMetricFamily(
            f"{p}runs", "Runs by tenant and status.", labels=["tenant", "status"]
        )
        rejected = CounterMetricFamily(
            f"{p}rejected", "Runs rejected by the scheduler.", labels=["tenant", "reason"]
        )
        hits = CounterMetricFamily(
            f"{p}cache_hits", "Runs served from the result cache.", labels=["tenant"]
        )
        duration = HistogramMetricFamily(
            f"{p}run_duration_seconds",
            "Wall-clock seconds of runs, as seen by the caller.",
            labels=["tenant", "status"],
        )
        cpu = HistogramMetricFamily(
            f"{p}run_cpu_seconds",
            "CPU seconds used by runs (process mode).",
            labels=["tenant", "status"],
        )
        running = GaugeMetricFamily(f"{p}running", "Runs running now.", labels=["tenant"])
        queued = GaugeMetricFamily(f"{p}queued", "Runs waiting for a slot.", labels=["tenant"])
        warm = CounterMetricFamily(
            f"{p}warm_children",
            "Warm children (child_reuse): started, runs served again, retired.",
            labels=["event"],
        )
        families = [runs, rejected, hits, duration, cpu, running, queued, warm]
        if stats is None:
            return families
        for event, count in (
            ("started", stats.warm_started),
            ("reused", stats.warm_reused),
            ("retired", stats.warm_retired),
        ):
            warm.add_metric([event], count)
        for name, tenant in stats.tenants.items():
            for status, run_stats in tenant.by_status.items():
                runs.add_metric([name, status], run_stats.runs)
                for family, histogram in (
                    (duration, run_stats.duration_ms),
                    (cpu, run_stats.cpu_ms),
                ):
                    family.add_metric(
                        [name, status],
                        _cumulative_seconds(histogram, floatToGoString),
                        histogram.sum_ms / 1000,
                    )
            for kind, n in tenant.rejected.items():
                rejected.add_metric([name, kind], n)
            hits.add_metric([name], tenant.cache_hits)
        if stats.load is not None:
            for name, load in stats.load.tenants.items():
                running.add_metric([name], load.running)
                queued.add_metric([name], load.queued)
        return families


def _cumulative_seconds(
    histogram: Histogram, label: Callable[[float], str]
) -> list[tuple[str, float]]:
    # Prometheus buckets are cumulative and end with +Inf; ours are not and end
    # with an overflow bucket.
    buckets: list[tuple[str, float]] = []
    seen = 0
    for bound, value in zip(histogram.bounds_ms, histogram.counts, strict=False):
        seen += value
        buckets.append((label(bound / 1000), seen))
    buckets.append(("+Inf", histogram.count))
    return buckets
