"""A backend in its own process, driven by JSON lines (``python -m benchmarks.worker KEY``).

Used where one program must not be able to take the harness down or stall it: the corpus
(a program that hangs an in-process interpreter is killed with its worker, which is then
restarted) and peak-memory probes (each backend measured in a fresh interpreter).

Requests on stdin, one JSON object a line; replies on the original stdout (fd 1 is pointed at
stderr while backends run, so nothing they print can corrupt the protocol):

- ``{"op": "run", "source": ..., "timeout_s": ..., "memory_mb": ...}`` -> an Outcome as a dict;
- ``{"op": "memprobe", "seconds": ..., "threads": ...}`` -> peak memory figures.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.core import Outcome

REFERENCE_KEY = "__cpython__"


def _read_kb(path: str, field: str) -> int | None:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{current}/task/{task}/children").read_text()
            except OSError:
                continue
            for child in text.split():
                found.append(int(child))
                stack.append(int(child))
    return found


def tree_memory_kb(pid: int) -> tuple[int, int, int]:
    """(host PSS, helpers' PSS, helper count), in kB; RSS where PSS is not readable."""

    def pss(p: int) -> int:
        value = _read_kb(f"/proc/{p}/smaps_rollup", "Pss:")
        if value is None:
            value = _read_kb(f"/proc/{p}/status", "VmRSS:") or 0
        return value

    helpers = _descendants(pid)
    return pss(pid), sum(pss(p) for p in helpers), len(helpers)


class _Sampler(threading.Thread):
    def __init__(self, interval_s: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.interval_s = interval_s
        self.stop_event = threading.Event()
        self.peak_total_kb = 0
        self.peak_host_kb = 0
        self.peak_helpers_kb = 0
        self.peak_helper_count = 0

    def run(self) -> None:
        pid = os.getpid()
        while not self.stop_event.is_set():
            host, helpers, count = tree_memory_kb(pid)
            self.peak_total_kb = max(self.peak_total_kb, host + helpers)
            self.peak_host_kb = max(self.peak_host_kb, host)
            self.peak_helpers_kb = max(self.peak_helpers_kb, helpers)
            self.peak_helper_count = max(self.peak_helper_count, count)
            self.stop_event.wait(self.interval_s)


def _memprobe(key: str, seconds: float, threads: int) -> dict[str, Any]:
    from benchmarks.backends import load
    from benchmarks.workloads import BY_NAME

    baseline_host, _, _ = tree_memory_kb(os.getpid())
    backend = load(key)
    if backend.unavailable:
        return {"unavailable": backend.unavailable}
    mix = [BY_NAME[name] for name in ("compound_interest", "json_round_trip", "business_days")]
    runners = [backend.runner(w.source, timeout_s=w.timeout_s, memory_mb=w.memory_mb) for w in mix]
    sampler = _Sampler()
    sampler.start()
    runs = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        runners[runs % len(runners)]()
        runs += 1
    if backend.concurrent and threads > 1:
        stop = time.perf_counter() + seconds

        def caller() -> None:
            i = 0
            while time.perf_counter() < stop:
                runners[i % len(runners)]()
                i += 1

        pool = [threading.Thread(target=caller) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    sampler.stop_event.set()
    sampler.join()
    backend.close()
    return {
        "baseline_host_kb": baseline_host,
        "peak_host_pss_kb": sampler.peak_host_kb,
        "peak_helpers_pss_kb": sampler.peak_helpers_kb,
        "peak_total_pss_kb": sampler.peak_total_kb,
        "peak_helper_count": sampler.peak_helper_count,
        "host_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "sequential_runs": runs,
        "threads": threads if backend.concurrent else 1,
    }


def main(argv: list[str]) -> int:
    key = argv[0]
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # anything a backend prints to fd 1 goes to stderr
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", buffering=1, closefd=False)
    backend = None
    if key != REFERENCE_KEY:
        from benchmarks.backends import load

        backend = load(key)
    for line in sys.stdin:
        request = json.loads(line)
        reply: dict[str, Any]
        if request["op"] == "memprobe":
            reply = _memprobe(key, float(request["seconds"]), int(request["threads"]))
        elif backend is None:
            from benchmarks.reference import cpython_outcome

            reply = asdict(cpython_outcome(request["source"]))
        elif backend.unavailable:
            reply = asdict(Outcome.failure("", backend.unavailable, "unsupported"))
        else:
            source = request["source"]
            reason = backend.fits(source)
            if reason is not None:
                reply = asdict(Outcome.failure("", reason, "unsupported"))
            else:
                try:
                    run = backend.runner(
                        source, timeout_s=request["timeout_s"], memory_mb=request["memory_mb"]
                    )
                    reply = asdict(run())
                except Exception as problem:
                    reply = asdict(Outcome.failure("", f"adapter raised {problem!r}", "crash"))
        protocol.write(json.dumps(reply) + "\n")
    if backend is not None:
        backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
