"""How a functional snippet is written down: ``case(id, source)`` -> a pytest param.

A snippet is data: an id that says what it exercises and the source a model
might write. ``bug=`` marks a snippet on which restricted_exec currently
differs from CPython; the test turns it into a strict xfail (in every isolation
mode, or only in ``bug_modes``), so the marker must go once the bug is fixed.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any

import pytest


def case(
    case_id: str, source: str, *, bug: str | None = None, bug_modes: Iterable[str] = ()
) -> Any:
    marks = [pytest.mark.cpython_difference(bug, modes=tuple(bug_modes))] if bug else []
    return pytest.param(textwrap.dedent(source).lstrip("\n"), id=case_id, marks=marks)


def domain(name: str, cases: list[Any]) -> list[Any]:
    """Prefix each id with its domain: ``finance/npv``."""
    return [
        pytest.param(*param.values, id=f"{name}/{param.id}", marks=param.marks) for param in cases
    ]
