"""Micro-benchmark of the process-isolation layer alone: fresh, locked-down child per run.

Measures what the isolation layer adds around a trivial program: sequential latency (median and
p99 of ProcessRunner.run) and throughput with several caller threads. Uses the private test
entry of the isolation tests (plain exec of ``x = 1`` in the locked-down child,
tests/isolation/unrestricted_entry.py) unless ``--production`` is given, which sends ``x = 1``
compiled under ``Policy()`` through the production entry, restricted_exec.child.executor.

    python benchmarks/isolation_micro.py [--runs 2000] [--seconds 5] [--threads 2] [--production]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The test entry, isolation.unrestricted_entry, lives under tests/.
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests"))

from isolation.unrestricted_entry import UnrestrictedRunner, encode

from benchmarks.host_floor import print_floor
from restricted_exec import Policy
from restricted_exec.child.executor import RunOptions, program_part
from restricted_exec.isolation import ChildLimits, ProcessRunner, classify
from restricted_exec.language.compiler import compile_source

LIMITS = ChildLimits(wall_s=5.0, cpu_s=5.0, memory_mb=256, max_payload_bytes=1 << 20)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _make(production: bool, prefork: int) -> tuple[ProcessRunner, bytes]:
    if production:
        policy = Policy()
        outcome = compile_source("x = 1", policy.compile_settings())
        assert outcome.code is not None
        options = RunOptions(policy.modules, policy.preload, output_bytes=policy.output_bytes)
        return ProcessRunner(prefork=prefork), program_part(outcome.code, outcome.hoisted, options)
    return UnrestrictedRunner(prefork=prefork), encode("x = 1")


def latency(runner: ProcessRunner, request: bytes, runs: int, gap_s: float = 0.0) -> list[float]:
    samples: list[float] = []
    for _ in range(runs):
        if gap_s:
            time.sleep(gap_s)  # let the pre-forked children finish warming up
        t0 = time.perf_counter()
        outcome = runner.run(request, LIMITS)
        samples.append((time.perf_counter() - t0) * 1000.0)
        if not classify(outcome).replied:
            raise SystemExit(f"run failed: {outcome}")
    return samples


def throughput(runner: ProcessRunner, request: bytes, seconds: float, threads: int) -> int:
    count = [0] * threads
    stop = time.perf_counter() + seconds

    def worker(index: int) -> None:
        while time.perf_counter() < stop:
            outcome = runner.run(request, LIMITS)
            if not classify(outcome).replied:
                raise SystemExit(f"run failed: {outcome}")
            count[index] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(count)


def _report(name: str, samples: list[float]) -> None:
    print(
        f"{name}: runs={len(samples)} median={statistics.median(samples):.3f} ms "
        f"p99={_percentile(samples, 0.99):.3f} ms min={min(samples):.3f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prefork", type=int, default=2)
    parser.add_argument("--production", action="store_true")
    parser.add_argument(
        "--gap-ms", type=float, default=5.0, help="pause between runs for the warm-pool latency"
    )
    args = parser.parse_args(argv)
    print_floor()
    started = time.perf_counter()
    runner, request = _make(args.production, args.prefork)
    with runner:
        print(
            f"runner ready in {(time.perf_counter() - started) * 1000:.0f} ms; "
            f"layers: {', '.join(runner.layers_available())}"
        )
        latency(runner, request, 50)  # warm the host side
        _report(
            f"warm-pool latency ({args.gap_ms:g} ms between runs)",
            latency(runner, request, args.runs, args.gap_ms / 1000.0),
        )
        _report("back-to-back latency", latency(runner, request, args.runs))
        measure: Callable[[], int] = lambda: throughput(  # noqa: E731
            runner, request, args.seconds, args.threads
        )
        done = measure()
        print(
            f"throughput: {done} runs in {args.seconds:.1f} s with {args.threads} threads "
            f"= {done / args.seconds:.0f} runs/s"
        )


if __name__ == "__main__":
    main()
