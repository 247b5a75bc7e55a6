"""Inline mode: run in the caller's thread, with a best-effort deadline.

Inline mode is the weaker mode, and this is exactly how weak:

- **What the deadline stops.** One process-wide watchdog thread raises
  :class:`~restricted_exec.child.executor.ExecutionInterrupted` into the running thread
  (``PyThreadState_SetAsyncExc``) when the deadline passes. It interrupts
  Python-level code: loops, recursion, comprehensions. The compiler puts a
  deadline check at the start of every ``except`` block, ``finally`` block and
  ``__exit__`` method, so ``except BaseException: pass`` or ``finally: continue``
  cannot swallow it.
- **What it cannot stop.** A single long C call (``10**10**8``,
  ``'a' * 10**10``, ``time.sleep(1e9)``, a catastrophic regex) runs to its end:
  CPython checks for the exception only between bytecodes.
- **No memory limit and no crash protection.** A memory bomb grows the caller's
  process; a crash in C code takes the caller down.

Use process isolation (the default) for anything you would not run yourself.
"""

from __future__ import annotations

import contextvars
import ctypes
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from restricted_exec.child.executor import (
    ExecutionInterrupted,
    InlineNamespace,
    ending,
    execute,
    new_stdout,
    unsent_output,
)
from restricted_exec.child.protocol import RunOptions, RunReport
from restricted_exec.host.host_calls import RunHostCalls
from restricted_exec.isolation import channel
from restricted_exec.isolation.streamed_output import OutputCallbackFailed, StreamedOutput
from restricted_exec.language.class_building import clear_shared_caches
from restricted_exec.language.compiler import CompileOutcome

__all__ = ["WATCHDOG", "Deadline", "InlineWatchdog", "run_inline"]

# Two prototypes of one C function: ctypes.pythonapi caches a single function
# object per name, so setting argtypes twice on it would overwrite the first.
_set_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)
_clear_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)


@dataclass(order=True)
class Deadline:
    """One inline run's deadline; ``check()`` raises once it has passed."""

    when: float
    sequence: int
    thread_id: int = field(compare=False)
    fired: bool = field(default=False, compare=False)
    finished: bool = field(default=False, compare=False)

    def check(self) -> None:
        if self.fired or time.monotonic() >= self.when:
            self.fired = True
            raise ExecutionInterrupted


class InlineWatchdog:
    """One daemon thread that interrupts inline runs whose deadline passed."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[Deadline] = []
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None

    def register(self, timeout_s: float) -> Deadline:
        """Start watching the calling thread; pair with :meth:`finish`."""
        deadline = Deadline(
            time.monotonic() + timeout_s, next(self._sequence), threading.get_ident()
        )
        with self._lock:
            earliest = self._heap[0].when if self._heap else None
            heapq.heappush(self._heap, deadline)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._watch, name="restricted_exec-inline-watchdog", daemon=True
                )
                self._thread.start()
            elif earliest is None or deadline.when < earliest:
                self._lock.notify()
        return deadline

    def finish(self, deadline: Deadline) -> None:
        """Stop watching; cancel an interrupt that was raised but not yet delivered."""
        with self._lock:
            deadline.finished = True
            if deadline.fired:
                # Fired after the program's last bytecode: drop the pending
                # exception so it cannot surface later in the caller's code.
                _clear_async_exc(deadline.thread_id, None)

    def _watch(self) -> None:
        with self._lock:
            while True:
                while self._heap and self._heap[0].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._lock.wait(timeout=60.0)
                    if not self._heap:
                        self._thread = None
                        return
                    continue
                delay = self._heap[0].when - time.monotonic()
                if delay > 0:
                    self._lock.wait(timeout=delay)
                    continue
                deadline = heapq.heappop(self._heap)
                if not deadline.finished:
                    deadline.fired = True
                    _set_async_exc(deadline.thread_id, ExecutionInterrupted)


WATCHDOG = InlineWatchdog()
"""The process's inline watchdog (one thread, started on first use)."""


