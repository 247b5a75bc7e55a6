"""Where the CPU of a process-mode run goes: the caller, the fork server, the children.

Several caller threads run the compound-interest Program through one Sandbox for a few seconds;
CPU is read from os.times() (the caller's process) and /proc/<fork server>/stat (the fork
server's own time and minor page faults, and its reaped children's). Linux only. Page faults are
reported because on this VM they are most of a child's CPU (copy-on-write of the inherited heap).

    python -m benchmarks.cpu_per_run [--threads 8] [--seconds 5] [--new-source]

With ``--new-source`` every run is ``Sandbox.run`` of a source not seen before (the chat-bot
case: compiled in the caller, never primed) instead of the same ``Program.run``.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path
from typing import NamedTuple

from benchmarks.host_floor import print_floor
from restricted_exec import Policy, Sandbox

SOURCE = (Path(__file__).resolve().parents[1] / "examples" / "compound_interest.py").read_text()


class _ForkServerUsage(NamedTuple):
    cpu_s: float
    children_cpu_s: float
    minor_faults: int
    children_minor_faults: int


def _fork_server_usage(pids: list[int]) -> _ForkServerUsage:
    """The fork servers' own CPU and minor faults, and their reaped children's (proc(5) stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = _ForkServerUsage(0.0, 0.0, 0, 0)
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total = _ForkServerUsage(
            cpu_s=total.cpu_s + (int(fields[11]) + int(fields[12])) / ticks,
            children_cpu_s=total.children_cpu_s + (int(fields[13]) + int(fields[14])) / ticks,
            minor_faults=total.minor_faults + int(fields[7]),
            children_minor_faults=total.children_minor_faults + int(fields[8]),
        )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--new-source", action="store_true", help="Sandbox.run a new source every run"
    )
    args = parser.parse_args()
    print_floor()
    with Sandbox(Policy(timeout_s=10, memory_mb=256)) as sandbox:
        program = sandbox.compile_program(SOURCE)
        for _ in range(20):
            program.run()
        runner = sandbox._runner
        assert runner is not None and runner._fork_server is not None
        # The clean fork server and the primed one that forks this tenant's children (which
        # reaps them, so their CPU is counted there).
        fork_servers = [runner._fork_server.pid, *(s.pid for s in runner._fork_servers())]
        runs = [0]
        failures = [0]
        stop = threading.Event()

        def caller() -> None:
            while not stop.is_set():
                if args.new_source:
                    # A comment makes the source new (a compile-cache miss) and changes nothing.
                    result = sandbox.run(f"{SOURCE}\n# {threading.get_ident()} {runs[0]}")
                else:
                    result = program.run()
                if result.status != "ok":
                    failures[0] += 1
                runs[0] += 1

        host_before, server_before = os.times(), _fork_server_usage(fork_servers)
        started = time.perf_counter()
        threads = [threading.Thread(target=caller) for _ in range(args.threads)]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        host_after, server_after = os.times(), _fork_server_usage(fork_servers)
    count = runs[0]
    host_ms = (host_after.user + host_after.system - host_before.user - host_before.system) * 1000
    server_ms = (server_after.cpu_s - server_before.cpu_s) * 1000
    children_ms = (server_after.children_cpu_s - server_before.children_cpu_s) * 1000
    server_faults = server_after.minor_faults - server_before.minor_faults
    children_faults = server_after.children_minor_faults - server_before.children_minor_faults
    total_ms = host_ms + server_ms + children_ms
    print(f"{args.threads} threads, {elapsed:.1f} s: {count / elapsed:,.0f} runs/s", end="")
    print(f", {failures[0]} failed")
    print(
        f"CPU per run: caller {host_ms / count:.2f} ms, fork server {server_ms / count:.2f} ms, "
        f"children {children_ms / count:.2f} ms, total {total_ms / count:.2f} ms"
    )
    print(
        f"Minor page faults per run: fork server {server_faults / count:.0f}, "
        f"children {children_faults / count:.0f}"
    )


if __name__ == "__main__":
    main()
