"""The threads that run host functions, so that the caller's thread keeps the run's deadline.

Not ``concurrent.futures.ThreadPoolExecutor``: a host call is on the program's critical path
(the program waits for it), and the executor's futures and its condition variables cost about
as much again as the call itself (~26 µs of ~33 µs on the project's VM). Here a job is a plain
callable that hands its own result on, and each job has a thread reserved for it when it is
submitted: a function that outlives its run's deadline keeps its thread, and the next job
gets another, never a place in a queue behind it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

__all__ = ["CallWorkers"]


class CallWorkers:
    """Daemon threads, started as needed, that run one job at a time each."""

    def __init__(self, name: str = "restricted_exec-host-call") -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a job that no submitted job has claimed
        self._threads = 0
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on a thread of its own, now. ``job`` must not raise."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the host-call workers are closed")
            if self._idle > 0:
                self._idle -= 1
                start = False
            else:
                self._threads += 1
                start = True
        self._jobs.put(job)
        if start:
            threading.Thread(
                target=self._work, name=f"{self._name}-{self._threads}", daemon=True
            ).start()

    def close(self) -> None:
        """Let every thread end once its job (if any) is done."""
        with self._lock:
            self._closed = True
            threads = self._threads
        for _ in range(threads):
            self._jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()
            with self._lock:
                self._idle += 1
