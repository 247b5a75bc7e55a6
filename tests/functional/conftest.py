"""Functional harness: run a snippet through restricted_exec and through plain CPython.

The expected behaviour always comes from CPython at test time: the same source
is ``exec``'d in a fresh globals dict that preloads ``math``, ``datetime`` and
``json`` the way restricted_exec does, with stdout captured. A snippet whose
last statement is an expression is run REPL-style on the CPython side (the rest
is exec'd, then the expression is eval'd) so its value can be compared with
``ExecutionResult.value``.

Compared, byte for byte:
- stdout (including whatever was printed before an uncaught exception);
- CPython raised -> status "error", ``error.type == type(exc).__name__``,
  ``error.message == str(exc)`` and ``error.line`` is the innermost program line;
- CPython succeeded -> status "ok" and, if the snippet ends with an
  expression, the value (tuples/sets arrive as lists, as documented).

Isolation modes: ``ISOLATION_MODES`` lists every mode the corpus should run in;
``available_isolation_modes()`` keeps the ones that actually work here (a probe
run that reports the mode it ran in). Adding a mode is a one-line change.
"""

from __future__ import annotations

import ast
import contextlib
import datetime
import decimal
import fractions
import io
import json
import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

import restricted_exec
from restricted_exec import ExecutionResult, Policy

ISOLATION_MODES: list[str] = ["inline", "process"]

SNIPPET_FILENAME = "<snippet>"


@cache
def available_isolation_modes() -> tuple[str, ...]:
    """The modes of ISOLATION_MODES that run a trivial program here, in that mode."""
    modes = []
    for mode in ISOLATION_MODES:
        try:
            result = restricted_exec.run("print(1)", policy=Policy(isolation=mode))
        except restricted_exec.RestrictedExecError:
            continue
        if result.status == "ok" and result.stdout == "1\n" and result.isolation == mode:
            modes.append(mode)
    return tuple(modes)


@dataclass(frozen=True)
class Reference:
    """What plain CPython did with a snippet."""

    stdout: str
    exc_type: str | None = None
    exc_message: str | None = None
    exc_line: int | None = None
    has_value: bool = False
    value: Any = None


def cpython_globals() -> dict[str, Any]:
    return {"__name__": "__main__", "math": math, "datetime": datetime, "json": json}


def run_cpython(source: str) -> Reference:
    """exec ``source`` in fresh globals (REPL-style for a final expression)."""
    tree = ast.parse(source)
    final: ast.expr | None = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        final = tree.body.pop().value
    body = compile(tree, SNIPPET_FILENAME, "exec")
    tail = compile(ast.Expression(final), SNIPPET_FILENAME, "eval") if final else None
    namespace = cpython_globals()
    buffer = io.StringIO()
    value: Any = None
    try:
        # A fresh decimal context, as restricted_exec gives every run: a snippet
        # that sets getcontext().prec must not leak into the next reference run.
        with contextlib.redirect_stdout(buffer), decimal.localcontext(decimal.Context()):
            exec(body, namespace)
            if tail is not None:
                value = eval(tail, namespace)
    except Exception as exc:
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__) if f.filename == SNIPPET_FILENAME
        ]
        return Reference(
            stdout=buffer.getvalue(),
            exc_type=type(exc).__name__,
            exc_message=str(exc),
            exc_line=frames[-1].lineno if frames else None,
        )
    return Reference(stdout=buffer.getvalue(), has_value=final is not None, value=value)


_SCALARS = (
    type(None),
    bool,
    int,
    float,
    str,
    decimal.Decimal,
    fractions.Fraction,
    datetime.datetime,
    datetime.date,
    datetime.time,
    datetime.timedelta,
)


def normalize(value: Any) -> Any:
    """A comparable form of a value as it crosses the boundary.

    Scalars become (type name, repr) so that 1 != True != 1.0 and
    Decimal("1.10") != Decimal("1.1"); tuples become lists and sets sorted
    lists (by value where the items allow it), as ExecutionResult documents.
    """
    if type(value) is int:
        return ("int", value)  # repr() refuses ints over 4300 digits
    if type(value) in _SCALARS:
        return (type(value).__name__, repr(value))
    if type(value) in (list, tuple):
        return [normalize(item) for item in value]
    if type(value) in (set, frozenset):
        try:
            items = sorted(value)
        except TypeError:
            items = sorted(value, key=repr)
        return [normalize(item) for item in items]
    if type(value) is dict:
        return {repr(normalize(k)): normalize(v) for k, v in value.items()}
    raise AssertionError(
        f"snippet ends with a {type(value).__name__} value, which is not plain data; "
        "end the snippet with a plain-data expression or a statement"
    )


