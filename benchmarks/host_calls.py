"""What a host-function call costs the program, round trip (issue 17: p50 <= 100 us).

    python -m benchmarks.host_calls [--calls 2000] [--quick]

The program itself times each call of a host function that returns its argument
(``time.perf_counter_ns`` around ``echo(i)``, in process and in inline mode), so the number is
the whole round trip as the program sees it: encode, frame, the host's wake-up, checks, the
worker thread, and back. Beside it, on the same host in the same run, the floor that does not
depend on restricted_exec: a Python function call, and a one-byte ping-pong over a Unix socket
pair between two processes with a thread handoff on the far side (the two wake-ups any
cross-process call pays). Timing never fails anything; the script only reports.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.core import percentile
from benchmarks.host_floor import print_floor

TARGET_P50_US = 100.0

_PROGRAM = """
import time
samples = []
for i in range({calls}):
    started = time.perf_counter_ns()
    echo(i)
    samples.append(time.perf_counter_ns() - started)
samples
"""


def round_trips(isolation: str, calls: int) -> list[float]:
    """Microseconds per call, as the program measured them."""
    from restricted_exec import Policy, Sandbox

    with Sandbox(Policy(isolation=isolation, timeout_s=60, max_host_calls=calls)) as sandbox:  # type: ignore[arg-type]
        result = sandbox.run(_PROGRAM.format(calls=calls), functions={"echo": lambda value: value})
    if not result.ok:
        raise RuntimeError(f"the benchmark program failed: {result.error}")
    return [ns / 1000 for ns in result.value[calls // 10 :]]  # the first tenth warms up


def socket_floor(calls: int) -> list[float]:
    """Microseconds per one-byte ping-pong with a forked peer that hands each byte to a
    thread and back: the wake-ups a cross-process call cannot avoid."""
    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        ours.close()
        handed: list[bytes] = []
        ready = threading.Condition()

        def worker() -> None:
            while True:
                with ready:
                    while not handed:
                        ready.wait()
                    byte = handed.pop()
                theirs.sendall(byte)

        threading.Thread(target=worker, daemon=True).start()
        while byte := theirs.recv(1):
            with ready:
                handed.append(byte)
                ready.notify()
        os._exit(0)
    theirs.close()
    samples = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        ours.sendall(b"x")
        ours.recv(1)
        samples.append((time.perf_counter_ns() - started) / 1000)
    ours.close()
    os.waitpid(pid, 0)
    return samples[calls // 10 :]


def function_floor(calls: int) -> list[float]:
    def echo(value: int) -> int:
        return value

    samples = []
    for i in range(calls):
        started = time.perf_counter_ns()
        echo(i)
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples[calls // 10 :]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "calls": len(samples),
        "p50_us": statistics.median(samples),
        "p99_us": percentile(samples, 0.99),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="200 calls: a smoke run")
    parser.add_argument("--out", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    print_floor()
    calls = 200 if args.quick else args.calls
    report: dict[str, Any] = {
        "floor: Python function call": summary(function_floor(calls)),
        "floor: socket ping-pong with a thread handoff": summary(socket_floor(calls)),
        "restricted_exec process mode": summary(round_trips("process", calls)),
        "restricted_exec inline mode": summary(round_trips("inline", calls)),
    }
    floor = report["floor: socket ping-pong with a thread handoff"]["p50_us"]
    print(f"host-function round trip, {calls} calls each (target p50 <= {TARGET_P50_US:g} us)")
    for name, numbers in report.items():
        print(
            f"  {name:48s} p50 {numbers['p50_us']:8.1f} us  p99 {numbers['p99_us']:8.1f} us"
            f"  p50/floor {numbers['p50_us'] / floor:5.2f}"
        )
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
