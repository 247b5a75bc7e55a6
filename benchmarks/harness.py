"""The measurements: interleaved latency per workload, throughput, corpus fidelity, memory.

Every measured run is also checked: a backend whose answer differs from CPython's on a
workload gets that cell marked (wrong or failed) instead of a time.
"""

from __future__ import annotations

import asyncio
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.backends import Backend, Runner
from benchmarks.core import Outcome, Summary
from benchmarks.corpus import Program
from benchmarks.reference import cpython_outcome, matches
from benchmarks.workerclient import Worker, WorkerTimeout
from benchmarks.workloads import Workload

Tick = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """How long to measure. ``quick`` is for CI (< 1 minute, figures are rough)."""

    quick: bool
    budget_s: float  # per latency cell, before it stops once min_runs is reached
    min_runs: int
    max_runs: int
    warmup_runs: int
    slow_run_s: float  # a cell whose single run exceeds this stops at min_runs
    slow_min_runs: int
    throughput_s: float
    concurrency: tuple[int, ...]
    corpus_limit: int | None
    corpus_timeout_s: float
    memprobe_s: float

    @staticmethod
    def full() -> Settings:
        return Settings(
            quick=False,
            budget_s=1.2,
            min_runs=10,
            max_runs=400,
            warmup_runs=2,
            slow_run_s=0.5,
            slow_min_runs=3,
            throughput_s=1.0,
            concurrency=(1, 2, 8),
            corpus_limit=None,
            corpus_timeout_s=30.0,
            memprobe_s=1.0,
        )

    @staticmethod
    def quick_mode() -> Settings:
        return Settings(
            quick=True,
            budget_s=0.05,
            min_runs=2,
            max_runs=30,
            warmup_runs=0,
            slow_run_s=0.2,
            slow_min_runs=1,
            throughput_s=0.15,
            concurrency=(1, 2, 8),
            corpus_limit=12,
            corpus_timeout_s=15.0,
            memprobe_s=0.0,
        )


@dataclass
class Cell:
    """One backend on one workload."""

    status: str  # "ok", "wrong", "failed", "n/a", "unavailable"
    reason: str = ""
    samples_ms: list[float] = field(default_factory=list)
    summary: Summary | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, with_samples: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "reason": self.reason, **self.extra}
        if self.summary is not None:
            data["summary"] = asdict(self.summary)
        if with_samples:
            data["samples_ms"] = [round(s, 4) for s in self.samples_ms]
        return data


def _describe(outcome: Outcome, expected: str) -> str:
    got = "ok" if outcome.ok else f"{outcome.kind}: {outcome.error}"
    stdout = outcome.stdout.strip().replace("\n", " | ")
    return f"expected {expected}; got {got}" + (f"; stdout {stdout[:60]!r}" if stdout else "")


def verify(workload: Workload, expected: Outcome | None, outcome: Outcome) -> str | None:
    """None if ``outcome`` is the right answer for ``workload``, else what was wrong."""
    if workload.kind == "timeout":
        return None if outcome.kind == "timeout" else _describe(outcome, "a timeout")
    if workload.kind == "memory":
        if outcome.kind == "memory" or outcome.error == "MemoryError":
            return None
        return _describe(outcome, "a memory-limit error")
    assert expected is not None
    if matches(expected, outcome):
        return None
    if outcome.kind == "unsupported":
        return f"unsupported: {(outcome.error or '')[:100]}"
    want = "CPython's output" if expected.ok else f"{expected.error} after CPython's output"
    return _describe(outcome, want)


def _not_applicable(backend: Backend, workload: Workload) -> str | None:
    if workload.kind == "timeout" and "time" not in backend.limits:
        return "cannot limit time (in-process, no deadline)"
    if workload.kind == "memory" and "memory" not in backend.limits:
        if backend.kind == "in-process":
            return "cannot limit memory in-process: skipped, it would grow the host"
        return "no memory limit in this recipe: skipped, it would grow the host"
    return backend.fits(workload.source)


