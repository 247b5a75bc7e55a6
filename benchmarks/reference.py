"""CPython's own answer for a program: the expectation every backend is checked against."""

from __future__ import annotations

import builtins
import decimal
from typing import Any

from benchmarks.capture import captured_stdout
from benchmarks.core import Outcome


def cpython_outcome(source: str) -> Outcome:
    """Exec ``source`` in fresh globals, as a script, and report stdout and any exception."""
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    decimal.setcontext(decimal.Context())  # programs that change the context must not leak
    with captured_stdout() as buffer:
        try:
            exec(compile(source, "<program>", "exec"), namespace)
        except Exception as error:
            return Outcome.failure(buffer.getvalue(), type(error).__name__)
    return Outcome.success(buffer.getvalue())


def matches(expected: Outcome, got: Outcome) -> bool:
    """Same stdout, and the same ending (success, or the same exception type)."""
    if got.stdout != expected.stdout or got.ok != expected.ok:
        return False
    return expected.ok or got.error == expected.error
