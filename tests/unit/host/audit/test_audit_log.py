"""The audit log: every sink, caps and redaction, failures, retention, queries, durability."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from restricted_exec import Policy, Sandbox
from restricted_exec.audit import (
    AuditDatabase,
    AuditLog,
    AuditRecord,
    JsonLinesSink,
    LoggingSink,
    RecordLimits,
    Retention,
    SQLiteSink,
    read_json_lines,
)
from restricted_exec.host.inputs import inputs_digest
from restricted_exec.result import ExecutionResult

INLINE = Policy(isolation="inline")
REPO = Path(__file__).resolve().parents[4]


def _result(stdout: str = "", status: str = "ok", **fields: Any) -> ExecutionResult:
    return ExecutionResult(**{"duration_ms": 1.5, **fields}, status=status, stdout=stdout)


def _log(audit: AuditLog, code: str = "print(1)", **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "started_at": time.time(),
        "tenant": "acme",
        "code": code,
        "code_sha256": "c" * 64,
        "tagged_inputs": None,
        "policy": INLINE,
        "result": _result("1\n"),
    }
    fields.update(overrides)
    audit.log_run(**fields)


class ListSink:
    def __init__(self) -> None:
        self.batches: list[list[AuditRecord]] = []
        self.closed = False

    def write(self, records: Sequence[AuditRecord]) -> None:
        self.batches.append(list(records))

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("isolation", ["inline", "process"])
def test_sandbox_runs_reach_the_database_with_what_happened(tmp_path: Path, isolation: str) -> None:
    database = tmp_path / "runs.db"
    audit = AuditLog.sqlite(database)
    policy = Policy(isolation=isolation)  # type: ignore[arg-type]
    with Sandbox(policy, audit=audit) as sandbox:
        ok = sandbox.run("print(n * 2)", inputs={"n": 21}, tenant="acme")
        failed = sandbox.run("1 / 0", tenant="globex")
        refused = sandbox.run("import os")
    audit.close()
    records = {record.status: record for record in AuditDatabase(database).query()}
    assert set(records) == {"ok", "error", "policy_violation"}
    assert records["ok"].stdout == ok.stdout == "42\n"
    assert records["ok"].tenant == "acme" and records["ok"].code == "print(n * 2)"
    assert records["ok"].code_sha256 == ok.code_sha256
    assert records["ok"].inputs_sha256 == inputs_digest({"n": 21})
    assert records["ok"].policy_sha256 == policy.digest()
    assert records["ok"].isolation == isolation
    assert records["error"].error_type == "ZeroDivisionError" == failed.error.type  # type: ignore[union-attr]
    assert records["error"].tenant == "globex"
    assert records["policy_violation"].error_message == refused.error.message  # type: ignore[union-attr]
    assert records["policy_violation"].tenant == "default"


def test_code_and_stdout_are_capped_with_flags_and_code_is_redacted_first() -> None:
    sink = ListSink()
    limits = RecordLimits(
        max_code_bytes=10, max_stdout_bytes=4, redact=lambda code: code.replace("secret", "***")
    )
    with AuditLog(sink, limits=limits) as audit:
        _log(audit, code="key = 'secret'\nprint(key)", result=_result("é" * 5))
        _log(audit, code="x = 1", result=_result("ok\n"))
    first, second = [record for batch in sink.batches for record in batch]
    assert first.code == "key = '***" and first.code_truncated
    assert first.stdout == "éé" and first.stdout_truncated  # cut on a character boundary
    assert (second.code, second.code_truncated) == ("x = 1", False)
    assert (second.stdout, second.stdout_truncated) == ("ok\n", False)


def test_output_cut_by_the_sandbox_is_flagged_as_truncated() -> None:
    sink = ListSink()
    with AuditLog(sink) as audit:
        _log(audit, result=_result("abc", status="output_limit", stdout_truncated=True))
    assert sink.batches[0][0].stdout_truncated


def test_lone_surrogates_in_output_are_stored_as_escapes(tmp_path: Path) -> None:
    with AuditLog.sqlite(tmp_path / "runs.db") as audit:
        _log(audit, result=_result("bad \udcff end"))
    (record,) = AuditDatabase(tmp_path / "runs.db").query()
    assert record.stdout == "bad \\udcff end"


def test_records_round_trip_through_json_lines_and_logging(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "runs.jsonl"
    logger = logging.getLogger("test.audit")
    with AuditLog(JsonLinesSink(path)) as to_file, AuditLog(LoggingSink(logger)) as to_logging:
        caplog.set_level(logging.INFO, logger="test.audit")
        for audit in (to_file, to_logging):
            _log(audit, tenant="t1", result=_result("a\n"))
            _log(audit, tenant="t2", result=_result("", status="error"))
    from_file = read_json_lines(path)
    from_logging = [
        AuditRecord.model_validate(json.loads(entry.getMessage()))
        for entry in caplog.records
        if entry.name == "test.audit"
    ]
    for records in (from_file, from_logging):
        assert [(r.tenant, r.status, r.stdout) for r in records] == [
            ("t1", "ok", "a\n"),
            ("t2", "error", ""),
        ]


def test_records_round_trip_through_sqlalchemy(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    from restricted_exec.audit import SQLAlchemySink

    sink = SQLAlchemySink(f"sqlite:///{tmp_path / 'runs.db'}")
    with AuditLog(sink, retention=None) as audit:
        for index in range(5):
            _log(audit, tenant=f"t{index}", started_at=1_000_000.0 + index)
        assert audit.flush()
        records = sink.read_all()
        assert [record.tenant for record in records] == [f"t{i}" for i in range(5)]
        assert sink.apply_retention(None, 2) == 3
        assert [record.tenant for record in sink.read_all()] == ["t3", "t4"]
        assert sink.apply_retention(0.0, None) == 2  # everything is older than now


def test_a_failing_sink_is_counted_and_the_writer_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class FlakySink(ListSink):
        def write(self, records: Sequence[AuditRecord]) -> None:
            if not self.batches and not getattr(self, "failed", False):
                self.failed = True
                raise OSError("disk full")
            super().write(records)

    sink = FlakySink()
    with AuditLog(sink) as audit:
        _log(audit)
        assert audit.flush()
        _log(audit)
        assert audit.flush()
        assert (audit.failed_batches, audit.lost_records, audit.written_records) == (1, 1, 1)
    assert "disk full" in caplog.text
    assert len(sink.batches) == 1


class StuckSink(ListSink):
    """A sink whose writes wait until the test releases them."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def write(self, records: Sequence[AuditRecord]) -> None:
        self.release.wait()
        super().write(records)