class _CallerOutlet:
    """Inline mode's Outlet (child.protocol): the caller's ``on_output``, called from the
    program's own thread after each ``print`` (no timer signal to batch them here: signals are
    the caller's process's). The callback runs in the context the caller called ``run`` in,
    not the program's; if it raises, the program is stopped and the run reports it."""

    def __init__(self, output: StreamedOutput, deadline: Deadline) -> None:
        self._output = output
        self._deadline = deadline
        self._context = contextvars.copy_context()
        self.failed: OutputCallbackFailed | None = None

    def open(self, flush: Callable[[], None]) -> Callable[[], None]:
        return flush  # called after each print

    def send(self, text: str) -> None:
        if self.failed is not None:
            return
        try:
            self._context.run(self._output.accept_text, text)
        except OutputCallbackFailed as problem:
            self.failed = problem
            self._deadline.fired = True  # every deadline check raises from now on
            raise ExecutionInterrupted from None

    def close(self) -> None:
        return None


class _DirectCaller:
    """Inline mode's HostCaller (child.protocol): the run's host calls answered in the
    program's own thread, from the same bytes a child would send. A call that must stop the
    run (a limit, the deadline) stops the program and is remembered for ``run_inline``."""

    def __init__(self, host_calls: RunHostCalls, deadline: Deadline) -> None:
        self._host_calls = host_calls
        self._deadline = deadline
        self.stopped_by: Exception | None = None

    def call(self, body: bytes) -> bytes:
        if self.stopped_by is not None:
            raise ExecutionInterrupted
        try:
            return self._host_calls.answer(body, self._deadline.when)
        except channel.Deadline:
            self._deadline.fired = True
            raise ExecutionInterrupted from None
        except Exception as problem:
            self.stopped_by = problem
            self._deadline.fired = True  # every deadline check raises from now on
            raise ExecutionInterrupted from None


def run_inline(
    outcome: CompileOutcome,
    inputs: dict[str, Any],
    options: RunOptions,
    timeout_s: float,
    on_output: Callable[[str], None] | None = None,
    host_calls: RunHostCalls | None = None,
    namespace: InlineNamespace | None = None,
) -> RunReport:
    """Run a compiled program in the calling thread under the watchdog; the payload, whose
    stdout is everything the program printed (what ``on_output`` was handed included).

    ``namespace``: an inline session's (the payload then also holds ``state``; see
    child.executor.execute).

    Raises OutputCallbackFailed if ``on_output`` raised, and what ``host_calls`` raised to
    stop the run (the program was stopped)."""
    assert outcome.code is not None
    output = StreamedOutput(options.output_bytes, on_output)
    deadline = WATCHDOG.register(timeout_s)
    outlet = _CallerOutlet(output, deadline) if on_output is not None else None
    caller = _DirectCaller(host_calls, deadline) if host_calls is not None else None
    if namespace is not None and namespace.stream is not None:
        stream = namespace.stream  # the one its globals print to
    else:
        stream = new_stdout(options.output_bytes)
    try:
        try:
            payload = execute(
                outcome.code,
                outcome.hoisted,
                inputs,
                options,
                interrupt=deadline.check,
                outlet=outlet,
                stream=stream,
                functions=host_calls.names if host_calls is not None else (),
                caller=caller,
                namespace=namespace,
            )
        finally:
            WATCHDOG.finish(deadline)
            # typing's parameter caches keep a program's objects as keys and call their
            # __eq__/__hash__ on later lookups by anyone: after the run, in this process.
            clear_shared_caches()
    except ExecutionInterrupted:
        WATCHDOG.finish(deadline)
        clear_shared_caches()  # the interrupt may have cut the `finally` above short
        if outlet is not None and outlet.failed is not None:
            raise outlet.failed from outlet.failed.__cause__
        if caller is not None and caller.stopped_by is not None:
            raise caller.stopped_by from None
        payload = ending(
            "timeout",
            "timeout",
            "TimeoutError",
            f"the program ran longer than {timeout_s:g} s (timeout_s)",
        )
        payload["timeout_kind"] = "wall"
        # What it printed before the deadline is still its output.
        payload["stdout"], payload["stdout_truncated"] = unsent_output(stream)
    payload["stdout"] = output.text() + payload["stdout"]
    return payload
