"""Shared plumbing of the two pydantic-monty adapters (each adapter has its own pool)."""

from __future__ import annotations

import os
import threading
from typing import Any

from benchmarks.core import Outcome

_lock = threading.Lock()
_pools: dict[str, Any] = {}


def pool_size() -> int:
    """Monty's default: one worker per CPU."""
    return os.cpu_count() or 1


def available(owner: str) -> str | None:
    """None if ``owner``'s pool starts and runs ``1 + 1``, else why not."""
    try:
        import pydantic_monty  # noqa: F401
    except ImportError:
        return "pydantic-monty is not installed (pip install pydantic-monty)"
    try:
        with pool(owner).checkout() as session:
            session.feed_run("1 + 1")
    except Exception as problem:
        return f"pydantic-monty pool failed to start: {type(problem).__name__}: {problem}"
    return None


def pool(owner: str) -> Any:
    """The pool of one adapter: default size (a worker per CPU), two kept warm."""
    with _lock:
        current = _pools.get(owner)
        if current is None:
            import pydantic_monty

            size = pool_size()
            current = pydantic_monty.Monty(min_processes=min(2, size), max_processes=size)
            current.__enter__()
            _pools[owner] = current
        return current


def close(owner: str) -> None:
    with _lock:
        current = _pools.pop(owner, None)
    if current is not None:
        current.__exit__(None, None, None)


def limits(timeout_s: float, memory_mb: int) -> dict[str, Any]:
    return {"max_feed_duration_secs": timeout_s, "max_memory": memory_mb * 1024 * 1024}


def feed(session: Any, source: str) -> tuple[Outcome, bool]:
    """Run ``source`` in ``session``; returns the outcome and whether the session is still sound."""
    import pydantic_monty

    collector = pydantic_monty.CollectString()
    try:
        session.feed_run(source, print_callback=collector)
    except pydantic_monty.MontyRuntimeError as error:
        name = type(error.exception()).__name__
        # After a time or memory limit the session's heap carries no guarantees: drop it.
        return Outcome.failure(collector.output, name), name not in ("TimeoutError", "MemoryError")
    except pydantic_monty.MontySyntaxError as error:
        return Outcome.failure(collector.output, f"MontySyntaxError: {error}", "unsupported"), True
    except pydantic_monty.MontyCrashedError as error:
        kind = "timeout" if error.timed_out else "crash"
        return Outcome.failure(collector.output, f"MontyCrashedError: {error}", kind), False
    except pydantic_monty.MontyError as error:
        return Outcome.failure(collector.output, f"{type(error).__name__}: {error}", "crash"), False
    return Outcome.success(collector.output), True
