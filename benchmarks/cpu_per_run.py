"""Where the CPU of a process-mode run goes: the caller, the fork server, the children.

Several caller threads run the compound-interest Program through one Sandbox for a few seconds;
CPU is read from os.times() (the caller's process) and /proc/<fork server>/stat (the fork
server's own time, and its reaped children's). Linux only.

    python -m benchmarks.cpu_per_run [--threads 8] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

from restricted_exec import Policy, Sandbox

SOURCE = (Path(__file__).resolve().parents[1] / "examples" / "compound_interest.py").read_text()


def _fork_server_cpu_s(pid: int) -> tuple[float, float]:
    """(the fork server's own CPU, its reaped children's CPU), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    own = (int(fields[11]) + int(fields[12])) / ticks
    children = (int(fields[13]) + int(fields[14])) / ticks
    return own, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with Sandbox(Policy(timeout_s=10, memory_mb=256)) as sandbox:
        program = sandbox.compile_program(SOURCE)
        for _ in range(20):
            program.run()
        runner = sandbox._runner
        assert runner is not None and runner._zygote is not None
        fork_server = runner._zygote.pid
        runs = [0]
        failures = [0]
        stop = threading.Event()

        def caller() -> None:
            while not stop.is_set():
                if program.run().status != "ok":
                    failures[0] += 1
                runs[0] += 1

        host_before, server_before = os.times(), _fork_server_cpu_s(fork_server)
        started = time.perf_counter()
        threads = [threading.Thread(target=caller) for _ in range(args.threads)]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        host_after, server_after = os.times(), _fork_server_cpu_s(fork_server)
    count = runs[0]
    host_ms = (host_after.user + host_after.system - host_before.user - host_before.system) * 1000
    server_ms = (server_after[0] - server_before[0]) * 1000
    children_ms = (server_after[1] - server_before[1]) * 1000
    total_ms = host_ms + server_ms + children_ms
    print(f"{args.threads} threads, {elapsed:.1f} s: {count / elapsed:,.0f} runs/s", end="")
    print(f", {failures[0]} failed")
    print(
        f"CPU per run: caller {host_ms / count:.2f} ms, fork server {server_ms / count:.2f} ms, "
        f"children {children_ms / count:.2f} ms, total {total_ms / count:.2f} ms"
    )


if __name__ == "__main__":
    main()
