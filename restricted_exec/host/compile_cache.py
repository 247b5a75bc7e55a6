"""A thread-safe LRU of compile outcomes, bounded by entry count and by source bytes.

Keys are the source's sha256 and the policy's compile settings, never the source
text itself: a cache keyed on the text would keep every distinct program alive in
the caller's memory, including the ones refused for being too large. Each entry
is weighed by what it keeps: a compiled program by its source size (what its code
object scales with), a refused one by its violations (their messages and the
objects holding them; the compiler lists at most MAX_VIOLATIONS), and the least
recently used entries are dropped until both bounds hold.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from restricted_exec.language.compiler import CompileOutcome, CompileSettings, source_digest

__all__ = ["CompileCache"]

_Key = tuple[str, CompileSettings, Hashable]
# Bytes one Violation costs besides its message's text: the model, its line and
# column, the str header of its message, its slot in the outcome's tuple.
_VIOLATION_OVERHEAD = 400


def _weight(outcome: CompileOutcome, source_size: int) -> int:
    """Bytes the cache holds for ``outcome`` (``source_size``: its source in UTF-8)."""
    if outcome.code is not None:
        return source_size
    return sum(len(v.message) + _VIOLATION_OVERHEAD for v in outcome.violations)


class CompileCache:
    """Compile outcomes by (source sha256, compile settings).

    Args:
        max_entries: most outcomes kept; 0 disables the cache.
        max_source_bytes: most bytes the kept outcomes may weigh (see the module's
            docstring: source bytes of compiled programs, violations of refused ones).
    """

    def __init__(self, max_entries: int, max_source_bytes: int) -> None:
        if max_entries < 0 or max_source_bytes < 0:
            raise ValueError("cache bounds must be >= 0")
        self._max_entries = max_entries
        self._max_bytes = max_source_bytes
        self._entries: OrderedDict[_Key, tuple[CompileOutcome, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get_or_compile(
        self,
        source: str,
        settings: CompileSettings,
        compile_source: Callable[[str, CompileSettings], CompileOutcome],
        *,
        domain: Hashable = None,
    ) -> CompileOutcome:
        """The cached outcome for this source and settings, compiling it on a miss.

        ``domain`` (the run's trust domain) is part of the key: a hit is faster than a
        compile, and one tenant must not learn from timing which exact source another ran."""
        digest, size = source_digest(source)
        key = (digest, settings, domain)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[0]
        # Compiled outside the lock: two threads may compile the same new source
        # at once (both get equal outcomes), but no caller waits on another's compile.
        outcome = compile_source(source, settings)
        weight = _weight(outcome, size)
        if self._max_entries == 0 or weight > self._max_bytes:
            return outcome
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= previous[1]
            self._entries[key] = (outcome, weight)
            self._bytes += weight
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                _, (_, dropped_weight) = self._entries.popitem(last=False)
                self._bytes -= dropped_weight
        return outcome

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def source_bytes(self) -> int:
        """Total weight of the kept outcomes, in bytes (see the module's docstring)."""
        return self._bytes
