"""Sessions side by side with pydantic-monty, and what streaming costs a single run (issue 17).

    python -m benchmarks.sessions [--repeats 200] [--quick]

In one run, interleaved (A B A B ...) so the host's drift hits both alike, both with limits set
(timeout 5 s, 256 MB):

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


def measure(
    sides: dict[str, dict[str, Callable[[], str]]], repeats: int
) -> dict[str, dict[str, list[float]]]:
    expected = {"10-cell REPL": cpython_output(CELLS), "one cell": cpython_output([ONE_CELL])}
    samples: dict[str, dict[str, list[float]]] = {
        workload: {backend: [] for backend in sides} for workload in expected
    }
    warmup = max(5, repeats // 10)
    for index in range(warmup + repeats):
        for workload in expected:
            order = list(sides) if index % 2 else list(reversed(sides))
            for backend in order:
                started = time.perf_counter()
                output = sides[backend][workload]()
                elapsed_ms = (time.perf_counter() - started) * 1000
                if output != expected[workload]:
                    raise RuntimeError(f"{backend} gave {output!r} for {workload}")
                if index >= warmup:
                    samples[workload][backend].append(elapsed_ms)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 repeats: a smoke run")
    parser.add_argument("--out", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    repeats = 20 if args.quick else args.repeats
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
    report: dict[str, Any] = {}
    print(f"sessions, {repeats} repeats each, interleaved; limits {TIMEOUT_S:g} s, {MEMORY_MB} MB")
    for workload, by_backend in samples.items():
        report[workload] = {}
        for backend, values in by_backend.items():
            p50, p99 = statistics.median(values), percentile(values, 0.99)
            report[workload][backend] = {"p50_ms": p50, "p99_ms": p99}
            print(f"  {workload:14s} {backend:16s} p50 {p50:8.3f} ms  p99 {p99:8.3f} ms")
        if "pydantic-monty" in by_backend:
            ratio = statistics.median(by_backend["restricted_exec"]) / statistics.median(
                by_backend["pydantic-monty"]
            )
            report[workload]["p50 ratio restricted_exec/monty"] = ratio
            print(f"  {workload:14s} p50 restricted_exec / monty = {ratio:.2f}")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
