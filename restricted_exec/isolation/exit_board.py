"""Host-side mailbox for the fork server's reports of reaped children (pid -> wait status,
rusage)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

# Reports nobody asked for (children discarded before their hello was read) are kept this many at
# most, oldest dropped first, so the mailbox stays bounded however long the runner lives.
_MAX_UNCLAIMED = 512


@dataclass(frozen=True, slots=True)
class ExitReport:
    status: int  # raw wait status
    cpu_us: int  # user + system CPU of the whole child life
    peak_rss_kb: int

    @property
    def exit_code(self) -> int | None:
        return os.waitstatus_to_exitcode(self.status) if os.WIFEXITED(self.status) else None

    @property
    def term_signal(self) -> int | None:
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None


class ExitBoard:
    """Matches the reader thread's reports with the run threads that wait for them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._reports: dict[int, ExitReport] = {}
        self._ignored: set[int] = set()
        self._closed = False

    def post(self, pid: int, report: ExitReport) -> None:
        with self._cond:
            if pid in self._ignored:
                self._ignored.discard(pid)
                return
            self._reports[pid] = report
            while len(self._reports) > _MAX_UNCLAIMED:
                del self._reports[next(iter(self._reports))]
            self._cond.notify_all()

    def ignore(self, pid: int) -> None:
        """The run for ``pid`` ended normally; drop its report whenever it comes."""
        with self._cond:
            if self._reports.pop(pid, None) is None and not self._closed:
                self._ignored.add(pid)

    def wait(self, pid: int, timeout: float) -> ExitReport | None:
        """The report for ``pid``, or None if the fork server died or ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                report = self._reports.pop(pid, None)
                if report is not None or self._closed:
                    return report
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def close(self) -> None:
        """The fork server is gone: no more reports will come; wake every waiter."""
        with self._cond:
            self._closed = True
            self._ignored.clear()
            self._cond.notify_all()
