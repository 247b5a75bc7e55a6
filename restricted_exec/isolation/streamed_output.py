"""The output a child sends while its run goes on (OUTPUT frames): checked, kept, handed on.

The host keeps every chunk it accepted, so a run that is killed still returns what it printed;
it counts their UTF-8 against the run's output limit itself, so a child that lies about its
limit is stopped by the host, not only by its own stdout.
"""

from __future__ import annotations

from collections.abc import Callable


class OutputRefused(Exception):
    """A chunk no honest child sends: over the run's output limit, or not UTF-8."""


class OutputCallbackFailed(Exception):
    """The caller's output callback raised; the run was stopped. ``__cause__`` is what it
    raised."""

    @classmethod
    def of(cls, problem: Exception) -> OutputCallbackFailed:
        """The failure of a callback that raised ``problem`` (its type named, its message and
        traceback kept out: they are the caller's); raise it ``from problem``."""
        return cls(f"on_output raised {type(problem).__name__}")


class StreamedOutput:
    """The chunks of one run's output, in the order they arrived."""

    __slots__ = ("_chunks", "_limit", "_on_output", "_used")

    def __init__(self, limit_bytes: int, on_output: Callable[[str], None] | None = None) -> None:
        self._limit = limit_bytes
        self._on_output = on_output
        self._chunks: list[str] = []
        self._used = 0

    @property
    def remaining_bytes(self) -> int:
        """How many more bytes of output the run may send."""
        return self._limit - self._used

    @property
    def streaming(self) -> bool:
        """Whether a caller takes the chunks as they come (so the host asks for them)."""
        return self._on_output is not None

    @property
    def used_bytes(self) -> int:
        return self._used

    def text(self) -> str:
        return "".join(self._chunks)

    def accept(self, body: bytes | bytearray) -> None:
        """Keep one chunk (an OUTPUT frame's body) and hand it to the callback.

        An empty chunk is a child's answer to a flush request: nothing to keep. Raises
        OutputRefused for a chunk over the limit or not UTF-8, OutputCallbackFailed if the
        callback raised."""
        if not body:
            return
        self._check_room(len(body))
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise OutputRefused("the child sent output that is not UTF-8") from None
        self._keep(text, len(body))

    def accept_text(self, text: str) -> None:
        """``accept`` for a chunk that is text already (inline mode's: it never was bytes)."""
        size = len(text.encode("utf-8"))
        if size:
            self._check_room(size)
            self._keep(text, size)

    def _check_room(self, size: int) -> None:
        if size > self.remaining_bytes:
            raise OutputRefused(
                f"the child sent {self._used + size:,} bytes of output; the run's limit "
                f"is {self._limit:,} (output_bytes)"
            )

    def _keep(self, text: str, size: int) -> None:
        self._used += size
        self._chunks.append(text)
        if self._on_output is not None:
            try:
                self._on_output(text)
            except Exception as problem:
                raise OutputCallbackFailed.of(problem) from problem
