"""Metrics: counts and buckets match what was observed; percentiles; threads; Prometheus."""

from __future__ import annotations

import itertools
import sys
import threading

import pytest

import restricted_exec
from restricted_exec.host.scheduling import FairScheduler
from restricted_exec.metrics import BUCKET_BOUNDS_MS, Histogram, Metrics, register_prometheus
from restricted_exec.policy import Policy
from restricted_exec.result import ErrorInfo, ExecutionResult, Status

N_BUCKETS = len(BUCKET_BOUNDS_MS) + 1


def result(
    status: Status = "ok",
    duration_ms: float = 1.0,
    cpu_ms: float | None = None,
    *,
    cache_hit: bool = False,
) -> ExecutionResult:
    error = None if status == "ok" else ErrorInfo(kind="exception", type="E", message="m")
    return ExecutionResult(
        status=status, duration_ms=duration_ms, cpu_ms=cpu_ms, cache_hit=cache_hit, error=error
    )


def bucket_of(value_ms: float) -> int:
    """The bucket a value belongs in, by the definition (upper bounds are inclusive)."""
    for index, bound in enumerate(BUCKET_BOUNDS_MS):
        if value_ms <= bound:
            return index
    return len(BUCKET_BOUNDS_MS)


def test_bounds_are_log_spaced_from_a_tenth_of_a_ms_to_a_minute() -> None:
    assert BUCKET_BOUNDS_MS[0] == 0.1 and BUCKET_BOUNDS_MS[-1] == 60_000
    ratios = [b / a for a, b in itertools.pairwise(BUCKET_BOUNDS_MS)]
    assert all(1.9 < ratio <= 3 for ratio in ratios)


def test_empty_snapshot() -> None:
    stats = Metrics().snapshot()
    assert (stats.runs, stats.rejected, stats.cache_hits) == (0, 0, 0)
    assert stats.by_status == {} and stats.tenants == {}
    assert stats.duration_ms.count == 0 and stats.duration_ms.p50_ms is None
    assert stats.load is None


def test_counts_by_tenant_and_status() -> None:
    metrics = Metrics()
    for _ in range(3):
        metrics.observe(result("ok"), tenant="acme")
    metrics.observe(result("error"), tenant="acme")
    metrics.observe(result("timeout"), tenant=None)
    metrics.observe(result("ok"), tenant="default")
    metrics.observe(result("ok", cache_hit=True), tenant="acme")
    metrics.observe(result("ok"), tenant="acme", cache_hit=True)
    stats = metrics.snapshot()
    assert stats.runs == 8
    assert stats.by_status == {"error": 1, "ok": 6, "timeout": 1}
    assert set(stats.tenants) == {"acme", "default"}
    acme = stats.tenants["acme"]
    assert acme.runs == 6
    assert {status: s.runs for status, s in acme.by_status.items()} == {"ok": 5, "error": 1}
    assert acme.cache_hits == 2 and stats.cache_hits == 2
    default = stats.tenants["default"]
    assert {status: s.runs for status, s in default.by_status.items()} == {"ok": 1, "timeout": 1}


def test_rejections_by_reason() -> None:
    metrics = Metrics()
    metrics.observe_rejection("acme", "rate_limit")
    metrics.observe_rejection("acme", "rate_limit")
    metrics.observe_rejection(None, "queue_full")
    metrics.observe(result("rejected", duration_ms=0.01), tenant="acme")
    stats = metrics.snapshot()
    assert stats.rejected == 3
    assert stats.rejected_by_reason == {"queue_full": 1, "rate_limit": 2}
    assert stats.tenants["acme"].rejected == {"rate_limit": 2}
    assert stats.tenants["default"].rejected == {"queue_full": 1}
    assert stats.tenants["default"].runs == 0
    # A rejected result is a run by status, but not a duration.
    assert stats.by_status == {"rejected": 1}
    assert stats.duration_ms.count == 0


def test_buckets_match_what_was_observed() -> None:
    metrics = Metrics()
    durations = [0.05, 0.1, 0.100001, 3.0, 5.0, 7.5, 999.0, 1000.0, 59_999.0, 61_000.0, 1e9]
    expected = [0] * N_BUCKETS
    for value in durations:
        metrics.observe(result("ok", duration_ms=value, cpu_ms=value / 2), tenant="t")
        expected[bucket_of(value)] += 1
    stats = metrics.snapshot()
    for histogram in (stats.duration_ms, stats.tenants["t"].duration_ms):
        assert list(histogram.counts) == expected
        assert histogram.count == len(durations)
        assert histogram.sum_ms == pytest.approx(sum(durations))
        assert histogram.max_ms == 1e9
    assert stats.duration_ms.counts[0] == 2  # 0.05 and exactly 0.1 (inclusive bound)
    assert stats.duration_ms.counts[-1] == 2  # above a minute
    cpu_expected = [0] * N_BUCKETS
    for value in durations:
        cpu_expected[bucket_of(value / 2)] += 1
    assert list(stats.cpu_ms.counts) == cpu_expected


