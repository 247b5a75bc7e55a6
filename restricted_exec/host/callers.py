"""Who asked for a run, within its tenant (an API key's id, an end user): recorded in the
audit log beside the tenant.

A context variable, not one more argument on every run method: it is set once where the
caller is known (a service's request, a chat turn) and every run started in that context,
on this thread or through ``run_async``, ``stream`` or a session, is recorded with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from restricted_exec.host.tenants import MAX_TENANT_CHARS

__all__ = ["attribute_context_to", "attributed_to", "current_caller"]

_CALLER: ContextVar[str | None] = ContextVar("restricted_exec_caller", default=None)


@contextlib.contextmanager
def attributed_to(caller: str) -> Iterator[None]:
    """Record the runs started inside this block as asked for by ``caller``.

    Raises:
        TypeError, ValueError: ``caller`` is not a str of 1 to 200 characters.
    """
    token = _CALLER.set(_checked(caller))
    try:
        yield
    finally:
        _CALLER.reset(token)


def attribute_context_to(caller: str) -> None:
    """Attribute the runs started in the rest of the current context to ``caller``: for a
    framework's per-request task, whose context is its own (a block would end before a
    streamed response's runs do). Raises as :func:`attributed_to` does."""
    _CALLER.set(_checked(caller))


def _checked(caller: str) -> str:
    if not isinstance(caller, str):
        raise TypeError(f"caller must be a str, not {type(caller).__name__}")
    if not 0 < len(caller) <= MAX_TENANT_CHARS:
        raise ValueError(f"caller must be 1 to {MAX_TENANT_CHARS} characters, got {len(caller)}")
    return caller


def current_caller() -> str | None:
    """The caller runs started here are attributed to (None: not said)."""
    return _CALLER.get()
