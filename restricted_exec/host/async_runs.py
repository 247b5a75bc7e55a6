"""Where async callers' runs wait: a Sandbox's own worker threads, at most as many as it admits
(running and queued, ``max_concurrency + queue_limit``). One more is refused at once, as the
Sandbox's scheduler refuses a run past its queue, rather than waiting in an executor's
unbounded queue, outside the queue limit and the tenants' fairness."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["AsyncRuns"]

T = TypeVar("T")


class AsyncRuns:
    """The threads that run async callers' blocking work, bounded by ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._in_flight = 0
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    async def offload(self, work: Callable[[], T]) -> tuple[bool, T | None]:
        """Run ``work`` on a worker thread (in a copy of the caller's context, as
        ``asyncio.to_thread`` does); (False, None) at once if ``capacity`` runs are in flight."""
        with self._lock:
            if self._in_flight >= self.capacity:
                return False, None
            self._in_flight += 1
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self.capacity, thread_name_prefix="restricted-exec-async"
                )
            executor = self._executor
        try:
            context = contextvars.copy_context()
            loop = asyncio.get_running_loop()
            return True, await loop.run_in_executor(executor, context.run, work)
        finally:
            with self._lock:
                self._in_flight -= 1

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)
