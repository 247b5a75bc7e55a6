"""How a functional snippet is written down: ``case(id, source)`` -> a pytest param.

A snippet is data: an id that says what it exercises and the source a model
might write. ``bug=`` marks a snippet on which restricted_exec currently
differs from CPython (strict xfail, so the marker must go once it is fixed).
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest


def case(case_id: str, source: str, *, bug: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=f"BUG: {bug}")] if bug else []
    return pytest.param(textwrap.dedent(source).lstrip("\n"), id=case_id, marks=marks)


def domain(name: str, cases: list[Any]) -> list[Any]:
    """Prefix each id with its domain: ``finance/npv``."""
    return [
        pytest.param(*param.values, id=f"{name}/{param.id}", marks=param.marks)
        for param in cases
    ]