def _host_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_workload(
    workload: Workload, backends: list[Backend], settings: Settings
) -> dict[str, Cell]:
    """Latency of every backend on one workload, interleaved A B C A B C ..."""
    expected = cpython_outcome(workload.source) if workload.kind in ("output", "error") else None
    cells: dict[str, Cell] = {}
    active: dict[str, Runner] = {}
    for backend in backends:
        if backend.unavailable:
            cells[backend.key] = Cell("unavailable", backend.unavailable)
            continue
        reason = _not_applicable(backend, workload)
        if reason:
            cells[backend.key] = Cell("n/a", reason)
            continue
        try:
            runner = backend.runner(
                workload.source, timeout_s=workload.timeout_s, memory_mb=workload.memory_mb
            )
            for _ in range(settings.warmup_runs if workload.kind in ("output", "error") else 0):
                problem = verify(workload, expected, runner())
                if problem:
                    raise _Wrong(problem)
        except _Wrong as wrong:
            cells[backend.key] = Cell("wrong", str(wrong))
            continue
        except Exception as error:
            cells[backend.key] = Cell("failed", f"adapter raised {type(error).__name__}: {error}")
            continue
        cells[backend.key] = Cell("ok")
        active[backend.key] = runner

    spent: dict[str, float] = dict.fromkeys(active, 0.0)
    rss_before = _host_rss_mb()
    while active:
        for key in list(active):
            runner = active[key]
            cell = cells[key]
            started = time.perf_counter()
            try:
                outcome = runner()
            except Exception as error:
                outcome = Outcome.failure("", f"adapter raised {error!r}", "crash")
            elapsed = time.perf_counter() - started
            problem = verify(workload, expected, outcome)
            if problem:
                cell.status = "wrong" if outcome.kind != "crash" else "failed"
                cell.reason = f"run {len(cell.samples_ms) + 1}: {problem}"
                del active[key]
                continue
            cell.samples_ms.append(elapsed * 1000)
            spent[key] += elapsed
            runs = len(cell.samples_ms)
            slow = elapsed > settings.slow_run_s
            enough = settings.slow_min_runs if slow else settings.min_runs
            if runs >= settings.max_runs or (spent[key] >= settings.budget_s and runs >= enough):
                del active[key]
    for cell in cells.values():
        if cell.samples_ms:
            cell.summary = Summary.of(cell.samples_ms)
    if workload.kind == "memory":
        growth = _host_rss_mb() - rss_before
        for cell in cells.values():
            if cell.status == "ok":
                cell.extra["host_survived"] = True
                cell.extra["host_peak_rss_growth_mb"] = round(max(growth, 0.0), 1)
    return cells


class _Wrong(Exception):
    pass


# -- throughput --------------------------------------------------------------------------------


def _threads(runner: Runner, callers: int, seconds: float, check: Callable[[Outcome], bool]) -> int:
    count = [0] * callers
    bad = [0] * callers
    stop = time.perf_counter() + seconds

    def caller(index: int) -> None:
        while time.perf_counter() < stop:
            if check(runner()):
                count[index] += 1
            else:
                bad[index] += 1

    pool = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if sum(bad):
        raise _Wrong(f"{sum(bad)} wrong answers under {callers} threads")
    return sum(count)


def _asyncio(
    backend: Backend,
    workload: Workload,
    callers: int,
    seconds: float,
    check: Callable[[Outcome], bool],
) -> int:
    call = backend.async_runner(
        workload.source, timeout_s=workload.timeout_s, memory_mb=workload.memory_mb
    )

    async def main() -> int:
        stop = time.perf_counter() + seconds
        bad = 0

        async def caller() -> int:
            nonlocal bad
            done = 0
            while time.perf_counter() < stop:
                if check(await call()):
                    done += 1
                else:
                    bad += 1
            return done

        counts = await asyncio.gather(*(caller() for _ in range(callers)))
        if bad:
            raise _Wrong(f"{bad} wrong answers under {callers} asyncio tasks")
        return sum(counts)

    return asyncio.run(main())


