"""A failed run's traceback ends with the line CPython's would: a standard-library exception
is named with its module (``decimal.InvalidOperation``), a builtin or a program's own is not."""

from __future__ import annotations

import traceback

import pytest

from restricted_exec import Policy, Sandbox

PROGRAMS = {
    "decimal": "import decimal\ndecimal.Decimal('twelve')",
    "json": "import json\njson.loads('{')",
    "statistics": "import statistics\nstatistics.mean([])",
    "re": "import re\nre.compile('(')",
    "calendar": "import calendar\ncalendar.monthrange(2024, 13)",
    "builtin": "int('twelve')",
    "own_class": "class Overdrawn(Exception):\n    pass\nraise Overdrawn('by 5')",
    "nested_class": "class Account:\n    class Overdrawn(Exception):\n        pass\n"
    "raise Account.Overdrawn('by 5')",
    "class_in_a_function": "def make():\n    class Late(Exception):\n        pass\n"
    "    return Late\nraise make()('x')",
}


def test_a_guards_refusal_is_named_without_restricted_execs_modules() -> None:
    with Sandbox(Policy()) as sandbox:
        result = sandbox.run("getattr(1, '__cl' + 'ass__')")
    assert result.error is not None
    assert result.error.traceback.splitlines()[-1].startswith("AccessDenied: ")


def cpython_last_line(source: str) -> str:
    try:
        exec(source, {})
    except Exception as error:
        return traceback.format_exception_only(error)[-1].rstrip("\n")
    raise AssertionError("the program did not raise")


@pytest.mark.parametrize("mode", ["process", "inline"])
@pytest.mark.parametrize("source", PROGRAMS.values(), ids=PROGRAMS.keys())
def test_the_last_line_is_cpythons(source: str, mode: str) -> None:
    with Sandbox(Policy(isolation=mode)) as sandbox:  # type: ignore[arg-type]
        result = sandbox.run(source)
    assert result.status == "error" and result.error is not None
    assert result.error.traceback.splitlines()[-1] == cpython_last_line(source)
