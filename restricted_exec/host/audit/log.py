"""The audit log: records every run off the run path, in batches, on one writer thread.

``log_run`` only appends references to a queue (a lock and a deque append: about
a microsecond). The writer thread wakes every ``flush_interval_s`` (or at once
when ``batch_size`` runs are waiting), builds the records - digests, redaction,
caps - and hands them to the sink as one batch. A crash of the host therefore
loses at most the runs logged since the last batch was written: fewer than
``batch_size`` and no older than ``flush_interval_s``. ``flush()`` waits for
everything logged so far; ``close()`` flushes and stops the thread.

A failing sink never reaches the caller: the batch is counted in
``failed_batches`` and logged through ``logging``, and the writer carries on.
One bad record must not cost the others their place: a batch the sink refuses
is written again record by record, so only the records the sink refuses on their
own are lost (counted in ``lost_records``, each logged); if the first few of
those all fail too, the sink itself is taken to be failing and the rest of the
batch is counted lost without more attempts.

If the sink falls so far behind that ``max_pending`` runs (or
``max_pending_bytes`` of their text) wait, new runs are dropped and
counted in ``dropped_records`` rather than blocking the run path or growing
memory without bound.
"""

from __future__ import annotations

import atexit
import collections
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from restricted_exec.host.audit.record import (
    AuditRecord,
    PendingRun,
    RecordLimits,
    build_record,
    pending_size,
)
from restricted_exec.host.audit.sinks import AuditSink, RetainingSink
from restricted_exec.host.audit.sqlite import SQLiteSink
from restricted_exec.policy import Policy
from restricted_exec.result import ExecutionResult

__all__ = ["AuditLog", "Retention"]

_log = logging.getLogger("restricted_exec.audit")
_RETENTION_EVERY_S = 1.0
# How long interpreter exit waits for each open log's writer: a full queue (100,000
# runs) takes ~6 s into SQLite on a 2-core VM; past this the rest is lost, with a warning.
_EXIT_TIMEOUT_S = 30.0
_open_logs: weakref.WeakSet[AuditLog] = weakref.WeakSet()
# After a batch fails, records are retried one by one; if this many in a row fail
# from the start, the sink (not a record) is what fails, and the rest are not tried.
_PROBE_RECORDS = 3


@dataclass(frozen=True, slots=True)
class Retention:
    """Keep runs younger than ``max_age_s`` and at most the newest ``max_rows``."""

    max_age_s: float | None = None
    max_rows: int | None = None


