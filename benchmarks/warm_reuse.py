"""Warm children and single-use children side by side with pydantic-monty (issue 20).

    python -m benchmarks.warm_reuse [--repeats 200] [--seconds 3] [--quick] [--out FILE]

In one run, every side with limits set (timeout 5 s, 256 MB), the report starting with the
host's floor (``benchmarks.host_floor``). Latency is timed one caller at a time, in alternating
quiet blocks (see ``benchmarks.sessions`` for why), back to back:

- **Program.run**: the compound-interest program compiled once, run again and again
  (restricted_exec: ``Program.run``; monty: a pool checkout and ``feed_run`` of the same
  source, which monty parses every time: it has no compiled form to keep).
- **run(), new source**: a different source every call (the same program with a comment that
  changes), so no compile cache helps.

Each on ``Sandbox(child_reuse=ChildReuse())`` ("warm"), on a plain Sandbox ("single-use") and on
monty. Bars (issue 20): warm Program.run p50 <= 0.5x monty's, warm new source <= 1.5x monty's;
single-use Program.run <= 1.5x, single-use new source <= 3x.

**Throughput**: 8 caller threads for ``--seconds`` on the warm Sandbox against 8 threads on
monty's pool (checkout and run). Bar: warm >= monty.

Every output is compared with CPython's; a wrong one stops the run. Timing never fails anything.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.core import percentile
from benchmarks.host_floor import print_floor

ROOT = Path(__file__).resolve().parents[1]
SOURCE = (ROOT / "examples" / "compound_interest.py").read_text()
TIMEOUT_S = 5.0
MEMORY_MB = 256
BLOCK = 10
BLOCK_WARMUP = 2
SETTLE_S = 0.05
THREADS = 8

Call = Callable[[int], str]  # the call's number -> what the program printed


def new_source(number: int) -> str:
    return f"{SOURCE}\n# call {number}\n"


@contextlib.contextmanager
def restricted_exec_sides(reuse: bool) -> Iterator[dict[str, Call]]:
    from restricted_exec import ChildReuse, Policy, Sandbox

    policy = Policy(timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB)
    with Sandbox(
        policy, child_reuse=ChildReuse() if reuse else None, max_concurrency=THREADS
    ) as sandbox:
        program = sandbox.compile_program(SOURCE)
        yield {
            "Program.run": lambda number: program.run().stdout,
            "run(), new source": lambda number: sandbox.run(new_source(number)).stdout,
        }


@contextlib.contextmanager
def monty_sides() -> Iterator[dict[str, Call] | None]:
    try:
        import pydantic_monty
    except ImportError:
        yield None
        return
    pool = pydantic_monty.Monty(min_processes=2, max_processes=THREADS)
    limits = {"max_feed_duration_secs": TIMEOUT_S, "max_memory": MEMORY_MB * 1024 * 1024}

    def run(source: str) -> str:
        collector = pydantic_monty.CollectString()
        with pool.checkout(limits=limits) as session:
            session.feed_run(source, print_callback=collector)
        return str(collector.output)

    with pool:
        yield {
            "Program.run": lambda number: run(SOURCE),
            "run(), new source": lambda number: run(new_source(number)),
        }


def latencies(
    sides: dict[str, dict[str, Call]], repeats: int, expected: str
) -> dict[str, dict[str, list[float]]]:
    """Samples in ms by workload and side."""
    workloads = list(next(iter(sides.values())))
    samples: dict[str, dict[str, list[float]]] = {
        w: {side: [] for side in sides} for w in workloads
    }
    counted = BLOCK - BLOCK_WARMUP
    number = 0
    for block in range(-1, -(-repeats // counted)):  # block -1 warms everything up
        for workload in workloads:
            order = list(sides) if block % 2 else list(reversed(sides))
            for side in order:
                call = sides[side][workload]
                time.sleep(SETTLE_S)
                for index in range(BLOCK):
                    number += 1
                    started = time.perf_counter()
                    output = call(number)
                    elapsed_ms = (time.perf_counter() - started) * 1000
                    if output != expected:
                        raise RuntimeError(f"{side} printed {output!r} for {workload}")
                    if block >= 0 and index >= BLOCK_WARMUP:
                        samples[workload][side].append(elapsed_ms)
    return samples


def throughput(call: Call, seconds: float, expected: str) -> float:
    """Runs per second from THREADS caller threads for ``seconds``."""
    done = [0] * THREADS
    stop = time.monotonic() + seconds
    problems: list[str] = []

    def caller(index: int) -> None:
        number = index * 1_000_000
        while time.monotonic() < stop:
            number += 1
            output = call(number)
            if output != expected:
                problems.append(output)
                return
            done[index] += 1

    threads = [threading.Thread(target=caller, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if problems:
        raise RuntimeError(f"a wrong answer under load: {problems[0]!r}")
    return sum(done) / seconds


def cpython_output() -> str:
    return subprocess.run(
        [sys.executable, "-c", SOURCE], capture_output=True, text=True, check=True
    ).stdout


BARS = {
    ("warm", "Program.run"): 0.5,
    ("warm", "run(), new source"): 1.5,
    ("single-use", "Program.run"): 1.5,
    ("single-use", "run(), new source"): 3.0,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0, help="for each throughput side")
    parser.add_argument("--quick", action="store_true", help="a smoke run: short and small")
    parser.add_argument("--out", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    repeats, seconds = (8, 0.3) if args.quick else (args.repeats, args.seconds)
    expected = cpython_output()
    floor = print_floor()
    report: dict[str, Any] = {"host_floor": floor}
    with (
        restricted_exec_sides(reuse=True) as warm,
        restricted_exec_sides(reuse=False) as single,
        monty_sides() as monty,
    ):
        sides = {"warm": warm, "single-use": single}
        if monty is None:
            print("(no monty: pip install -e '.[bench]')")
        else:
            sides["pydantic-monty"] = monty
        samples = latencies(sides, repeats, expected)
        report["latency"] = {}
        print(f"latency, one caller, {repeats} runs of each side in alternating blocks:")
        for workload, by_side in samples.items():
            report["latency"][workload] = numbers = {}
            for side, values in by_side.items():
                p50, p99 = statistics.median(values), percentile(values, 0.99)
                numbers[side] = {"p50_ms": p50, "p99_ms": p99}
                line = f"  {workload:18s} {side:15s} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms"
                if monty is not None and side != "pydantic-monty":
                    ratio = p50 / statistics.median(by_side["pydantic-monty"])
                    numbers[side]["p50_ratio_to_monty"] = ratio
                    line += f"  {ratio:5.2f}x monty (bar {BARS[(side, workload)]:g}x)"
                print(line)
        print(f"throughput, {THREADS} caller threads, {seconds:g} s each:")
        report["throughput"] = {
            "warm Program.run": throughput(warm["Program.run"], seconds, expected)
        }
        if monty is not None:
            report["throughput"]["pydantic-monty"] = throughput(
                monty["Program.run"], seconds, expected
            )
        for side, rate in report["throughput"].items():
            print(f"  {side:18s} {rate:8.1f} runs/s")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
