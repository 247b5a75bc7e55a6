"""The audit log keeps every run it can: one bad record never costs the others their place.

Text is escaped at the boundary (restricted_exec.language.text), error text is capped and
counted in the queue's byte bound, a batch the sink refuses is retried record by
record, and ``audit show`` prints a program's terminal controls escaped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from restricted_exec import Policy
from restricted_exec.audit import (
    AuditDatabase,
    AuditLog,
    AuditRecord,
    RecordLimits,
    SQLiteSink,
)
from restricted_exec.cli import main
from restricted_exec.language.text import TRUNCATION_NOTE
from restricted_exec.result import ErrorInfo, ExecutionResult

POLICY = Policy(isolation="inline")


def _failed(message: str, traceback: str = "") -> ExecutionResult:
    error = ErrorInfo(kind="exception", type="ValueError", message=message, traceback=traceback)
    return ExecutionResult(status="error", error=error, duration_ms=1.0)


def _log(audit: AuditLog, tenant: str, result: ExecutionResult) -> None:
    audit.log_run(
        started_at=time.time(),
        tenant=tenant,
        code="raise ValueError()",
        code_sha256="c" * 64,
        tagged_inputs=None,
        policy=POLICY,
        result=result,
    )


def test_a_lone_surrogate_in_an_error_message_loses_no_record_of_its_batch(
    tmp_path: Path,
) -> None:
    # Such a result no longer comes from the runtime; one made elsewhere must still not
    # make SQLite refuse the batch it is in.
    database = tmp_path / "runs.db"
    with AuditLog.sqlite(database, batch_size=256, flush_interval_s=60) as audit:
        for index in range(10):
            message = "bad \ud800" if index == 3 else "fine"
            _log(audit, f"tenant-{index}", _failed(message))
        assert audit.flush()
        assert (audit.written_records, audit.lost_records, audit.failed_batches) == (10, 0, 0)
    records = {record.tenant: record for record in AuditDatabase(database).query()}
    assert len(records) == 10
    assert records["tenant-3"].error_message == "bad \\ud800"


class PickySink:
    """Refuses any batch holding a record of tenant ``bad`` (as a database refuses a row)."""

    def __init__(self, refuse: str = "bad") -> None:
        self.refuse = refuse
        self.stored: list[AuditRecord] = []
        self.attempts = 0

    def write(self, records: Sequence[AuditRecord]) -> None:
        self.attempts += 1
        if any(record.tenant == self.refuse or self.refuse == "*" for record in records):
            raise ValueError("row refused")
        self.stored.extend(records)

    def close(self) -> None:
        return None


def test_a_batch_the_sink_refuses_is_retried_record_by_record_and_only_the_bad_one_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = PickySink()
    caplog.set_level(logging.ERROR, logger="restricted_exec.audit")
    with AuditLog(sink, batch_size=256, flush_interval_s=60) as audit:
        for tenant in ["a", "b", "bad", "c", "d"]:
            _log(audit, tenant, _failed("m"))
        assert audit.flush()
        counts = (audit.written_records, audit.lost_records, audit.failed_batches)
    assert counts == (4, 1, 1)
    assert [record.tenant for record in sink.stored] == ["a", "b", "c", "d"]
    assert "refused run" in caplog.text and "'bad'" in caplog.text


def test_a_sink_that_refuses_everything_is_not_retried_record_by_record_to_the_end() -> None:
    sink = PickySink(refuse="*")
    with AuditLog(sink, batch_size=256, flush_interval_s=60) as audit:
        for index in range(50):
            _log(audit, f"t{index}", _failed("m"))
        assert audit.flush()
        assert (audit.written_records, audit.lost_records, audit.failed_batches) == (0, 50, 1)
    assert sink.attempts == 1 + 3  # the batch, then three records alone


def test_error_message_is_capped_in_the_record_with_a_note(tmp_path: Path) -> None:
    database = tmp_path / "runs.db"
    limits = RecordLimits(max_error_bytes=1000)
    with AuditLog(SQLiteSink(database), limits=limits) as audit:
        _log(audit, "acme", _failed("x" * 4_000_000))
        assert audit.flush()
    (record,) = AuditDatabase(database).query()
    assert record.error_message == "x" * 1000 + TRUNCATION_NOTE.format(omitted=4_000_000 - 1000)


def test_error_message_is_capped_by_default() -> None:
    stored: list[AuditRecord] = []

    class Sink:
        def write(self, records: Sequence[AuditRecord]) -> None:
            stored.extend(records)

        def close(self) -> None:
            return None

    with AuditLog(Sink()) as audit:
        _log(audit, "acme", _failed("x" * 4_000_000))
        assert audit.flush()
    assert stored[0].error_message is not None
    assert len(stored[0].error_message) < 10_000


def test_error_text_counts_against_max_pending_bytes() -> None:
    release = threading.Event()

    class StuckSink:
        def write(self, records: Sequence[AuditRecord]) -> None:
            release.wait()

        def close(self) -> None:
            return None

    audit = AuditLog(StuckSink(), max_pending_bytes=10_000, batch_size=1)
    try:
        for _ in range(10):
            _log(audit, "acme", _failed("m" * 1_000, traceback="t" * 2_000))
        assert audit.dropped_records >= 6  # three fit under 10,000 characters
    finally:
        release.set()
        audit.close()


def _stored(tmp_path: Path, **fields: Any) -> tuple[Path, str]:
    database = tmp_path / "runs.db"
    with AuditLog.sqlite(database) as audit:
        audit.log_run(
            started_at=time.time(),
            tenant=fields.pop("tenant", "acme"),
            code=fields.pop("code", "print(1)"),
            code_sha256="c" * 64,
            tagged_inputs=None,
            policy=POLICY,
            result=ExecutionResult(duration_ms=1.0, **fields),
        )
    (record,) = AuditDatabase(database).query()
    return database, record.run_id


def test_audit_show_escapes_the_terminal_controls_a_program_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database, run_id = _stored(
        tmp_path,
        tenant="t\x1b]0;owned\x07",
        code="print('\\x1b[2J')\n# \u202eevil",
        status="error",
        stdout="line one\n\x1b[2J\x1b[31mred\rover\tok\n",
        error=ErrorInfo(kind="exception", type="ValueError", message="\x1b[8mhidden\x9b"),
    )
    assert main(["audit", "show", str(database), run_id]) == 0
    shown = capsys.readouterr().out
    for control in ("\x1b", "\x07", "\r", "\x9b", "\u202e"):
        assert control not in shown
    assert "\\x1b[2J\\x1b[31mred\\rover\tok" in shown  # newlines and tabs stay
    assert "ValueError: \\x1b[8mhidden\\x9b" in shown
    assert "t\\x1b]0;owned\\x07" in shown
    assert "# \\u202eevil" in shown


def test_a_queued_run_holds_no_value_the_record_would_not_store(tmp_path: Path) -> None:
    # Red-team round 1: a stalled sink and runs returning 8 MB values grew the caller by
    # 115 MB while the queue counted 360 bytes.
    value = ["x" * 1000] * 1000
    result = ExecutionResult(status="ok", value=value, duration_ms=1.0)
    with AuditLog.sqlite(tmp_path / "runs.db", batch_size=256, flush_interval_s=60) as audit:
        _log(audit, "tenant", result)
        queued = list(audit._pending)
        assert [run.result.value for run in queued] == [None]
        assert queued[0].result.status == "ok"