def test_a_full_queue_drops_and_counts_instead_of_blocking() -> None:
    sink = StuckSink()
    release = sink.release
    audit = AuditLog(sink, max_pending=5, batch_size=1)
    try:
        _log(audit)  # the writer takes this one and blocks in the sink
        assert audit.flush(timeout=0.05) is False  # stuck: flush gives up instead of hanging
        for _ in range(20):
            _log(audit)  # returns at once even though nothing is written
        assert audit.dropped_records >= 15
    finally:
        release.set()
        audit.close()
    assert audit.written_records + audit.dropped_records == 21


def test_flush_waits_for_everything_logged_and_close_closes_the_sink() -> None:
    sink = ListSink()
    audit = AuditLog(sink, batch_size=1000, flush_interval_s=60)
    for index in range(10):
        _log(audit, tenant=f"t{index}")
    assert audit.flush(timeout=10)
    assert sum(len(batch) for batch in sink.batches) == 10
    audit.close()
    audit.close()
    assert sink.closed


def test_close_with_a_timeout_gives_up_on_a_hung_sink_without_closing_it() -> None:
    sink = StuckSink()
    audit = AuditLog(sink, batch_size=1)
    _log(audit)
    assert audit.close(timeout=0.05) is False  # the writer is stuck in the sink
    assert not sink.closed  # not closed under the batch in flight
    _log(audit)  # closing: new runs are dropped and counted
    assert audit.dropped_records == 1
    sink.release.set()
    assert audit.close() is True
    assert sink.closed and audit.written_records == 1


def test_a_database_path_with_uri_characters_is_read_back(tmp_path: Path) -> None:
    database = tmp_path / "a#b?c 50%" / "runs.db"
    database.parent.mkdir()
    with AuditLog.sqlite(database) as audit:
        _log(audit, tenant="weird")
    assert [r.tenant for r in AuditDatabase(database).query()] == ["weird"]


def test_retention_by_rows_and_by_age(tmp_path: Path) -> None:
    sink = SQLiteSink(tmp_path / "runs.db")
    now = time.time()
    with AuditLog(sink) as audit:
        for index in range(6):
            _log(audit, tenant=f"t{index}", started_at=now - 100 + index)
        assert audit.flush()
        assert sink.apply_retention(None, 4) == 2
        database = AuditDatabase(tmp_path / "runs.db")
        assert sorted(r.tenant for r in database.query()) == ["t2", "t3", "t4", "t5"]
        assert sink.apply_retention(96.5, None) == 2  # t2 at -98, t3 at -97 are too old
        assert sorted(r.tenant for r in database.query()) == ["t4", "t5"]


def test_retention_by_rows_keeps_the_newest_when_start_times_tie(tmp_path: Path) -> None:
    sink = SQLiteSink(tmp_path / "runs.db")
    with AuditLog(sink) as audit:
        for index in range(5):
            _log(audit, tenant=f"t{index}", started_at=1_000_000.0)
        assert audit.flush()
        assert sink.apply_retention(None, 5) == 0  # nothing beyond the limit: nothing goes
        assert sink.apply_retention(None, 2) == 3  # ties: the last written stay
        assert sorted(r.tenant for r in AuditDatabase(tmp_path / "runs.db").query()) == [
            "t3",
            "t4",
        ]


