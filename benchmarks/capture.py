"""Per-thread stdout capture for in-process backends (thread-safe, unlike redirect_stdout)."""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class _ThreadLocalStdout(io.TextIOBase):
    """Writes go to the calling thread's buffer if it has one, else to the real stdout."""

    def __init__(self, real: TextIO) -> None:
        self._real = real
        self._local = threading.local()

    def _target(self) -> TextIO:
        buffer: TextIO | None = getattr(self._local, "buffer", None)
        return buffer if buffer is not None else self._real

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    @contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        previous = getattr(self._local, "buffer", None)
        buffer = io.StringIO()
        self._local.buffer = buffer
        try:
            yield buffer
        finally:
            self._local.buffer = previous


_lock = threading.Lock()


def _installed() -> _ThreadLocalStdout:
    with _lock:
        current = sys.stdout
        if not isinstance(current, _ThreadLocalStdout):
            current = _ThreadLocalStdout(current)
            sys.stdout = current
        return current


@contextmanager
def captured_stdout() -> Iterator[io.StringIO]:
    """Capture what this thread prints to ``sys.stdout`` (other threads are unaffected)."""
    with _installed().capture() as buffer:
        yield buffer
