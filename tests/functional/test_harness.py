"""The harness is not tautological: it notices when restricted_exec differs from CPython."""

from __future__ import annotations

import decimal
from typing import Any

import pytest


def test_reference_is_repl_like(harness: Any) -> None:
    ref = harness.run_cpython("x = 6\nprint('hi')\nx * 7")
    assert (ref.stdout, ref.has_value, ref.value, ref.exc_type) == ("hi\n", True, 42, None)
    assert harness.run_cpython("x = 1").has_value is False


def test_reference_records_exception_and_innermost_line(harness: Any) -> None:
    ref = harness.run_cpython("print('a')\ndef f():\n    return {}['k']\nf()")
    assert (ref.stdout, ref.exc_type, ref.exc_message, ref.exc_line) == (
        "a\n",
        "KeyError",
        "'k'",
        3,
    )


def test_reference_preloads_like_restricted_exec(harness: Any) -> None:
    ref = harness.run_cpython("print(__name__, math.pi > 3, json.dumps(1), datetime.MINYEAR)")
    assert ref.stdout == "__main__ True 1 1\n"


def test_reference_runs_in_a_fresh_decimal_context(harness: Any) -> None:
    harness.run_cpython("from decimal import getcontext\ngetcontext().prec = 3")
    assert decimal.getcontext().prec == 28
    ref = harness.run_cpython("from decimal import Decimal\nprint(Decimal(1) / 7)")
    assert ref.stdout == "0.1428571428571428571428571429\n"


def test_normalize_keeps_types_apart(harness: Any) -> None:
    n = harness.normalize
    assert n(1) != n(True) != n(1.0)
    assert n(decimal.Decimal("1.10")) != n(decimal.Decimal("1.1"))
    assert n((1, 2)) == n([1, 2])
    assert n({3, 1, 2}) == n([1, 2, 3])
    assert n(float("nan")) == n(float("nan"))
    with pytest.raises(AssertionError, match="not plain data"):
        n(object())


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ("print(open)", "CPython ran it"),  # denied builtin: policy_violation
        ("class A: pass\nprint(type(A))", "CPython ran it"),  # metaclass denied at runtime
        ("print(str.format('{0[0]}', [7]))", "CPython ran it"),  # index traversal refused
    ],
)
def test_harness_notices_differences(harness: Any, source: str, complaint: str) -> None:
    with pytest.raises(AssertionError, match=complaint):
        harness.assert_matches_cpython(source, "inline")


def test_harness_accepts_matching_error(harness: Any) -> None:
    result = harness.assert_matches_cpython("print('x')\n1 / 0", "inline")
    assert result.status == "error"
    assert result.error.type == "ZeroDivisionError"
