"""The default audit sink, an embedded SQLite database, and the queries over it.

WAL mode lets readers (``restricted-exec audit``, another process) query while
the writer appends, and makes each committed batch survive a crash of the
writing process. ``synchronous=NORMAL`` skips the fsync per commit: a power
loss may lose the last commits, a killed process does not.
"""

from __future__ import annotations

import contextlib
import sqlite3
import statistics
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict

from restricted_exec.host.audit.record import COLUMNS, AuditRecord
from restricted_exec.language.text import json_for_terminal

__all__ = ["AuditDatabase", "AuditSummary", "SQLiteSink"]

_TABLE = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    tenant TEXT NOT NULL,
    caller TEXT,
    code_sha256 TEXT NOT NULL,
    code TEXT NOT NULL,
    code_truncated INTEGER NOT NULL,
    inputs_sha256 TEXT,
    policy_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    cpu_ms REAL,
    peak_rss_kb INTEGER,
    stdout TEXT NOT NULL,
    stdout_truncated INTEGER NOT NULL,
    error_type TEXT,
    error_message TEXT,
    cache_hit INTEGER NOT NULL,
    isolation TEXT NOT NULL
);
"""
# Columns added after the first release, with their type: a database written before them
# gains them when a sink opens it (existing rows read NULL).
_ADDED_COLUMNS = {"caller": "TEXT"}
_INDEXES = """
CREATE INDEX IF NOT EXISTS runs_started_at ON runs (started_at);
CREATE INDEX IF NOT EXISTS runs_tenant ON runs (tenant, started_at);
CREATE INDEX IF NOT EXISTS runs_caller ON runs (caller, started_at);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, started_at);
CREATE INDEX IF NOT EXISTS runs_code_sha256 ON runs (code_sha256);
"""
_INSERT = f"INSERT INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per batch.
    # check_same_thread=False: the connection is opened by whichever thread touches the
    # sink first (the writer, or a caller of apply_retention), and the AuditLog's single
    # writer thread is what serialises its use afterwards.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=5000")  # readers and writers wait, not fail
    return connection


def _columns(connection: sqlite3.Connection) -> set[str]:
    return {row[1] for row in connection.execute("PRAGMA table_info(runs)")}


def _values(row: dict[str, Any]) -> tuple[Any, ...]:
    # One record's row, dumped once, in the column order of _INSERT.
    return tuple(row[column] for column in COLUMNS)


class SQLiteSink:
    """Writes batches into ``path`` (created with its schema if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._connection: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = _connect(self.path)
            connection.executescript(_TABLE)
            for column, kind in _ADDED_COLUMNS.items():
                if column not in _columns(connection):
                    try:
                        connection.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")
                    except sqlite3.OperationalError:
                        # Another writer (a second replica) added it first: then all is well.
                        if column not in _columns(connection):
                            raise
            connection.executescript(_INDEXES)
            self._connection = connection
        return self._connection

    def write(self, records: Sequence[AuditRecord]) -> None:
        db = self._db()
        rows = [_values(record.row()) for record in records]
        db.execute("BEGIN")
        try:
            db.executemany(_INSERT, rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")  # one transaction per batch: all of it or none

    def apply_retention(self, max_age_s: float | None, max_rows: int | None) -> int:
        db = self._db()
        removed = 0
        if max_age_s is not None:
            cutoff = time.time() - max_age_s
            removed += db.execute("DELETE FROM runs WHERE started_at < ?", (cutoff,)).rowcount
        if max_rows is not None:
            # Count, then delete only the oldest excess through the started_at index.
            # Not "NOT IN (the newest max_rows)": that builds a set of max_rows rowids
            # on every pass, and the writer runs this every second; COUNT(*) walks only
            # the index.
            (count,) = db.execute("SELECT COUNT(*) FROM runs").fetchone()
            if count > max_rows:
                removed += db.execute(
                    "DELETE FROM runs WHERE rowid IN "
                    "(SELECT rowid FROM runs ORDER BY started_at, rowid LIMIT ?)",
                    (count - max_rows,),
                ).rowcount
        return removed

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class AuditSummary(BaseModel):
    """Runs per status and duration percentiles over a selection of runs."""

    model_config = ConfigDict(frozen=True)

    runs: int
    by_status: dict[str, int]
    p50_ms: float | None
    p99_ms: float | None


class AuditDatabase:
    """Read-only queries over an audit database; safe while a writer appends.

    Raises:
        FileNotFoundError: there is no database at ``path``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no audit database at {self.path}")

    def query(
        self,
        *,
        tenant: str | None = None,
        caller: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 100,
    ) -> list[AuditRecord]:
        """Runs matching every filter given, newest first (``limit=None``: all)."""
        return list(self._select(tenant, caller, status, since, until, limit))

    def get(self, run_id: str) -> AuditRecord | None:
        """One run by its id."""
        with self._reader() as db:
            selected = _selected(_columns(db))
            cursor = db.execute(f"SELECT {selected} FROM runs WHERE run_id = ?", (run_id,))
            row = cursor.fetchone()
        return AuditRecord.from_row(dict(zip(COLUMNS, row, strict=True))) if row else None

    def export_jsonl(
        self,
        out: TextIO,
        *,
        tenant: str | None = None,
        caller: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Write matching runs to ``out`` as JSON lines, oldest first; return the count."""
        count = 0
        for record in reversed(list(self._select(tenant, caller, status, since, until, None))):
            out.write(json_for_terminal(record.model_dump_json()) + "\n")
            count += 1
        return count

    def summary(
        self,
        *,
        tenant: str | None = None,
        caller: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> AuditSummary:
        """Runs per status and p50/p99 of ``duration_ms`` over the matching runs."""
        with self._reader() as db:
            where, parameters = _where(_columns(db), tenant, caller, status, since, until)
            by_status = dict(
                db.execute(
                    f"SELECT status, COUNT(*) FROM runs{where} GROUP BY status ORDER BY status",
                    parameters,
                ).fetchall()
            )
            durations = [
                value for (value,) in db.execute(f"SELECT duration_ms FROM runs{where}", parameters)
            ]
        return AuditSummary(
            runs=len(durations),
            by_status=by_status,
            p50_ms=_percentile(durations, 50),
            p99_ms=_percentile(durations, 99),
        )

    def _select(
        self,
        tenant: str | None,
        caller: str | None,
        status: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int | None,
    ) -> Iterator[AuditRecord]:
        with self._reader() as db:
            columns = _columns(db)
            where, parameters = _where(columns, tenant, caller, status, since, until)
            sql = (
                f"SELECT {_selected(columns)} FROM runs{where} ORDER BY started_at DESC, rowid DESC"
            )
            if limit is not None:
                sql += " LIMIT ?"
                parameters = (*parameters, limit)
            rows = db.execute(sql, parameters).fetchall()
        for row in rows:
            yield AuditRecord.from_row(dict(zip(COLUMNS, row, strict=True)))

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        # A fresh read-only connection per query, closed after it: nothing is
        # held between calls, and the writer is never blocked by a reader.
        # mode=ro needs a URI; as_uri() percent-encodes the path, so a directory
        # named "a#b" or "50%" is not read as a URI fragment or escape.
        connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            connection.execute("PRAGMA busy_timeout=5000")
            yield connection
        finally:
            connection.close()


def _selected(present: set[str]) -> str:
    # Every column, as NULL where a database written before it was added lacks it (a reader
    # opens read-only, so it cannot add the column as a sink does).
    return ", ".join(column if column in present else "NULL" for column in COLUMNS)


def _where(
    present: set[str],
    tenant: str | None,
    caller: str | None,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    parameters: list[Any] = []
    # A database written before the caller column has no run with a caller.
    caller_clause = "caller = ?" if "caller" in present else "NULL = ?"
    for clause, value in (
        ("tenant = ?", tenant),
        (caller_clause, caller),
        ("status = ?", status),
        ("started_at >= ?", since.timestamp() if since is not None else None),
        ("started_at < ?", until.timestamp() if until is not None else None),
    ):
        if value is not None:
            clauses.append(clause)
            parameters.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(parameters)


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    # Inclusive method: the percentile lies within the observed range.
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]
