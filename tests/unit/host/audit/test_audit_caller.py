"""Who asked for a run, within its tenant: ``attributed_to`` reaches every kind of run and
every sink, and databases written before the column existed gain it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from restricted_exec import Sandbox
from restricted_exec.audit import AuditDatabase, AuditLog, AuditRecord, SQLiteSink, attributed_to
from restricted_exec.result import ExecutionResult


class ListSink:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def write(self, records: Sequence[AuditRecord]) -> None:
        self.records.extend(records)

    def close(self) -> None:
        pass


def test_every_kind_of_run_started_in_the_block_records_its_caller() -> None:
    sink = ListSink()
    audit = AuditLog(sink)

    async def asynchronous(sandbox: Sandbox) -> None:
        await sandbox.run_async("print('run_async')", tenant="acme")
        async for _ in sandbox.stream("print('stream')", tenant="acme"):
            pass
        with sandbox.session(tenant="acme") as session:
            await session.run_async("print('session.run_async')")

    with Sandbox(audit=audit) as sandbox:
        with attributed_to("key-7"):
            sandbox.run("print('run')", tenant="acme")
            sandbox.compile_program("print('program')", tenant="acme").run(tenant="acme")
            with sandbox.session(tenant="acme") as session:
                session.run("print('session.run')")
            asyncio.run(asynchronous(sandbox))
        sandbox.run("print('outside')", tenant="acme")
    audit.close()
    by_output = {record.stdout: record.caller for record in sink.records}
    assert by_output == {
        "run\n": "key-7",
        "program\n": "key-7",
        "session.run\n": "key-7",
        "run_async\n": "key-7",
        "stream\n": "key-7",
        "session.run_async\n": "key-7",
        "outside\n": None,
    }


def test_blocks_nest_and_each_ends_with_its_block() -> None:
    from restricted_exec.host.callers import current_caller

    with attributed_to("outer"):
        with attributed_to("inner"):
            assert current_caller() == "inner"
        assert current_caller() == "outer"
    assert current_caller() is None


@pytest.mark.parametrize("caller", ["", "x" * 201, 7])
def test_a_caller_is_a_short_non_empty_str(caller: object) -> None:
    with pytest.raises((TypeError, ValueError)), attributed_to(caller):  # type: ignore[arg-type]
        pass


_OLD_TABLE = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, started_at REAL NOT NULL, tenant TEXT NOT NULL,
    code_sha256 TEXT NOT NULL, code TEXT NOT NULL, code_truncated INTEGER NOT NULL,
    inputs_sha256 TEXT, policy_sha256 TEXT NOT NULL, status TEXT NOT NULL,
    duration_ms REAL NOT NULL, cpu_ms REAL, peak_rss_kb INTEGER, stdout TEXT NOT NULL,
    stdout_truncated INTEGER NOT NULL, error_type TEXT, error_message TEXT,
    cache_hit INTEGER NOT NULL, isolation TEXT NOT NULL
);
INSERT INTO runs VALUES ('old', 1000.0, 'acme', 'c', 'print(1)', 0, NULL, 'p', 'ok', 1.0,
    NULL, NULL, '1', 0, NULL, NULL, 0, 'process');
"""


def _old_database(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.executescript(_OLD_TABLE)


def _record(caller: str | None) -> AuditRecord:
    from restricted_exec.host.audit.record import PendingRun, RecordLimits, build_record
    from restricted_exec.policy import Policy

    result = ExecutionResult(status="ok", stdout="2\n", duration_ms=1.0)
    run = PendingRun(time.time(), "acme", caller, "print(2)", "c", None, Policy(), result)
    return build_record(run, RecordLimits(), "p")


def test_a_database_from_before_the_caller_column_is_read_and_then_gains_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    _old_database(path)
    # A reader opens it read-only: the column it lacks reads as None.
    (old,) = AuditDatabase(path).query()
    assert (old.run_id, old.caller) == ("old", None)
    assert AuditDatabase(path).query(caller="key-1") == []  # no run had a caller then
    assert AuditDatabase(path).summary(caller="key-1").runs == 0
    sink = SQLiteSink(path)
    sink.write([_record("key-1")])
    sink.close()
    records = {record.run_id: record.caller for record in AuditDatabase(path).query()}
    assert records.pop("old") is None and list(records.values()) == ["key-1"]
    assert [record.caller for record in AuditDatabase(path).query(caller="key-1")] == ["key-1"]


def test_a_sqlalchemy_table_from_before_the_caller_column_gains_it(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    from restricted_exec.audit import SQLAlchemySink

    path = tmp_path / "old.db"
    _old_database(path)
    sink = SQLAlchemySink(f"sqlite:///{path}")
    sink.write([_record("key-2")])
    assert sorted((record.run_id == "old", record.caller) for record in sink.read_all()) == [
        (False, "key-2"),
        (True, None),
    ]
    import sqlalchemy as sa

    indexed = [index["column_names"] for index in sa.inspect(sink.engine).get_indexes("runs")]
    assert ["caller"] in indexed
    sink.close()
    SQLAlchemySink(f"sqlite:///{path}").close()  # a second opening finds all in place
