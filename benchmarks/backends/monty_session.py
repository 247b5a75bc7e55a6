"""pydantic-monty with sessions reused across runs.

The fastest way to use monty, but a session is a REPL: globals leak from run to run. The
adapter keeps at most one session per pool worker (a worker per CPU) in a free list; a
caller takes any idle session, or waits for one. A session that hit a time or memory limit
is replaced, as monty's docs ask.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Any

from benchmarks.backends import _monty as common
from benchmarks.core import Outcome

NAME = "pydantic-monty reused session"
KIND = "worker pool"
LIMITS = frozenset({"time", "memory"})
CONCURRENT = True
NOTES = "sessions reused across runs (REPL semantics: state leaks between runs)"

_lock = threading.Lock()
_idle: dict[tuple[float, int], queue.Queue[Any]] = {}
_created: dict[tuple[float, int], int] = {}


def available() -> str | None:
    return common.available(__name__)


def _acquire(key: tuple[float, int]) -> Any:
    with _lock:
        idle = _idle.setdefault(key, queue.Queue())
        try:
            return idle.get_nowait()
        except queue.Empty:
            pass
        # Sessions of every key share the pool's workers: never hold more than it has.
        create = sum(_created.values()) < common.pool_size()
        if create:
            _created[key] = _created.get(key, 0) + 1
    if create:
        session = common.pool(__name__).checkout(limits=common.limits(*key))
        session.__enter__()
        return session
    if _created.get(key, 0) == 0:  # every worker holds a session of another key
        _evict_other(key)
        return _acquire(key)
    return idle.get()


def _evict_other(key: tuple[float, int]) -> None:
    with _lock:
        for other, idle in _idle.items():
            if other == key:
                continue
            with contextlib.suppress(queue.Empty):
                session = idle.get_nowait()
                _created[other] -= 1
                break
        else:
            return
    _close_session(session)


def _close_session(session: Any) -> None:
    with contextlib.suppress(Exception):
        session.__exit__(None, None, None)


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    key = (timeout_s, memory_mb)
    session = _acquire(key)
    try:
        outcome, sound = common.feed(session, source)
    except BaseException:
        sound = False
        raise
    finally:
        if sound:
            _idle[key].put(session)
        else:
            _close_session(session)
            with _lock:
                _created[key] -= 1
    return outcome


def close() -> None:
    with _lock:
        sessions = [s for idle in _idle.values() for s in list(idle.queue)]
        _idle.clear()
        _created.clear()
    for session in sessions:
        _close_session(session)
    common.close(__name__)
