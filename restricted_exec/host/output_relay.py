"""The caller's ``on_output`` for one run: each chunk as it comes, then the rest at the end.

Chunks arrive while the program runs (process mode: OUTPUT frames; inline mode: the program's
thread); whatever the run's result holds beyond them (the child's reply, a cached result) is
handed on when the run ends. Joined, the chunks are exactly ``result.stdout``.
"""

from __future__ import annotations

from collections.abc import Callable

from restricted_exec.isolation.streamed_output import OutputCallbackFailed
from restricted_exec.result import ExecutionResult

__all__ = ["OutputCallback", "OutputRelay"]

OutputCallback = Callable[[str], None]


class OutputRelay:
    """Counts what it handed on, so that ``finish`` hands on only the rest."""

    __slots__ = ("_delivered", "_on_output")

    def __init__(self, on_output: OutputCallback) -> None:
        self._on_output = on_output
        self._delivered = 0

    def __call__(self, text: str) -> None:
        self._delivered += len(text)
        self._on_output(text)

    def finish(self, result: ExecutionResult) -> None:
        """Hand on what ``result.stdout`` holds beyond the chunks already handed on.

        Raises OutputCallbackFailed if the callback raised."""
        rest = result.stdout[self._delivered :]
        if not rest:
            return
        self._delivered += len(rest)
        try:
            self._on_output(rest)
        except Exception as problem:
            raise OutputCallbackFailed.of(problem) from problem
