"""Where audit records go: one small interface, and the sinks that need only the stdlib.

A sink is called from the audit log's writer thread only, one batch at a time,
so it needs no locking of its own. The SQLite sink (the default) lives in
:mod:`restricted_exec.host.audit.sqlite`, the SQLAlchemy one in
:mod:`restricted_exec.host.audit.sqlalchemy_sink`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from restricted_exec.host.audit.record import AuditRecord

__all__ = ["AuditSink", "JsonLinesSink", "LoggingSink", "RetainingSink"]


@runtime_checkable
class AuditSink(Protocol):
    """Receives batches of records; ``write`` returns once the batch is stored."""

    def write(self, records: Sequence[AuditRecord]) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class RetainingSink(AuditSink, Protocol):
    """A sink that can drop old rows (by age and by count)."""

    def apply_retention(self, max_age_s: float | None, max_rows: int | None) -> int:
        """Delete what is older than ``max_age_s`` or beyond the newest ``max_rows``;
        return how many rows went."""
        ...


class JsonLinesSink:
    """Appends one JSON object per run to a file; each batch is flushed to the OS."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def write(self, records: Sequence[AuditRecord]) -> None:
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write("".join(record.model_dump_json() + "\n" for record in records))
        # Flushed per batch: a crash of the host loses at most the batch in flight.
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class LoggingSink:
    """One ``logging`` record per run, its message the record as JSON."""

    def __init__(self, logger: logging.Logger | None = None, level: int = logging.INFO) -> None:
        self.logger = logger if logger is not None else logging.getLogger("restricted_exec.audit")
        self.level = level

    def write(self, records: Sequence[AuditRecord]) -> None:
        for record in records:
            self.logger.log(self.level, "%s", record.model_dump_json())

    def close(self) -> None:
        """Nothing to release: handlers belong to the application."""


def read_json_lines(path: str | Path) -> list[AuditRecord]:
    """Every record a JsonLinesSink wrote (for tools and tests)."""
    with Path(path).open(encoding="utf-8") as lines:
        return [AuditRecord.model_validate(json.loads(line)) for line in lines if line.strip()]
