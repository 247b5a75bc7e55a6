"""A/B of priming: Program.run with and without waiting children primed with the program.

Two Sandboxes in one process, called in turn (A B B A A B ...) so that drift and the other
Sandbox's background forks hit both alike; the only difference is that B's process runner never
primes its children (a private switch, for this measurement only). Optionally each call is
followed by a ``run()`` of new source on the same Sandbox, as in the main benchmark, where
Program.run and one-off runs interleave.

    python -m benchmarks.priming_ab [--runs 400] [--gap-ms 3] [--new-source]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from restricted_exec import Policy, Sandbox
from restricted_exec.isolation import ProcessRunner

SOURCE = (Path(__file__).resolve().parents[1] / "examples" / "compound_interest.py").read_text()


class _NeverPrimes(ProcessRunner):
    """A runner that never sends a program ahead of its request (measurement only)."""

    def _note_program(self, program: bytes, expect_again: bool) -> None:
        return None


def _unprimed_sandbox(policy: Policy) -> Sandbox:
    sandbox = Sandbox(policy)
    # What Sandbox._process_runner would make, but never priming.
    sandbox._runner = _NeverPrimes(max_concurrency=sandbox._max_concurrency, allow_degraded=True)
    return sandbox


def _summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9)]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name:28s} p50 {statistics.median(ordered):.3f} ms  p90 {p90:.3f}  p99 {p99:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="measured runs per side")
    parser.add_argument("--gap-ms", type=float, default=3.0, help="pause before each call")
    parser.add_argument(
        "--new-source", action="store_true", help="follow each call with a run() of new source"
    )
    args = parser.parse_args()
    policy = Policy(timeout_s=10, memory_mb=256)
    sides = {"primed (default)": Sandbox(policy), "never primed": _unprimed_sandbox(policy)}
    programs = {name: sandbox.compile_program(SOURCE) for name, sandbox in sides.items()}
    samples: dict[str, list[float]] = {name: [] for name in sides}
    warmup = 20
    try:
        for index in range(args.runs + warmup):
            order = list(sides) if index % 2 else list(reversed(sides))
            for name in order:
                time.sleep(args.gap_ms / 1000)
                started = time.perf_counter()
                result = programs[name].run()
                elapsed_ms = (time.perf_counter() - started) * 1000
                if result.status != "ok":
                    raise SystemExit(f"{name}: {result.status}: {result.error}")
                if index >= warmup:
                    samples[name].append(elapsed_ms)
                if args.new_source:
                    sides[name].run(f"{SOURCE}\nnonce = {index}\n")
    finally:
        for sandbox in sides.values():
            sandbox.close()
    print(f"compound interest, Program.run, {args.runs} runs each, {args.gap_ms:g} ms gaps", end="")
    print(", each followed by a run() of new source" if args.new_source else "")
    for name, values in samples.items():
        print(_summary(name, values))


if __name__ == "__main__":
    main()
