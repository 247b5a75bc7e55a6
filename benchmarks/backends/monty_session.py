"""pydantic-monty with one session reused across runs (one per caller thread).

Fastest way to use monty, but runs share globals (a REPL): state leaks from run to run.
A session that hit a time or memory limit is replaced, as monty's docs ask.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from benchmarks.backends import _monty as common
from benchmarks.core import Outcome

NAME = "pydantic-monty reused session"
KIND = "worker pool"
LIMITS = frozenset({"time", "memory"})
CONCURRENT = True
NOTES = "one session per caller thread, reused: runs share state (REPL semantics)"

_local = threading.local()


def available() -> str | None:
    return common.available()


def _session(timeout_s: float, memory_mb: int) -> Any:
    key = (timeout_s, memory_mb)
    sessions: dict[tuple[float, int], Any] | None = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    session = sessions.get(key)
    if session is None:
        session = common.pool().checkout(limits=common.limits(timeout_s, memory_mb))
        session.__enter__()
        sessions[key] = session
    return session


def _drop(timeout_s: float, memory_mb: int) -> None:
    sessions: dict[tuple[float, int], Any] = getattr(_local, "sessions", {})
    session = sessions.pop((timeout_s, memory_mb), None)
    if session is not None:
        with contextlib.suppress(Exception):
            session.__exit__(None, None, None)


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    outcome, sound = common.feed(_session(timeout_s, memory_mb), source)
    if not sound:
        _drop(timeout_s, memory_mb)
    return outcome


def close() -> None:
    # Sessions of other threads are returned when their threads' sessions are collected;
    # closing the pool ends them all.
    common.close()
