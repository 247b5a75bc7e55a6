"""One audited run, as a row: what ran, for whom, under which policy, and how it ended."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from restricted_exec.host.inputs import inputs_digest
from restricted_exec.language.text import capped, encodable
from restricted_exec.policy import Policy
from restricted_exec.result import ExecutionResult

__all__ = [
    "COLUMNS",
    "AuditRecord",
    "PendingRun",
    "RecordLimits",
    "build_record",
    "pending_size",
]


class AuditRecord(BaseModel):
    """A run as the audit log keeps it. Text fields are capped: ``code`` and ``stdout``
    flagged by ``*_truncated``, ``error_type`` and ``error_message`` by a note at their end.
    Every text field is encodable (lone surrogates escaped, see restricted_exec.language.text),
    so any sink can store it."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    started_at: datetime
    tenant: str
    caller: str | None = None
    code_sha256: str
    code: str
    code_truncated: bool
    inputs_sha256: str | None
    policy_sha256: str
    status: str
    duration_ms: float
    cpu_ms: float | None
    peak_rss_kb: int | None
    stdout: str
    stdout_truncated: bool
    error_type: str | None
    error_message: str | None
    cache_hit: bool
    isolation: str

    def row(self) -> dict[str, Any]:
        """The record as a flat row: ``started_at`` as UTC epoch seconds."""
        row = self.model_dump()
        row["started_at"] = self.started_at.timestamp()
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AuditRecord:
        """The inverse of :meth:`row`."""
        return cls(**{**row, "started_at": datetime.fromtimestamp(row["started_at"], UTC)})


COLUMNS: tuple[str, ...] = tuple(AuditRecord.model_fields)
"""Column order of every table-shaped sink."""


@dataclass(frozen=True, slots=True)
class PendingRun:
    """What the run path hands the audit log: references only, nothing computed."""

    started_at: float  # time.time()
    tenant: str
    caller: str | None  # restricted_exec.host.callers
    code: str
    code_sha256: str
    tagged_inputs: dict[str, Any] | None
    policy: Policy
    result: ExecutionResult


@dataclass(frozen=True, slots=True)
class RecordLimits:
    """Caps for the stored text, and the hook that redacts code before it is stored."""

    max_code_bytes: int = 65_536
    max_stdout_bytes: int = 65_536
    max_error_bytes: int = 8_192
    redact: Callable[[str], str] | None = None


def build_record(run: PendingRun, limits: RecordLimits, policy_digest: str) -> AuditRecord:
    """Turn a pending run into a record (on the writer thread, off the run path)."""
    code = limits.redact(run.code) if limits.redact is not None else run.code
    code, code_cut = _capped(code, limits.max_code_bytes)
    stdout, stdout_cut = _capped(run.result.stdout, limits.max_stdout_bytes)
    error = run.result.error
    return AuditRecord(
        run_id=uuid.uuid4().hex,
        started_at=datetime.fromtimestamp(run.started_at, UTC),
        tenant=encodable(run.tenant),
        caller=None if run.caller is None else encodable(run.caller),
        code_sha256=run.code_sha256,
        code=code,
        code_truncated=code_cut,
        inputs_sha256=inputs_digest(run.tagged_inputs) if run.tagged_inputs else None,
        policy_sha256=policy_digest,
        status=run.result.status,
        duration_ms=run.result.duration_ms,
        cpu_ms=run.result.cpu_ms,
        peak_rss_kb=run.result.peak_rss_kb,
        stdout=stdout,
        # Cut by the sandbox (output_bytes) or by the audit cap: either way, not all of it.
        stdout_truncated=stdout_cut or run.result.stdout_truncated,
        error_type=None if error is None else capped(error.type, _MAX_ERROR_TYPE_BYTES)[0],
        error_message=None if error is None else capped(error.message, limits.max_error_bytes)[0],
        cache_hit=run.result.cache_hit,
        isolation=run.result.isolation,
    )


_MAX_ERROR_TYPE_BYTES = 256


def pending_size(run: PendingRun) -> int:
    """The characters of text a queued run holds that its record stores (for
    AuditLog.max_pending_bytes)."""
    size = len(run.code) + len(run.result.stdout)
    error = run.result.error
    if error is not None:
        size += len(error.type) + len(error.message) + len(error.traceback)
    return size


def _capped(text: str, limit: int) -> tuple[str, bool]:
    # Lone surrogates (which a program can print) become visible escapes
    # (restricted_exec.language.text): every sink, SQLite included, then stores valid UTF-8.
    encoded = encodable(text).encode("utf-8")
    if len(encoded) <= limit:
        return encoded.decode("utf-8"), False
    # Cut on a character boundary: drop a partial UTF-8 sequence at the end.
    return encoded[:limit].decode("utf-8", "ignore"), True
