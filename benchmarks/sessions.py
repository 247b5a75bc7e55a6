"""Sessions side by side with pydantic-monty (issue 17).

    python -m benchmarks.sessions [--repeats 200] [--quick]

In one run, both with limits set (timeout 5 s, 256 MB), in alternating blocks (A's block, then
B's, then A's ...) so the host's drift hits both alike. Blocks rather than single runs: each
side leaves work behind it (monty's pool refreshes a worker after a checkout, a closed session's
place among the waiting children is filled by a new fork), and single-run interleaving would
time that against the other side. Each block starts after a 50 ms pause, and its first two runs
are not counted, for the same reason. Each workload is timed at two paces:

- **back-to-back**: the next run starts as soon as the last returned (an agent's loop);
- **2 ms apart**: a pause before each run, so every process involved has gone idle (a chat's
  pace; the wake-up of an idle CPU is then on every run's path, on both sides).

Workloads:

- **10-cell REPL**: a session opened and ten cells run in it (restricted_exec:
  ``Sandbox.session()`` and ten ``run``; monty: one pool checkout and ten ``feed_run``),
  each cell's output checked against CPython's. Bar: p50 no slower than monty's.
- **one cell**: one run of a one-line cell in a session that is open already, against one
  monty checkout and ``feed_run`` (what a one-off run costs there). Bar: p50 <= 0.5x monty's.

Needs ``pip install -e '.[bench]'`` for pydantic-monty; without it, only restricted_exec's
numbers are printed. Timing never fails anything; the script only reports.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.core import percentile
from benchmarks.host_floor import print_floor

TIMEOUT_S = 5.0
MEMORY_MB = 256

CELLS = [
    "principal = 1000",
    "rate = 0.05",
    "years = 10",
    "def grow(p, r, n):\n    return p * (1 + r) ** n",
    "total = grow(principal, rate, years)",
    "print(round(total, 2))",
    "history = [round(grow(principal, rate, n), 2) for n in range(years + 1)]",
    "print(history[-1])",
    "gain = total - principal",
    "print(round(gain, 2))",
]
ONE_CELL = "print(2 + 3)"


def cpython_output(cells: list[str]) -> str:
    namespace: dict[str, Any] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in cells:
            exec(cell, namespace)
    return printed.getvalue()


def restricted_exec_sides() -> tuple[dict[str, Callable[[], str]], Callable[[], None]]:
    from restricted_exec import Policy, Sandbox

    sandbox = Sandbox(Policy(timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB))
    warm = sandbox.session()
    warm.run("x = 1")

    def ten_cells() -> str:
        with sandbox.session() as session:
            return "".join(session.run(cell).stdout for cell in CELLS)

    def one_cell() -> str:
        return warm.run(ONE_CELL).stdout

    def close() -> None:
        warm.close()
        sandbox.close()

    return {"10-cell REPL": ten_cells, "one cell": one_cell}, close


def monty_sides() -> tuple[dict[str, Callable[[], str]], Callable[[], None]] | str:
    try:
        import pydantic_monty
    except ImportError:
        return "pydantic-monty is not installed (pip install -e '.[bench]')"
    pool = pydantic_monty.Monty(min_processes=2, max_processes=2)
    pool.__enter__()
    limits = {"max_feed_duration_secs": TIMEOUT_S, "max_memory": MEMORY_MB * 1024 * 1024}

    def feed(session: Any, cell: str) -> str:
        collector = pydantic_monty.CollectString()
        session.feed_run(cell, print_callback=collector)
        return str(collector.output)

    def ten_cells() -> str:
        with pool.checkout(limits=limits) as session:
            return "".join(feed(session, cell) for cell in CELLS)

    def one_cell() -> str:
        with pool.checkout(limits=limits) as session:
            return feed(session, ONE_CELL)

    def close() -> None:
        pool.__exit__(None, None, None)

    return {"10-cell REPL": ten_cells, "one cell": one_cell}, close


PACES = {"back-to-back": 0.0, "2 ms apart": 0.002}
BLOCK = 10  # runs per block; the first BLOCK_WARMUP of each are not counted
BLOCK_WARMUP = 2
SETTLE_S = 0.05  # a quiet pause before each block, for what the last one left running


def measure(
    sides: dict[str, dict[str, Callable[[], str]]], repeats: int
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Samples in ms by pace, workload and side; ``repeats`` counted runs of each."""
    expected = {"10-cell REPL": cpython_output(CELLS), "one cell": cpython_output([ONE_CELL])}
    samples: dict[str, dict[str, dict[str, list[float]]]] = {
        pace: {workload: {side: [] for side in sides} for workload in expected} for pace in PACES
    }
    counted = BLOCK - BLOCK_WARMUP
    for block in range(-1, -(-repeats // counted)):  # block -1 warms everything up
        for pace, pause_s in PACES.items():
            for workload in expected:
                order = list(sides) if block % 2 else list(reversed(sides))
                for side in order:
                    run = sides[side][workload]
                    time.sleep(SETTLE_S)
                    for index in range(BLOCK):
                        if pause_s:
                            time.sleep(pause_s)
                        started = time.perf_counter()
                        output = run()
                        elapsed_ms = (time.perf_counter() - started) * 1000
                        if output != expected[workload]:
                            raise RuntimeError(f"{side} gave {output!r} for {workload}")
                        if block >= 0 and index >= BLOCK_WARMUP:
                            samples[pace][workload][side].append(elapsed_ms)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 repeats: a smoke run")
    parser.add_argument("--out", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    repeats = 20 if args.quick else args.repeats
    floor = print_floor()
    ours, close_ours = restricted_exec_sides()
    sides = {"restricted_exec": ours}
    closers = [close_ours]
    monty = monty_sides()
    if isinstance(monty, str):
        print(f"(no monty: {monty})")
    else:
        sides["pydantic-monty"], close_monty = monty
        closers.append(close_monty)
    try:
        samples = measure(sides, repeats)
    finally:
        for close in closers:
            close()
    report: dict[str, Any] = {"host_floor": floor}
    print(
        f"sessions, {repeats} runs of each, in alternating blocks of {BLOCK}; "
        f"limits {TIMEOUT_S:g} s, {MEMORY_MB} MB"
    )
    for pace, by_workload in samples.items():
        report[pace] = {}
        for workload, by_side in by_workload.items():
            report[pace][workload] = numbers = {}
            for side, values in by_side.items():
                p50, p99 = statistics.median(values), percentile(values, 0.99)
                numbers[side] = {"p50_ms": p50, "p99_ms": p99}
                print(
                    f"  {pace:12s}  {workload:12s}  {side:16s} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms"
                )
            if "pydantic-monty" in by_side:
                ratio = statistics.median(by_side["restricted_exec"]) / statistics.median(
                    by_side["pydantic-monty"]
                )
                numbers["p50 ratio restricted_exec/monty"] = ratio
                print(f"  {pace:12s}  {workload:12s}  p50 restricted_exec / monty = {ratio:.2f}")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