def test_cpu_histogram_skips_unknown_cpu_cache_hits_and_rejections() -> None:
    metrics = Metrics()
    metrics.observe(result("ok", 2.0, cpu_ms=1.5), tenant="t")
    metrics.observe(result("ok", 2.0, cpu_ms=None), tenant="t")  # inline mode
    metrics.observe(result("ok", 0.02, cpu_ms=1.5, cache_hit=True), tenant="t")
    metrics.observe(result("rejected", 0.01, cpu_ms=0.0), tenant="t")
    stats = metrics.snapshot()
    assert stats.cpu_ms.count == 1 and stats.cpu_ms.sum_ms == 1.5
    assert stats.duration_ms.count == 3  # the cache hit's wait counts, the rejection does not


def test_per_status_histograms_are_separate() -> None:
    metrics = Metrics()
    metrics.observe(result("ok", 1.0), tenant="t")
    metrics.observe(result("timeout", 5000.0), tenant="t")
    by_status = metrics.snapshot().tenants["t"].by_status
    assert by_status["ok"].duration_ms.max_ms == 1.0
    assert by_status["timeout"].duration_ms.counts[bucket_of(5000.0)] == 1
    assert by_status["timeout"].duration_ms.count == 1


def test_percentiles_are_bucket_upper_bounds() -> None:
    metrics = Metrics()
    # 98 fast runs in (0.5, 1] ms, one in (50, 100], one in (500, 1000].
    for _ in range(98):
        metrics.observe(result("ok", 0.8), tenant="t")
    metrics.observe(result("ok", 70.0), tenant="t")
    metrics.observe(result("ok", 700.0), tenant="t")
    histogram = metrics.snapshot().duration_ms
    assert histogram.p50_ms == 1.0
    assert histogram.p99_ms == 100.0  # the 99th smallest of 100 is 70 ms, in (50, 100]
    assert histogram.quantile(1.0) == 700.0  # capped at the largest value seen
    assert histogram.quantile(0.98) == 1.0


def test_percentiles_of_a_uniform_distribution() -> None:
    metrics = Metrics()
    for value in range(1, 1001):  # 1 .. 1000 ms
        metrics.observe(result("ok", float(value)), tenant="t")
    histogram = metrics.snapshot().duration_ms
    # True p50 is 500 ms (bucket (200, 500]); true p99 is 990 ms (bucket (500, 1000]).
    assert histogram.p50_ms == 500.0
    assert histogram.p99_ms == 1000.0
    assert histogram.quantile(0.1) == 100.0  # 100 ms, an inclusive bound
    assert histogram.quantile(0.001) == 1.0


def test_percentile_in_the_overflow_bucket_is_the_max() -> None:
    metrics = Metrics()
    metrics.observe(result("ok", 90_000.0), tenant="t")
    metrics.observe(result("ok", 120_000.0), tenant="t")
    assert metrics.snapshot().duration_ms.p50_ms == 120_000.0


def test_quantile_refuses_out_of_range() -> None:
    with pytest.raises(ValueError):
        Histogram().quantile(0)
    assert Histogram().quantile(0.5) is None


