"""A/B of ``Program.run`` latency between two source trees (e.g. before and after a change).

One worker process per tree, each with its own Sandbox and fork server; their calls are
interleaved (A B B A A B ...) with a pause before each, so that drift and background load hit
both alike. The before tree is any checkout of this project, e.g.
``git archive <commit> | tar -x -C /tmp/before``.

    python -m benchmarks.tree_ab --before /tmp/before [--after .] [--runs 400] [--tenant NAME]
        [--source benchmarks/programs/recursive_fib.py] [--isolation inline]

The workers import restricted_exec from their tree (PYTHONPATH), with this interpreter.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.host_floor import print_floor

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "examples" / "compound_interest.py"

_WORKER = """
import sys, time
from restricted_exec import Policy, Sandbox
sandbox = Sandbox(Policy(timeout_s=10, memory_mb=256, isolation=sys.argv[3]))
program = sandbox.compile_program(open(sys.argv[1]).read())
tenant = sys.argv[2] or None
for _ in sys.stdin:
    started = time.perf_counter()
    result = program.run(tenant=tenant) if tenant else program.run()
    elapsed = (time.perf_counter() - started) * 1000
    if result.status != "ok":
        raise SystemExit(f"{result.status}: {result.error}")
    print(f"{elapsed:.4f}", flush=True)
sandbox.close()
"""


def _summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9)]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name:28s} p50 {statistics.median(ordered):.3f} ms  p90 {p90:.3f}  p99 {p99:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the tree to compare with")
    parser.add_argument("--after", type=Path, default=ROOT, help="default: this tree")
    parser.add_argument("--runs", type=int, default=400, help="measured runs per side")
    parser.add_argument("--gap-ms", type=float, default=3.0, help="pause before each call")
    parser.add_argument("--tenant", default="", help="run every call as this tenant")
    parser.add_argument("--source", type=Path, default=SOURCE, help="the program to run")
    parser.add_argument("--isolation", choices=("process", "inline"), default="process")
    args = parser.parse_args()
    print_floor()
    sides = {f"before ({args.before})": args.before, f"after ({args.after})": args.after}
    workers: dict[str, subprocess.Popen[str]] = {}
    for name, tree in sides.items():
        workers[name] = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER,
                str(args.source.resolve()),
                args.tenant,
                args.isolation,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(tree.resolve())),
            cwd=tree,
        )
    samples: dict[str, list[float]] = {name: [] for name in sides}
    warmup = 20
    try:
        for index in range(args.runs + warmup):
            order = list(sides) if index % 2 else list(reversed(sides))
            for name in order:
                worker = workers[name]
                assert worker.stdin is not None and worker.stdout is not None
                time.sleep(args.gap_ms / 1000)
                worker.stdin.write("run\n")
                worker.stdin.flush()
                elapsed_ms = float(worker.stdout.readline())
                if index >= warmup:
                    samples[name].append(elapsed_ms)
    finally:
        for worker in workers.values():
            if worker.stdin is not None:
                worker.stdin.close()
            worker.wait()
    tenant = f", tenant {args.tenant!r}" if args.tenant else ", no tenant"
    print(
        f"{args.source.name}, {args.isolation}, Program.run, {args.runs} runs each, "
        f"{args.gap_ms:g} ms gaps{tenant}"
    )
    for name, values in samples.items():
        print(_summary(name, values))


if __name__ == "__main__":
    main()
