"""The audit log (public API): every run recorded off the run path, into SQLite or another sink.

    from restricted_exec import Sandbox
    from restricted_exec.audit import AuditLog, Retention

    audit = AuditLog.sqlite("runs.db", retention=Retention(max_age_s=30 * 86400))
    sandbox = Sandbox(audit=audit)

Query it with :class:`AuditDatabase` or ``restricted-exec audit``. ``with attributed_to("k1"):``
records the runs started inside as asked for by that caller (an API key's id, an end user),
beside their tenant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from restricted_exec.host.audit.log import AuditLog, Retention
from restricted_exec.host.audit.record import AuditRecord, RecordLimits
from restricted_exec.host.audit.sinks import (
    AuditSink,
    JsonLinesSink,
    LoggingSink,
    RetainingSink,
    read_json_lines,
)
from restricted_exec.host.audit.sqlite import AuditDatabase, AuditSummary, SQLiteSink
from restricted_exec.host.callers import attributed_to

if TYPE_CHECKING:
    from restricted_exec.host.audit.sqlalchemy_sink import SQLAlchemySink


def __getattr__(name: str) -> Any:
    # SQLAlchemy loads only when its sink is asked for (the [sqlalchemy] extra).
    if name == "SQLAlchemySink":
        from restricted_exec.host.audit.sqlalchemy_sink import SQLAlchemySink

        return SQLAlchemySink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AuditDatabase",
    "AuditLog",
    "AuditRecord",
    "AuditSink",
    "AuditSummary",
    "JsonLinesSink",
    "LoggingSink",
    "RecordLimits",
    "RetainingSink",
    "Retention",
    "SQLAlchemySink",
    "SQLiteSink",
    "attributed_to",
    "read_json_lines",
]
