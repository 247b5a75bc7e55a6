"""Helpers shared by tests/security: run a hostile program and check that nothing leaked.

Every test plants nothing itself: conftest.py puts a random canary in
``os.environ["RX_CANARY"]`` before any program runs, and :func:`assert_no_leak`
checks that neither the canary nor the repr of a forbidden object appears in
anything the run hands back.
"""

from __future__ import annotations

import json
from typing import Any

import restricted_exec
from restricted_exec import ExecutionResult, Policy

CANARY = "canary-unset"

ISOLATED = Policy(isolation="process")

LEAK_MARKERS = (
    "<module 'os'",
    "<module 'sys'",
    "<module 'posix'",
    "<module 'builtins'",
    "<module 'subprocess'",
    "<module 'importlib'",
    "<module 'codecs'",
    "<frame at",
    "<code object",
    "<traceback object",
    "environ({",
    "<built-in function system>",
)

SAFE_ERROR_TYPES = frozenset(
    {
        "AccessDenied",
        "AttributeError",
        "TypeError",
        "ImportError",
        "ModuleNotFoundError",
        "NameError",
        "ValueError",
    }
)


def run(code: str, **policy: Any) -> ExecutionResult:
    """Run ``code`` in process mode under the default policy.

    Hostile programs never run inline here: inline mode would run them as the test runner.
    The language layer is still what is proven: the OS layers answer with errors of their own
    (PermissionError, a killed child), never with the guards' refusals these tests expect.
    """
    chosen = ISOLATED.replace(**policy) if policy else ISOLATED
    return restricted_exec.run(code, policy=chosen)


def _texts(result: ExecutionResult) -> list[str]:
    texts = [result.stdout, json.dumps(result.value, default=repr)]
    if result.error is not None:
        texts += [result.error.message, result.error.traceback or ""]
        texts += [v.message for v in result.error.violations]
    return texts


def assert_no_leak(result: ExecutionResult) -> None:
    """Neither the canary nor the repr of a forbidden object appears anywhere."""
    for text in _texts(result):
        assert CANARY not in text, f"canary leaked: {text[:500]!r}"
        for marker in LEAK_MARKERS:
            assert marker not in text, f"{marker} leaked: {text[:500]!r}"


def assert_refused(
    result: ExecutionResult,
    *,
    match: str | None = None,
    types: frozenset[str] = SAFE_ERROR_TYPES,
) -> None:
    """The attempt was refused (policy violation) or failed safely, and leaked nothing.

    Args:
        result: the run's result.
        match: a fragment the refusal's message must contain (case-insensitive).
        types: exception type names that count as failing safely.
    """
    assert_no_leak(result)
    assert result.status in ("policy_violation", "error"), (
        f"not refused: status={result.status} stdout={result.stdout!r} value={result.value!r}"
    )
    assert result.error is not None
    if result.status == "error":
        assert result.error.type in types, f"{result.error.type}: {result.error.message}"
    assert result.error.message.strip(), "a refusal must say why"
    if match is not None:
        assert match.lower() in result.error.message.lower(), result.error.message


def assert_policy_violation(result: ExecutionResult, match: str | None = None) -> None:
    """Refused at compile time: nothing ran."""
    assert_refused(result, match=match)
    assert result.status == "policy_violation", (result.status, result.error)
    assert result.stdout == ""


def assert_ok(result: ExecutionResult) -> ExecutionResult:
    assert_no_leak(result)
    assert result.status == "ok", result.error
    return result
