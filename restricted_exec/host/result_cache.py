"""Results of deterministic runs, kept for reuse: LRU + TTL, bounded by entries and bytes.

Only a run under ``Policy(deterministic=True)`` is ever stored or looked up, and such
a run cannot read the clock or unseeded randomness (see :class:`Policy`), so the
same code, inputs and policy give the same result by construction. The Sandbox
adds the fork server's generation to the key: its hash seed decides the order
of a set of strings, and a restarted fork server has a new one.

Entries are kept as JSON text, never as live objects: every hit is a fresh
ExecutionResult whose ``value`` no other caller holds (a caller that mutates the
list it got back cannot change what the next caller gets), and the JSON's length
is what the byte bound counts. A result's text is already encodable (see
:mod:`restricted_exec.language.text`), so a hit equals the run it came from; a result that
still cannot be written as JSON is simply not kept - storing is an optimisation,
never a reason for ``run()`` to fail.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from restricted_exec.result import ExecutionResult

__all__ = ["CACHEABLE_STATUSES", "ResultCache"]

_log = logging.getLogger("restricted_exec.result_cache")

CACHEABLE_STATUSES = frozenset({"ok", "error", "output_limit"})
"""Endings decided by the program alone; timeouts, memory limits, crashes and
rejections depend on the machine and the moment, and are never reused."""


class ResultCache:
    """ExecutionResults by key, for ``ttl_s`` seconds each.

    Args:
        max_entries: most results kept; 0 disables the cache.
        max_bytes: most bytes of JSON the kept results may take.
        ttl_s: seconds a result may be served after it was stored.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        max_entries: int,
        max_bytes: int,
        ttl_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 0 or max_bytes < 0 or ttl_s < 0:
            raise ValueError("result cache bounds must be >= 0")
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[str, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._max_entries > 0 and self._ttl_s > 0

    def get(self, key: Hashable) -> ExecutionResult | None:
        """A fresh copy of the stored result, or None (missing or expired)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            text, stored_at = entry
            if self._clock() - stored_at > self._ttl_s:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
        try:
            return ExecutionResult.model_validate_json(text)
        except Exception:
            # put() stores only what reads back; should an entry not, it is a miss, once.
            _log.warning("a cached result could not be read back; dropped")
            with self._lock:
                if self._entries.get(key, (None, 0.0))[0] is text:
                    self._drop(key)
            return None

    def put(self, key: Hashable, result: ExecutionResult) -> bool:
        """Store ``result`` if its ending is cacheable and it fits; True if stored."""
        if not self.enabled or result.status not in CACHEABLE_STATUSES:
            return False
        try:
            text = result.model_dump_json()
            if result.value is not None:
                ExecutionResult.model_validate_json(text)  # a hit must read it back
        except Exception:
            _log.warning("a %s result could not be written as JSON; not cached", result.status)
            return False
        if len(text) > self._max_bytes:
            return False
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (text, self._clock())
            self._bytes += len(text)
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                self._drop(next(iter(self._entries)))
        return True

    def _drop(self, key: Hashable) -> None:
        text, _ = self._entries.pop(key)
        self._bytes -= len(text)

    def __len__(self) -> int:
        return len(self._entries)