class AuditLog:
    """Records runs into ``sink`` from a background thread.

    Args:
        sink: where batches go (see :mod:`restricted_exec.host.audit.sinks`).
        limits: caps on stored code and stdout, and the redaction hook for code.
        batch_size: most records per batch; this many waiting wakes the writer.
        flush_interval_s: longest a logged run waits before its batch is written.
        max_pending: runs that may wait for the writer; more are dropped (counted).
        max_pending_bytes: characters of code, stdout and error text (type,
            message, traceback) those runs may hold (a stuck sink must not hold
            100,000 one-megabyte outputs); more are dropped too.
        retention: applied after writes, at most once a second, on sinks that
            support it (SQLite, SQLAlchemy).
    """

    def __init__(
        self,
        sink: AuditSink,
        *,
        limits: RecordLimits | None = None,
        batch_size: int = 256,
        flush_interval_s: float = 0.2,
        max_pending: int = 100_000,
        max_pending_bytes: int = 64 << 20,
        retention: Retention | None = None,
    ) -> None:
        if batch_size < 1 or flush_interval_s <= 0 or max_pending < 1:
            raise ValueError("batch_size and max_pending must be >= 1, flush_interval_s > 0")
        self.sink = sink
        self.limits = limits if limits is not None else RecordLimits()
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        self._pending_bytes = 0
        self.retention = retention
        self.written_records = 0
        self.lost_records = 0
        self.failed_batches = 0
        self.dropped_records = 0
        self._pending: collections.deque[PendingRun] = collections.deque()
        self._lock = threading.Lock()
        # Two conditions on one lock: the writer waits for work, flushers for progress.
        self._work = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        self._logged = 0  # runs accepted into the queue, ever
        self._settled = 0  # runs the writer has finished with (written or lost)
        self._flush_to = 0  # a flusher waits until _settled reaches this
        self._closing = False
        self._closed = False
        self._digests: dict[Policy, str] = {}
        self._last_retention = 0.0
        self._thread = threading.Thread(
            target=self._write_forever, name="restricted-exec-audit", daemon=True
        )
        self._thread.start()
        _open_logs.add(self)

    @classmethod
    def sqlite(cls, path: str | Path, **options: Any) -> AuditLog:
        """An AuditLog into the SQLite database at ``path`` (the default sink)."""
        return cls(SQLiteSink(path), **options)

    # -- the run path ----------------------------------------------------

    def log_run(
        self,
        *,
        started_at: float,
        tenant: str,
        caller: str | None = None,
        code: str,
        code_sha256: str,
        tagged_inputs: dict[str, Any] | None,
        policy: Policy,
        result: ExecutionResult,
    ) -> None:
        """Queue one run for the writer; never blocks on the sink, never raises."""
        if result.value is not None:
            # A record stores no value, and a queued value (up to 8 MB a run) would escape
            # max_pending_bytes, which counts the text a record keeps.
            result = result.model_copy(update={"value": None})
        run = PendingRun(
            started_at, tenant, caller, code, code_sha256, tagged_inputs, policy, result
        )
        with self._lock:
            if self._closing:
                self.dropped_records += 1
                return
            size = pending_size(run)
            if (
                len(self._pending) >= self.max_pending
                or self._pending_bytes + size > self.max_pending_bytes
            ):
                self.dropped_records += 1
                return
            self._pending.append(run)
            self._pending_bytes += size
            self._logged += 1
            if len(self._pending) == self.batch_size:
                self._work.notify()

    # -- control -----------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every run logged so far is written (or lost); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            target = self._logged
            self._flush_to = max(self._flush_to, target)
            self._work.notify()
            while self._settled < target and self._thread.is_alive():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._progress.wait(remaining)
            return self._settled >= target

    def close(self, timeout: float | None = None) -> bool:
        """Flush, stop the writer and close the sink. Idempotent.

        New runs are dropped (counted) from here on. With a ``timeout``, a writer
        still busy after it (a sink that hangs) is left running and the sink open -
        closing it under the writer would break the batch in flight - and False is
        returned; calling close again waits again.
        """
        with self._lock:
            if self._closed:
                return True
            self._closing = True
            self._work.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            _log.warning(
                "audit writer for %r still busy after %s s; %d runs not yet written",
                self.sink,
                timeout,
                len(self._pending),
            )
            return False
        with self._lock:
            self._closed = True
        self.sink.close()
        _open_logs.discard(self)
        return True

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the writer thread ---------------------------------------------

    def _write_forever(self) -> None:
        while True:
            with self._lock:
                # Batches, not single rows: wait for a full batch, a flush, close,
                # or the interval, so the writer costs the run path little CPU.
                if not self._batch_due():
                    self._work.wait(self.flush_interval_s)
                batch = [
                    self._pending.popleft() for _ in range(min(self.batch_size, len(self._pending)))
                ]
                self._pending_bytes -= sum(pending_size(run) for run in batch)
                stopping = self._closing and not self._pending
            if batch:
                self._write(batch)
            self._maybe_apply_retention()
            if stopping:
                return

    def _batch_due(self) -> bool:
        return (
            len(self._pending) >= self.batch_size or self._closing or self._flush_to > self._settled
        )

    def _write(self, batch: list[PendingRun]) -> None:
        records: list[AuditRecord] = []
        lost = 0
        for run in batch:
            try:
                records.append(build_record(run, self.limits, self._policy_digest(run.policy)))
            except Exception:
                _log.exception("audit record of a %s run could not be built", run.result.status)
                lost += 1
        failed_batch = False
        if records:
            try:
                self.sink.write(records)
            except Exception:
                _log.exception(
                    "audit sink %r failed a batch of %d runs; writing them one by one",
                    self.sink,
                    len(records),
                )
                failed_batch = True
                lost += self._write_one_by_one(records) if len(records) > 1 else 1
        with self._lock:
            self.failed_batches += int(failed_batch)
            self.lost_records += lost
            self.written_records += len(batch) - lost
            self._settled += len(batch)
            self._progress.notify_all()

    def _write_one_by_one(self, records: list[AuditRecord]) -> int:
        """Write each record alone; how many the sink refused (or were not tried)."""
        lost = 0
        for index, record in enumerate(records):
            if lost == _PROBE_RECORDS and lost == index:
                _log.error(
                    "audit sink %r refused the first %d runs one by one too; %d runs not recorded",
                    self.sink,
                    lost,
                    len(records) - index,
                )
                return len(records)
            try:
                self.sink.write([record])
            except Exception as problem:
                lost += 1
                _log.error(
                    "audit sink %r refused run %s (tenant %r, status %s): %s",
                    self.sink,
                    record.run_id,
                    record.tenant,
                    record.status,
                    problem,
                )
        return lost

    def _policy_digest(self, policy: Policy) -> str:
        digest = self._digests.get(policy)
        if digest is None:
            if len(self._digests) > 1024:
                self._digests.clear()
            digest = self._digests[policy] = policy.digest()
        return digest

    def _maybe_apply_retention(self) -> None:
        retention = self.retention
        if retention is None or not isinstance(self.sink, RetainingSink):
            return
        now = time.monotonic()
        if now - self._last_retention < _RETENTION_EVERY_S:
            return
        self._last_retention = now
        try:
            self.sink.apply_retention(retention.max_age_s, retention.max_rows)
        except Exception:
            _log.exception("audit retention on %r failed", self.sink)


@atexit.register
def _flush_open_logs() -> None:
    # Interpreter exit: write what is queued (daemon threads die without warning), but
    # a sink that hangs (a database that stopped answering) must not hang the exit.
    for audit_log in list(_open_logs):
        audit_log.close(timeout=_EXIT_TIMEOUT_S)
