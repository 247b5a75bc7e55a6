"""A/B of two process-mode speed-ups, each against the same code without it, in one process.

``--compare priming`` (default): Program.run with and without waiting children primed with the
program. Two Sandboxes called in turn (A B B A A B ...) so that drift and the other Sandbox's
background forks hit both alike; the only difference is that B's process runner never primes
its children (a private switch, for this measurement only). With ``--new-source`` each call is
followed by a ``run()`` of new source on the same Sandbox, as in the main benchmark.

``--compare spin``: one Sandbox, calls alternating between spinning for the reply before
blocking (channel.SPIN_S, the default) and not spinning at all.

``--compare replenish``: two Sandboxes called in turn; one asks for each run's replacement child
on the fork server's reader thread once the used child is reaped (the default), the other from the
caller at the end of every run (as before; a private switch, for this measurement only).
``--new-source`` applies here too.

``--compare warm-up``: two Sandboxes called in turn; one lets its idle waiting children rehearse
a run (the default while runs arrive far enough apart, see pool.WARM_UP_GAP_PER_START_CPU),
the other never does (a private switch, for this measurement only). ``--new-source`` applies
here too.

    python -m benchmarks.process_ab [--compare priming|spin|replenish|warm-up] [--runs 400]
                                    [--gap-ms 3] [--new-source]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.host_floor import print_floor
from restricted_exec import ExecutionResult, Policy, Sandbox
from restricted_exec.isolation import ProcessRunner, channel
from restricted_exec.isolation.fork_server_client import ForkServer

SOURCE = (Path(__file__).resolve().parents[1] / "examples" / "compound_interest.py").read_text()


class _NeverPrimes(ProcessRunner):
    """A runner that never sends a program ahead of its request (measurement only)."""

    def _note_program(self, program: bytes, expect_again: bool, domain: str | None) -> None:
        return None


class _CallerReplenishes(ProcessRunner):
    """A runner whose caller asks for every replacement child itself (measurement only)."""

    def _replenish_after_exit(self, fork_server: ForkServer) -> None:
        return None

    def _replenish_after_run(self) -> None:
        with self._lock:
            fork_server = self._fork_server
            if fork_server is not None and not self._closed:
                self._replenish_locked(fork_server)


class _NeverWarmsUp(ProcessRunner):
    """A runner whose children never rehearse a run while they wait (measurement only)."""

    def _children_may_warm_up(self) -> bool:
        return False


def _sandbox_with(policy: Policy, runner_class: type[ProcessRunner]) -> Sandbox:
    sandbox = Sandbox(policy)
    # What Sandbox._process_runner would make, with the runner's behaviour switched.
    sandbox._runner = runner_class(max_concurrency=sandbox._max_concurrency, allow_degraded=True)
    return sandbox


def _summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9)]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name:28s} p50 {statistics.median(ordered):.3f} ms  p90 {p90:.3f}  p99 {p99:.3f}"


def _measure(
    calls: dict[str, tuple[Callable[[], ExecutionResult], Callable[[], None]]],
    args: argparse.Namespace,
) -> dict[str, list[float]]:
    """Interleave the calls (each with its set-up); milliseconds per call after a warm-up."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    warmup = 20
    for index in range(args.runs + warmup):
        order = list(calls) if index % 2 else list(reversed(calls))
        for name in order:
            call, set_up = calls[name]
            set_up()
            time.sleep(args.gap_ms / 1000)
            started = time.perf_counter()
            result = call()
            elapsed_ms = (time.perf_counter() - started) * 1000
            if result.status != "ok":
                raise SystemExit(f"{name}: {result.status}: {result.error}")
            if index >= warmup:
                samples[name].append(elapsed_ms)
    return samples


def _compare_priming(args: argparse.Namespace, policy: Policy) -> dict[str, list[float]]:
    sides = {
        "primed (default)": Sandbox(policy),
        "never primed": _sandbox_with(policy, _NeverPrimes),
    }
    return _compare_sandboxes(args, sides)


def _compare_replenish(args: argparse.Namespace, policy: Policy) -> dict[str, list[float]]:
    sides = {
        "reader replaces (default)": Sandbox(policy),
        "caller replaces": _sandbox_with(policy, _CallerReplenishes),
    }
    return _compare_sandboxes(args, sides)


def _compare_warm_up(args: argparse.Namespace, policy: Policy) -> dict[str, list[float]]:
    sides = {
        "idle children warm up": Sandbox(policy),
        "children never warm up": _sandbox_with(policy, _NeverWarmsUp),
    }
    return _compare_sandboxes(args, sides)


def _compare_sandboxes(
    args: argparse.Namespace, sides: dict[str, Sandbox]
) -> dict[str, list[float]]:
    programs = {name: sandbox.compile_program(SOURCE) for name, sandbox in sides.items()}
    nonce = itertools.count()

    def call(name: str) -> Callable[[], ExecutionResult]:
        def run_once() -> ExecutionResult:
            result = programs[name].run()
            if args.new_source:
                sides[name].run(f"{SOURCE}\nnonce = {next(nonce)}\n")
            return result

        return run_once

    try:
        return _measure({name: (call(name), lambda: None) for name in sides}, args)
    finally:
        for sandbox in sides.values():
            sandbox.close()


def _compare_spin(args: argparse.Namespace, policy: Policy) -> dict[str, list[float]]:
    spin_s = channel.SPIN_S

    def spin(seconds: float) -> Callable[[], None]:
        def set_up() -> None:
            channel.SPIN_S = seconds

        return set_up

    with Sandbox(policy) as sandbox:
        program = sandbox.compile_program(SOURCE)
        try:
            return _measure(
                {
                    f"spin {spin_s * 1e6:.0f} us (default)": (program.run, spin(spin_s)),
                    "no spin": (program.run, spin(0.0)),
                },
                args,
            )
        finally:
            channel.SPIN_S = spin_s


_COMPARISONS: dict[str, Callable[[argparse.Namespace, Policy], dict[str, list[float]]]] = {
    "priming": _compare_priming,
    "spin": _compare_spin,
    "replenish": _compare_replenish,
    "warm-up": _compare_warm_up,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", choices=tuple(_COMPARISONS), default="priming")
    parser.add_argument("--runs", type=int, default=400, help="measured runs per side")
    parser.add_argument("--gap-ms", type=float, default=3.0, help="pause before each call")
    parser.add_argument(
        "--new-source",
        action="store_true",
        help="priming, replenish, warm-up: follow each call with new source",
    )
    args = parser.parse_args()
    print_floor()
    policy = Policy(timeout_s=10, memory_mb=256)
    compare = _COMPARISONS[args.compare]
    samples = compare(args, policy)
    print(f"compound interest, Program.run, {args.runs} runs each, {args.gap_ms:g} ms gaps", end="")
    print(", each followed by a run() of new source" if args.new_source else "")
    for name, values in samples.items():
        print(_summary(name, values))


if __name__ == "__main__":
    main()
