"""ExecutionResult: JSON round trips, and raise_for_status maps every status."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import get_args

import pytest

import restricted_exec
from restricted_exec import ErrorInfo, ExecutionResult, errors
from restricted_exec.result import Status


@pytest.mark.parametrize(
    "value",
    [
        None,
        1,
        2.5,
        "x",
        [1, "a"],
        {"k": [1, 2]},
        Decimal("1.10"),
        Fraction(2, 3),
        dt.date(2024, 2, 29),
        dt.timedelta(days=2, seconds=3),
        {1: "int key"},
    ],
    ids=[
        "none",
        "int",
        "float",
        "str",
        "list",
        "dict",
        "decimal",
        "fraction",
        "date",
        "timedelta",
        "int-keys",
    ],
)
def test_result_round_trips_through_json(value: object) -> None:
    result = ExecutionResult(status="ok", stdout="hi\n", value=value, duration_ms=1.5)
    again = ExecutionResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert type(again.value) is type(value)


def test_values_computed_in_the_sandbox_round_trip(inline_sandbox: restricted_exec.Sandbox) -> None:
    result = inline_sandbox.run(
        "from decimal import Decimal\n"
        "from fractions import Fraction\n"
        "{'total': Decimal('10.50') * 3, 'share': Fraction(1, 3),\n"
        " 'when': datetime.date(2025, 1, 31)}"
    )
    assert result.ok, result.error
    assert result.value == {
        "total": Decimal("31.50"),
        "share": Fraction(1, 3),
        "when": dt.date(2025, 1, 31),
    }
    assert ExecutionResult.model_validate_json(result.model_dump_json()) == result


_EXPECTED_EXCEPTION = {
    "error": errors.ProgramError,
    "syntax_error": errors.ProgramSyntaxError,
    "policy_violation": errors.PolicyViolationError,
    "timeout": errors.ExecutionTimeout,
    "memory_limit": errors.MemoryLimitExceeded,
    "output_limit": errors.OutputLimitExceeded,
    "crashed": errors.SandboxCrashed,
    "rejected": errors.RunRejected,
}


@pytest.mark.parametrize("status", [s for s in get_args(Status) if s != "ok"])
def test_raise_for_status_raises_the_matching_exception(status: str) -> None:
    result = ExecutionResult(
        status=status,  # type: ignore[arg-type]
        error=ErrorInfo(kind="exception", type="X", message="boom"),
    )
    with pytest.raises(_EXPECTED_EXCEPTION[status]) as caught:
        result.raise_for_status()
    assert caught.value.result is result
    assert "boom" in str(caught.value)
    assert isinstance(caught.value, errors.ExecutionError)


def test_raise_for_status_returns_an_ok_result() -> None:
    result = ExecutionResult(status="ok")
    assert result.raise_for_status() is result
    assert result.ok


def test_ok_is_serialised_for_consumers_of_the_json() -> None:
    assert '"ok":false' in ExecutionResult(status="error").model_dump_json()


def test_a_result_holding_an_int_past_the_digit_limit_can_be_printed() -> None:
    # Red-team round 12: repr() of such an int raises ValueError, so printing or logging the
    # result of an honest program returning 10**5000 raised.
    from fractions import Fraction

    from restricted_exec import ExecutionResult

    big = 10**5000
    result = ExecutionResult(status="ok", value=[big, Fraction(big, 3), {big: 1}, 5])
    shown = repr(result)
    assert "<int of 16,610 bits>" in shown and "Fraction(<int of 16,610 bits>, 3)" in shown
    assert str(result) and f"{result}"
    assert repr(ExecutionResult(status="ok", value=[1, 2])).count("value=[1, 2]") == 1


def _statuses_in_table(markdown: str, heading: str) -> set[str]:
    section = markdown.split(heading, 1)[1].split("\n#", 1)[0]
    return {
        line.split("|")[1].strip().strip("`")
        for line in section.splitlines()
        if line.startswith("| `")
    }


def test_the_readme_and_the_guide_list_exactly_the_statuses_a_result_may_have() -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    guide = (root / "docs/guide/results-and-errors.md").read_text(encoding="utf-8")
    assert _statuses_in_table(readme, "### Statuses") == set(get_args(Status))
    assert _statuses_in_table(guide, "## Statuses") == set(get_args(Status))


@pytest.mark.parametrize("isolation", ["inline", "process"])
def test_duration_ms_is_a_set_field_of_every_result(isolation: str) -> None:
    # Stamped once by the Sandbox; it must count as set, like any field passed at creation, or
    # model_dump(exclude_unset=True) would drop it.
    policy = restricted_exec.Policy(isolation=isolation, deterministic=True)  # type: ignore[arg-type]
    with restricted_exec.Sandbox(policy, prefork=1) as sandbox:
        results = [sandbox.run("1 + 1"), sandbox.run("1 + 1"), sandbox.run("1 +")]
    assert [r.cache_hit for r in results] == [False, True, False]
    for result in results:
        assert "duration_ms" in result.model_fields_set
        assert result.model_dump(exclude_unset=True)["duration_ms"] == result.duration_ms > 0
