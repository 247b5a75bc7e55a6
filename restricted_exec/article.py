"""A drop-in for the ``execute_python_sandbox`` function of the article this project grew from.

The article ran ``bash -c "ulimit -v ...; python3 -c CODE"`` with a timeout and
returned a dict. Code written against it switches by changing one import::

    from restricted_exec.article import execute_python_sandbox

    outcome = execute_python_sandbox("print(2 + 2)", timeout=3, memory_limit_mb=100)
    # {"success": True, "output": "4", "error": "", "return_code": 0}

(``restricted_exec.compat``, its first name, still imports.) Same keys, same meaning, with
the answers the article's function gives: ``output`` is what the program printed, stripped
of surrounding whitespace (the article returns ``completed_process.stdout.strip()``), and a
timeout has no ``return_code`` (None: the article's ``TimeoutExpired`` path has none).

===================  =========  ============================================  ===========
ending               success    error                                         return_code
===================  =========  ============================================  ===========
ok                   True       ``""``                                        0
exception            False      the traceback (program frames only)           1
syntax / policy      False      ``SyntaxError: ...`` / ``PolicyViolation: ...``  1
memory limit         False      ``MemoryError: ...``                          1
output limit         False      ``OutputLimitExceeded: ...``                  1
timeout              False      ``Execution timed out after N seconds``       None
crashed              False      ``SandboxCrashed: ...``                       -signal (or -1)
rejected (busy)      False      ``RunRejected: ...``                          -1
===================  =========  ============================================  ===========

The program runs in the default process isolation, under the same language rules
as :func:`restricted_exec.run`: unlike the article's recipe it cannot reach files,
the network or the host's environment.
"""

from __future__ import annotations

import signal
from typing import Any

from restricted_exec.policy import Policy
from restricted_exec.result import ExecutionResult

__all__ = ["as_article_dict", "execute_python_sandbox"]

_MINIMUM_MEMORY_MB = 16


def execute_python_sandbox(
    code: str, timeout: float = 3, memory_limit_mb: int = 100
) -> dict[str, Any]:
    """Run ``code`` and report like the article's function.

    Args:
        code: the program.
        timeout: wall-clock seconds.
        memory_limit_mb: megabytes the program may allocate (at least 16; the
            article's ``ulimit -v`` also counted the interpreter itself, this
            limit does not).

    Returns:
        ``{"success": bool, "output": str, "error": str, "return_code": int | None}``.
    """
    # Imported here so that importing this module stays as light as the package.
    from restricted_exec.sandbox import run

    policy = Policy(timeout_s=timeout, memory_mb=max(memory_limit_mb, _MINIMUM_MEMORY_MB))
    return as_article_dict(run(code, policy=policy), timeout=timeout)


def as_article_dict(result: ExecutionResult, *, timeout: float) -> dict[str, Any]:
    """The article's dict for an ExecutionResult."""
    return {
        "success": result.ok,
        "output": result.stdout.strip(),
        "error": _error_text(result, timeout),
        "return_code": _return_code(result),
    }


def _error_text(result: ExecutionResult, timeout: float) -> str:
    if result.status == "ok" or result.error is None:
        return ""
    if result.status == "timeout":
        return f"Execution timed out after {timeout} seconds"
    if result.error.traceback:
        return result.error.traceback
    return f"{result.error.type}: {result.error.message}"


def _return_code(result: ExecutionResult) -> int | None:
    if result.status == "ok":
        return 0
    if result.status == "timeout":
        return None
    if result.status == "rejected":
        return -1
    if result.status == "crashed":
        number = getattr(signal, result.signal or "", None)
        return -int(number) if isinstance(number, signal.Signals) else -1
    return 1
