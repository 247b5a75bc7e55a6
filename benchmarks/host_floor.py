"""The host's physical floor, measured in the run that quotes it (issue 20): what a fork, a page
fault, a pipe round trip and a wake-up of an idle thread cost on this machine now.

These shared VMs change host CPU between sessions, and those costs differ 2x from one host to the
next: a benchmark report that starts with them can be read beside one taken elsewhere.

    python -m benchmarks.host_floor
"""

from __future__ import annotations

import mmap
import os
import statistics
import threading
import time

__all__ = ["floor_line", "measure_floor", "print_floor"]

_PAGE = mmap.PAGESIZE


def fork_and_wait_ms(repeats: int = 60) -> float:
    """p50 of fork(), the child's _exit(0) and the parent's waitpid, from this process."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def page_fault_us(pages: int = 4096, repeats: int = 5) -> float:
    """p50 per page of first-touching fresh anonymous memory (one minor fault each)."""
    samples = []
    for _ in range(repeats):
        with mmap.mmap(-1, pages * _PAGE) as memory:
            started = time.perf_counter()
            for offset in range(0, pages * _PAGE, _PAGE):
                memory[offset] = 1
            samples.append((time.perf_counter() - started) / pages)
    return statistics.median(samples) * 1e6


def pipe_round_trip_us(repeats: int = 2000) -> float:
    """p50 of one byte to a child process and back over two pipes."""
    child_reads, parent_writes = os.pipe()
    parent_reads, child_writes = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(parent_writes)  # or the child would never read EOF
            os.close(parent_reads)
            while os.read(child_reads, 1):
                os.write(child_writes, b"x")
        finally:
            os._exit(0)
    os.close(child_reads)
    os.close(child_writes)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        os.write(parent_writes, b"x")
        os.read(parent_reads, 1)
        samples.append(time.perf_counter() - started)
    os.close(parent_writes)  # the child reads EOF and exits
    os.waitpid(pid, 0)
    os.close(parent_reads)
    return statistics.median(samples) * 1e6


def idle_wake_up_us(repeats: int = 200, idle_s: float = 0.002) -> float:
    """p50 from setting an event to the waiting thread running, after the thread (and so
    perhaps its CPU) sat idle for ``idle_s``."""
    ready = threading.Event()
    woke: list[float] = []
    set_at: list[float] = []
    done = threading.Event()

    def sleeper() -> None:
        for _ in range(repeats):
            ready.wait()
            woke.append(time.perf_counter())
            ready.clear()
            done.set()

    thread = threading.Thread(target=sleeper, daemon=True)
    thread.start()
    for _ in range(repeats):
        time.sleep(idle_s)
        set_at.append(time.perf_counter())
        ready.set()
        done.wait()
        done.clear()
    thread.join()
    return statistics.median(w - s for w, s in zip(woke, set_at, strict=True)) * 1e6


def measure_floor() -> dict[str, float]:
    """The four floors, as a dict for a report's JSON."""
    return {
        "fork_wait_ms": fork_and_wait_ms(),
        "page_fault_us": page_fault_us(),
        "pipe_round_trip_us": pipe_round_trip_us(),
        "idle_wake_up_us": idle_wake_up_us(),
    }


def floor_line(floor: dict[str, float]) -> str:
    """The floor as one line for the top of a report."""
    return (
        f"host floor: fork+wait {floor['fork_wait_ms']:.2f} ms, page fault "
        f"{floor['page_fault_us']:.2f} µs, pipe round trip {floor['pipe_round_trip_us']:.1f} µs, "
        f"idle wake-up {floor['idle_wake_up_us']:.1f} µs"
    )


def print_floor() -> dict[str, float]:
    """Measure the floor and print its line: the first thing every benchmark reports."""
    floor = measure_floor()
    print(floor_line(floor), flush=True)
    return floor


if __name__ == "__main__":
    print_floor()