def test_the_writer_applies_retention_on_its_own(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    with AuditLog.sqlite(database, retention=Retention(max_rows=3)) as audit:
        for index in range(8):
            _log(audit, tenant=f"t{index}", started_at=1_000_000.0 + index)
    assert sorted(r.tenant for r in AuditDatabase(database).query()) == ["t5", "t6", "t7"]


def test_queries_filter_by_tenant_status_and_time(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with AuditLog.sqlite(database) as audit:
        for day, (tenant, status) in enumerate(
            [("a", "ok"), ("a", "error"), ("b", "ok"), ("b", "timeout"), ("a", "ok")]
        ):
            _log(
                audit,
                tenant=tenant,
                result=_result(status=status, duration_ms=float(day + 1)),
                started_at=(base + timedelta(days=day)).timestamp(),
            )
    db = AuditDatabase(database)
    assert [r.tenant for r in db.query(tenant="a")] == ["a", "a", "a"]
    assert [r.status for r in db.query(status="ok")] == ["ok", "ok", "ok"]
    window = db.query(since=base + timedelta(days=1), until=base + timedelta(days=3))
    assert [(r.tenant, r.status) for r in window] == [("b", "ok"), ("a", "error")]  # newest first
    assert len(db.query(limit=2)) == 2
    summary = db.summary(tenant="a")
    assert summary.runs == 3 and summary.by_status == {"error": 1, "ok": 2}
    assert summary.p50_ms == 2.0  # durations 1, 2, 5
    out = io.StringIO()
    assert db.export_jsonl(out, tenant="b") == 2
    exported = [AuditRecord.model_validate_json(line) for line in out.getvalue().splitlines()]
    assert [r.status for r in exported] == ["ok", "timeout"]  # oldest first
    assert db.get(exported[0].run_id) == exported[0]
    assert db.get("no-such-run") is None


def test_rows_survive_a_restart_of_the_writer(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    for tenant in ("before", "after"):
        with AuditLog.sqlite(database) as audit:
            for _ in range(3):
                _log(audit, tenant=tenant)
    tenants = sorted(r.tenant for r in AuditDatabase(database).query())
    assert tenants == ["after"] * 3 + ["before"] * 3


_KILLED_HOST = """
import sys, time
from restricted_exec import Policy
from restricted_exec.audit import AuditLog
from restricted_exec.result import ExecutionResult

audit = AuditLog.sqlite(sys.argv[1], batch_size=50, flush_interval_s=0.05)
def log(i):
    audit.log_run(started_at=time.time(), tenant=f"t{i}", code="print(1)", code_sha256="c" * 64,
                  tagged_inputs=None, policy=Policy(), result=ExecutionResult(status="ok"))
for i in range(500):
    log(i)
audit.flush()
print("flushed", flush=True)
i = 500
while True:  # keeps logging until it is killed, reporting what the writer has committed
    log(i)
    i += 1
    if i % 100 == 0:
        print(audit.written_records, flush=True)
    time.sleep(0.0005)
"""


def test_rows_survive_a_kill_9_of_the_host_except_the_last_batch(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    host = subprocess.Popen(
        [sys.executable, "-c", _KILLED_HOST, str(database)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert host.stdout is not None
    assert host.stdout.readline().strip() == "flushed"
    committed = 0
    try:
        # Let it log, and its writer commit batches, for a while. A progress line comes
        # every 100 runs; a writer that never gets to 1500 fails the test, not hangs it.
        for _ in range(300):  # ~16 lines normally; 300 is seconds of slack
            committed = int(host.stdout.readline())
            if committed >= 1500:
                break
    finally:
        host.send_signal(signal.SIGKILL)
        host.wait()
    assert committed >= 1500, f"the writer committed only {committed} runs"
    records = AuditDatabase(database).query(limit=None)  # opens cleanly after the kill (WAL)
    indexes = sorted(int(r.tenant[1:]) for r in records)
    # Every row is whole and the rows form a prefix of what was logged (batches are
    # transactions, written in order), so only the tail - runs not yet committed - is lost:
    assert indexes == list(range(len(indexes)))
    # Everything flushed, and every batch the writer had committed before the kill, is
    # there. (How far the writer trails the run path depends on the machine's load, so
    # the test bounds the loss by what was committed, not by a count of runs.)
    assert len(indexes) >= 500
    assert len(indexes) >= committed


def test_queued_output_is_bounded_in_bytes_too() -> None:
    sink = StuckSink()
    release = sink.release
    audit = AuditLog(sink, max_pending_bytes=1000, batch_size=1)
    try:
        for _ in range(10):
            _log(audit, result=_result("x" * 300))  # 4 fit under 1000 chars with the code
        assert audit.dropped_records >= 6
    finally:
        release.set()
        audit.close()
    assert audit.written_records + audit.dropped_records == 10