def measure_throughput(
    workload: Workload,
    backends: list[Backend],
    latency_cells: dict[str, Cell],
    settings: Settings,
    tick: Tick,
) -> dict[str, dict[str, Any]]:
    """Completed correct runs per second, by backend, mode ("threads"/"asyncio") and callers."""
    expected = cpython_outcome(workload.source)

    def check(outcome: Outcome) -> bool:
        return matches(expected, outcome)

    table: dict[str, dict[str, Any]] = {}
    eligible: list[Backend] = []
    for backend in backends:
        cell = latency_cells.get(backend.key)
        if backend.unavailable:
            table[backend.key] = {"status": "unavailable", "reason": backend.unavailable}
        elif not backend.concurrent:
            table[backend.key] = {"status": "n/a", "reason": "not safe for concurrent callers"}
        elif cell is None or cell.status != "ok":
            reason = cell.reason if cell is not None else "not measured"
            table[backend.key] = {"status": "wrong", "reason": reason}
        else:
            table[backend.key] = {"status": "ok", "threads": {}, "asyncio": {}}
            eligible.append(backend)
    for callers in settings.concurrency:
        for mode in ("threads", "asyncio"):
            for backend in eligible:  # interleaved: every backend at this level, then the next
                entry = table[backend.key]
                if entry["status"] != "ok":
                    continue
                try:
                    started = time.perf_counter()
                    if mode == "threads":
                        runner = backend.runner(
                            workload.source,
                            timeout_s=workload.timeout_s,
                            memory_mb=workload.memory_mb,
                        )
                        done = _threads(runner, callers, settings.throughput_s, check)
                    else:
                        done = _asyncio(backend, workload, callers, settings.throughput_s, check)
                    elapsed = time.perf_counter() - started
                    entry[mode][str(callers)] = {
                        "runs": done,
                        "seconds": round(elapsed, 3),
                        "per_s": done / elapsed,
                    }
                except _Wrong as wrong:
                    entry.update(status="wrong", reason=str(wrong))
                except Exception as error:
                    entry.update(status="failed", reason=f"{type(error).__name__}: {error}")
                tick(f"throughput {mode} x{callers}")
    return table


# -- corpus ------------------------------------------------------------------------------------


def corpus_references(programs: list[Program], settings: Settings) -> dict[str, Outcome | None]:
    """CPython's answer per program, run twice: a program that disagrees with itself is dropped."""
    references: dict[str, Outcome | None] = {}
    worker = Worker("__cpython__")
    try:
        for program in programs:
            answers: list[Outcome] = []
            for _ in range(2):
                try:
                    reply = worker.request(
                        {"op": "run", "source": program.source, "timeout_s": 5, "memory_mb": 256},
                        settings.corpus_timeout_s,
                    )
                    answers.append(Outcome(**reply))
                except WorkerTimeout:
                    break
            deterministic = len(answers) == 2 and answers[0] == answers[1]
            references[program.id] = answers[0] if deterministic else None
    finally:
        worker.close()
    return references


def measure_corpus(
    programs: list[Program],
    references: dict[str, Outcome | None],
    backends: list[Backend],
    settings: Settings,
    tick: Tick,
) -> dict[str, dict[str, Any]]:
    """Per backend: how many corpus programs give CPython's exact output (and error type)."""
    usable = [p for p in programs if references.get(p.id) is not None]
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        if backend.unavailable:
            results[backend.key] = {"status": "unavailable", "reason": backend.unavailable}
            tick("corpus")
            continue
        worker = Worker(backend.key)
        identical = 0
        failures: dict[str, str] = {}
        try:
            for program in usable:
                expected = references[program.id]
                assert expected is not None
                try:
                    reply = worker.request(
                        {"op": "run", "source": program.source, "timeout_s": 5.0, "memory_mb": 256},
                        settings.corpus_timeout_s,
                    )
                    outcome = Outcome(**reply)
                except WorkerTimeout as problem:
                    outcome = Outcome.failure("", f"harness: {problem}", "crash")
                if matches(expected, outcome):
                    identical += 1
                else:
                    failures[program.id] = (
                        f"{outcome.kind}: {outcome.error}"[:160]
                        if not outcome.ok
                        else "different stdout"
                    )
        finally:
            worker.close()
        results[backend.key] = {
            "status": "ok",
            "identical": identical,
            "total": len(usable),
            "fraction": identical / len(usable) if usable else 0.0,
            "failures": failures,
        }
        tick("corpus")
    return results


# -- memory ------------------------------------------------------------------------------------


def measure_memory(backends: list[Backend], settings: Settings, tick: Tick) -> dict[str, Any]:
    """Peak PSS of host + helper processes, each backend in a fresh interpreter."""
    results: dict[str, Any] = {}
    for backend in backends:
        if backend.unavailable:
            results[backend.key] = {"unavailable": backend.unavailable}
            tick("memory")
            continue
        worker = Worker(backend.key)
        try:
            results[backend.key] = worker.request(
                {"op": "memprobe", "seconds": settings.memprobe_s, "threads": 8},
                timeout_s=60 + 4 * settings.memprobe_s,
            )
        except WorkerTimeout as problem:
            results[backend.key] = {"failed": str(problem)}
        finally:
            worker.close()
        tick("memory")
    return results