def _describe(result: ExecutionResult, expected: Reference) -> str:
    def safe_repr(obj: object) -> str:
        try:
            return repr(obj)
        except ValueError as exc:  # e.g. an int over the 4300-digit str() limit
            return f"<unprintable {type(obj).__name__}: {exc}>"

    return (
        f"\n--- restricted_exec result ---\n{safe_repr(result)}"
        f"\n--- CPython ---\n{safe_repr(expected)}"
    )


def assert_matches_cpython(source: str, isolation: str) -> ExecutionResult:
    """Run ``source`` both ways and assert restricted_exec behaved like CPython."""
    expected = run_cpython(source)
    policy = Policy(isolation=isolation)
    result = restricted_exec.run(source, policy=policy)
    printed = expected.stdout.encode("utf-8", "surrogatepass")
    if len(printed) > policy.output_bytes:
        # CPython printed more than the policy lets a program print: the run must stop there,
        # keeping exactly the first output_bytes (a character cut in two is dropped).
        assert result.status == "output_limit", "output over the limit" + _describe(
            result, expected
        )
        assert result.stdout_truncated
        head = printed[: policy.output_bytes].decode("utf-8", "ignore")
        assert result.stdout == head, "stdout before the limit differs" + _describe(
            result, expected
        )
        return result
    if expected.exc_type is None:
        assert result.status == "ok", "CPython ran it, restricted_exec did not" + _describe(
            result, expected
        )
        assert result.stdout == expected.stdout, "stdout differs" + _describe(result, expected)
        if expected.has_value:
            assert normalize(result.value) == normalize(expected.value), (
                "value differs" + _describe(result, expected)
            )
    elif expected.exc_type == "MemoryError" and result.status == "memory_limit":
        # A failed allocation in a child is its memory limit (RLIMIT_AS) as far as the child can
        # tell; only inline runs, which have no limit, report CPython's MemoryError itself.
        assert isolation == "process", "an inline run has no memory limit" + _describe(
            result, expected
        )
    else:
        assert result.status == "error", "CPython raised, status is not 'error'" + _describe(
            result, expected
        )
        assert result.error is not None
        assert result.stdout == expected.stdout, "stdout before the error differs" + _describe(
            result, expected
        )
        assert result.error.type == expected.exc_type, "exception type differs" + _describe(
            result, expected
        )
        assert result.error.message == expected.exc_message, "message differs" + _describe(
            result, expected
        )
        assert result.error.line == expected.exc_line, "error line differs" + _describe(
            result, expected
        )
    return result


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cpython_difference(reason, modes=()): a known restricted_exec bug; strict xfail "
        "in the listed isolation modes (all if empty)",
    )


@pytest.fixture(scope="session", params=available_isolation_modes())
def isolation(request: pytest.FixtureRequest) -> str:
    """Each isolation mode that works on this machine."""
    return str(request.param)


@pytest.fixture(scope="session")
def check(isolation: str) -> Callable[[str], ExecutionResult]:
    """``check(source)``: assert restricted_exec runs ``source`` exactly like CPython."""

    def _check(source: str) -> ExecutionResult:
        return assert_matches_cpython(source, isolation)

    return _check


@pytest.fixture
def known_difference(request: pytest.FixtureRequest, isolation: str) -> None:
    """Turn a ``cpython_difference`` marker into a strict xfail for this isolation mode."""
    marker = request.node.get_closest_marker("cpython_difference")
    if marker is None:
        return
    modes = marker.kwargs.get("modes") or ()
    if not modes or isolation in modes:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"BUG: {marker.args[0]}"))


@pytest.fixture(scope="session")
def harness() -> Any:
    """The harness functions themselves, for tests of the harness."""

    class Harness:
        run_cpython = staticmethod(run_cpython)
        normalize = staticmethod(normalize)
        assert_matches_cpython = staticmethod(assert_matches_cpython)

    return Harness
