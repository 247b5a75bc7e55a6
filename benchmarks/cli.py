"""``python -m benchmarks [--quick] [--out DIR]``: the whole comparison, one command.

Full run: about 10 minutes on 2 cores; ``--quick`` (CI smoke): under a minute, rough
figures, and exit status 1 if restricted_exec gives a wrong answer on any workload.
Timing never decides the exit status.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import corpus as corpus_module
from benchmarks import harness, report
from benchmarks.backends import (
    BACKEND_MODULES,
    PROGRAM_RUN_FALLBACK_KEY,
    PROGRAM_RUN_KEY,
    RESTRICTED_EXEC_MODULES,
    Backend,
    load_all,
)
from benchmarks.host_floor import print_floor
from benchmarks.workloads import THROUGHPUT_WORKLOAD, WORKLOADS

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Latency, throughput, corpus fidelity and memory of restricted_exec "
        "against its peers. Peers that are not installed are reported, not fatal.",
    )
    parser.add_argument("--quick", action="store_true", help="CI smoke run (< 1 minute)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output directory (default {DEFAULT_OUT}, or {DEFAULT_OUT}/quick with --quick)",
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKEND_MODULES),
        help="comma-separated adapter modules (default: all): " + ", ".join(BACKEND_MODULES),
    )
    parser.add_argument(
        "--workloads",
        default=",".join(w.name for w in WORKLOADS),
        help="comma-separated workloads (default: all)",
    )
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--no-corpus", action="store_true")
    parser.add_argument("--no-memory", action="store_true", help="skip peak-memory probes")
    parser.add_argument("--no-charts", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    return parser


class _Progress:
    """tqdm if installed (and wanted), else a line per step on stderr."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar: Any = None
        self._done = 0
        self._total = total
        if enabled:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                pass

    def step(self, label: str) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.set_postfix_str(label[:40])
            self._bar.update(1)
        else:
            print(f"[{self._done}/{self._total}] {label}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _backend_info(backend: Backend) -> dict[str, Any]:
    return {
        "key": backend.key,
        "name": backend.name,
        "kind": backend.kind,
        "limits": sorted(backend.limits),
        "concurrent": backend.concurrent,
        "compiles_once": backend.compiles_once,
        "notes": backend.notes,
        "unavailable": backend.unavailable,
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = harness.Settings.quick_mode() if args.quick else harness.Settings.full()
    out: Path = args.out or (DEFAULT_OUT / "quick" if args.quick else DEFAULT_OUT)
    out.mkdir(parents=True, exist_ok=True)
    keys = tuple(k.strip() for k in args.backends.split(",") if k.strip())
    unknown = [k for k in keys if k not in BACKEND_MODULES]
    if unknown:
        raise SystemExit(f"unknown backend(s): {', '.join(unknown)}")
    wanted = {w.strip() for w in args.workloads.split(",") if w.strip()}
    workloads = [w for w in WORKLOADS if w.name in wanted]

    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    floor = print_floor()
    clock = time.perf_counter()
    backends = load_all(keys)
    for backend in backends:
        state = f"unavailable: {backend.unavailable}" if backend.unavailable else "ready"
        print(f"  {backend.name:<40} {state}", file=sys.stderr)
    by_key = {b.key: b for b in backends}
    ref_key = PROGRAM_RUN_KEY
    if ref_key not in by_key or by_key[ref_key].unavailable:
        ref_key = PROGRAM_RUN_FALLBACK_KEY

    programs = [] if args.no_corpus else corpus_module.load(settings.corpus_limit)
    do_memory = not args.no_memory and settings.memprobe_s > 0
    steps = len(workloads)
    if not args.no_throughput:
        steps += (
            2
            * len(settings.concurrency)
            * sum(1 for b in backends if not b.unavailable and b.concurrent)
        )
    steps += len(backends) + 1 if programs else 0
    steps += len(backends) if do_memory else 0
    progress = _Progress(steps, enabled=not args.no_progress)

    results: dict[str, Any] = {
        "command": "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "started": started_at,
        "settings": settings.__dict__,
        "machine": report.machine_info(),
        "host_floor": floor,
        "backends": [_backend_info(b) for b in backends],
        "ratio_reference": ref_key,
        "workloads": [],
    }
    latency: dict[str, dict[str, harness.Cell]] = {}
    try:
        for workload in workloads:
            cells = harness.measure_workload(workload, backends, settings)
            latency[workload.name] = cells
            results["workloads"].append(
                {
                    "name": workload.name,
                    "title": workload.title,
                    "kind": workload.kind,
                    "timeout_s": workload.timeout_s,
                    "memory_mb": workload.memory_mb,
                    "source": workload.source,
                    "cells": {k: c.as_dict() for k, c in cells.items()},
                }
            )
            progress.step(workload.name)
        if not args.no_throughput:
            base = latency.get(THROUGHPUT_WORKLOAD.name)
            if base is None:
                base = harness.measure_workload(THROUGHPUT_WORKLOAD, backends, settings)
            results["throughput_workload"] = THROUGHPUT_WORKLOAD.name
            results["throughput"] = harness.measure_throughput(
                THROUGHPUT_WORKLOAD, backends, base, settings, progress.step
            )
        if programs:
            references = harness.corpus_references(programs, settings)
            progress.step("corpus reference")
            dropped = sum(1 for v in references.values() if v is None)
            origins = sorted({p.origin for p in programs})
            results["corpus_info"] = {
                "programs": len(programs) - dropped,
                "dropped_nondeterministic": dropped,
                "origin": " + ".join(origins),
            }
            results["corpus"] = harness.measure_corpus(
                programs, references, backends, settings, progress.step
            )
        if do_memory:
            results["memory"] = harness.measure_memory(backends, settings, progress.step)
    finally:
        progress.close()
        for backend in backends:
            backend.close()
    results["elapsed_s"] = time.perf_counter() - clock

    report.write_json(out / "results.json", results)
    (out / "results.md").write_text(report.markdown(results))
    written = [out / "results.json", out / "results.md"]
    if not args.no_charts:
        try:
            written += report.charts(results, out)
        except ImportError:
            print("matplotlib is not installed: no charts", file=sys.stderr)
    print(report.markdown(results).split("\n## ", 2)[1].split("\n", 1)[1])  # the overview
    print(f"took {results['elapsed_s']:.0f} s; wrote " + ", ".join(str(p) for p in written))

    bad = [
        f"{workload}: {by_key[key].name}: {cell.reason}"
        for workload, cells in latency.items()
        for key, cell in cells.items()
        if key in RESTRICTED_EXEC_MODULES and cell.status in ("wrong", "failed")
    ]
    for line in bad:
        print(f"WRONG ANSWER from restricted_exec: {line}", file=sys.stderr)
    return 1 if bad else 0