def test_thread_safety_exact_totals() -> None:
    metrics = Metrics()
    threads_n, per_thread = 8, 2000
    tenants = ["a", "b", "c", None]
    statuses: list[Status] = ["ok", "error", "timeout", "rejected"]
    start = threading.Barrier(threads_n)

    def work(index: int) -> None:
        start.wait()
        for i in range(per_thread):
            metrics.observe(
                result(statuses[i % 4], float(i % 7), cpu_ms=1.0, cache_hit=i % 5 == 0),
                tenant=tenants[index % 4],
            )
            if i % 10 == 0:
                metrics.observe_rejection(tenants[index % 4], "rate_limit")
            if i % 97 == 0:
                metrics.snapshot()  # snapshots while others observe

    threads = [threading.Thread(target=work, args=(index,)) for index in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = metrics.snapshot()
    total = threads_n * per_thread
    assert stats.runs == total
    assert stats.by_status == {status: total // 4 for status in statuses}
    assert stats.rejected == threads_n * (per_thread // 10)
    assert stats.cache_hits == threads_n * (per_thread // 5)
    assert stats.duration_ms.count == total * 3 // 4  # all but rejected
    assert sum(tenant.runs for tenant in stats.tenants.values()) == total
    assert stats.tenants["default"].runs == total // 4


def test_snapshot_carries_scheduler_load() -> None:
    scheduler = FairScheduler(2, 2)
    scheduler.acquire("acme")
    stats = Metrics().snapshot(load=scheduler.snapshot())
    assert stats.load is not None and stats.load.tenants["acme"].running == 1


def test_stats_are_frozen_and_serialise() -> None:
    metrics = Metrics()
    metrics.observe(result("ok", 3.0, 2.0), tenant="t")
    stats = metrics.snapshot()
    with pytest.raises(ValueError):
        stats.runs = 5
    assert type(stats).model_validate_json(stats.model_dump_json()) == stats


def test_observes_a_real_inline_run() -> None:
    metrics = Metrics()
    outcome = restricted_exec.run("1 + 1", policy=Policy(isolation="inline"))
    metrics.observe(outcome, tenant="acme")
    stats = metrics.snapshot()
    assert stats.by_status == {"ok": 1}
    assert stats.duration_ms.count == 1 and stats.cpu_ms.count == 0  # inline: no CPU figure


# -- Prometheus ------------------------------------------------------------------------------


def test_prometheus_exposition() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    metrics = Metrics()
    metrics.observe(result("ok", 0.8, cpu_ms=0.3), tenant="acme")
    metrics.observe(result("ok", 1500.0, cpu_ms=1400.0), tenant="acme")
    metrics.observe(result("timeout", 5000.0), tenant=None)
    metrics.observe(result("ok", 0.05, cache_hit=True), tenant="acme")
    metrics.observe_rejection("acme", "rate_limit")
    registry = prometheus_client.CollectorRegistry()
    register_prometheus(metrics, registry)
    text = prometheus_client.generate_latest(registry).decode()
    lines = set(text.splitlines())
    assert 'restricted_exec_runs_total{status="ok",tenant="acme"} 3.0' in lines
    assert 'restricted_exec_runs_total{status="timeout",tenant="default"} 1.0' in lines
    assert 'restricted_exec_rejected_total{reason="rate_limit",tenant="acme"} 1.0' in lines
    assert 'restricted_exec_cache_hits_total{tenant="acme"} 1.0' in lines
    assert "# TYPE restricted_exec_run_duration_seconds histogram" in lines
    duration = 'restricted_exec_run_duration_seconds_bucket{le="%s",status="ok",tenant="acme"} %s'
    assert duration % ("0.0001", "1.0") in lines  # 0.05 ms
    assert duration % ("0.001", "2.0") in lines  # + 0.8 ms
    assert duration % ("1.0", "2.0") in lines
    assert duration % ("2.0", "3.0") in lines  # + 1.5 s
    assert duration % ("+Inf", "3.0") in lines
    assert 'restricted_exec_run_duration_seconds_count{status="ok",tenant="acme"} 3.0' in lines
    acme_ok_sum = 'restricted_exec_run_duration_seconds_sum{status="ok",tenant="acme"} '
    (line,) = [line for line in lines if line.startswith(acme_ok_sum)]
    assert float(line.split()[-1]) == pytest.approx(1.50085)
    # The cache hit's CPU time is not counted.
    assert 'restricted_exec_run_cpu_seconds_count{status="ok",tenant="acme"} 2.0' in lines
    # Scrapes read the current state.
    metrics.observe(result("ok", 0.8), tenant="acme")
    text = prometheus_client.generate_latest(registry).decode()
    assert 'restricted_exec_runs_total{status="ok",tenant="acme"} 4.0' in text.splitlines()


def test_prometheus_load_gauges_and_namespace() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    metrics = Metrics()
    scheduler = FairScheduler(4, 4)
    scheduler.acquire("acme")
    registry = prometheus_client.CollectorRegistry()
    register_prometheus(
        lambda: metrics.snapshot(load=scheduler.snapshot()), registry, namespace="sbx"
    )
    lines = prometheus_client.generate_latest(registry).decode().splitlines()
    assert 'sbx_running{tenant="acme"} 1.0' in lines
    assert 'sbx_queued{tenant="acme"} 0.0' in lines
    with pytest.raises(ValueError):  # one namespace, one collector per registry
        register_prometheus(metrics, registry, namespace="sbx")


def test_percentile_rank_is_not_moved_by_float_noise() -> None:
    metrics = Metrics()
    for _ in range(7):
        metrics.observe(result("ok", 1.0), tenant="t")
    for _ in range(93):
        metrics.observe(result("ok", 1000.0), tenant="t")
    # The 7th smallest of 100 is 1 ms although 0.07 * 100 == 7.000000000000001.
    assert metrics.snapshot().duration_ms.quantile(0.07) == 1.0


def test_prometheus_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ImportError, match=r"restricted_exec\[prometheus\]"):
        register_prometheus(Metrics())
