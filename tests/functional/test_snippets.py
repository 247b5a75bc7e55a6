"""Every snippet of the corpus runs under restricted_exec exactly as in CPython."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
import snippets_builtins
import snippets_catalogue_methods
import snippets_class_idioms
import snippets_classes
import snippets_control_flow
import snippets_dates
import snippets_dunders
import snippets_error_locations
import snippets_errors
import snippets_finance
import snippets_language
import snippets_modules_numeric
import snippets_modules_stdlib
import snippets_modules_uncommon
import snippets_output
import snippets_stats_units
import snippets_text
import snippets_values
from snippets_base import domain

import restricted_exec
from restricted_exec import ExecutionResult, Policy

CORPUS = [
    *domain("output", snippets_output.CASES),
    *domain("classes", snippets_classes.CASES),
    *domain("class_idioms", snippets_class_idioms.CASES),
    *domain("catalogue_methods", snippets_catalogue_methods.CASES),
    *domain("dunders", snippets_dunders.CASES),
    *domain("language", snippets_language.CASES),
    *domain("control_flow", snippets_control_flow.CASES),
    *domain("builtins", snippets_builtins.CASES),
    *domain("modules_numeric", snippets_modules_numeric.CASES),
    *domain("modules_stdlib", snippets_modules_stdlib.CASES),
    *domain("modules_uncommon", snippets_modules_uncommon.CASES),
    *domain("finance", snippets_finance.CASES),
    *domain("dates", snippets_dates.CASES),
    *domain("stats_units", snippets_stats_units.CASES),
    *domain("text", snippets_text.CASES),
    *domain("values", snippets_values.CASES),
    *domain("errors", snippets_errors.CASES),
    *domain("error_locations", snippets_error_locations.CASES),
]


@pytest.mark.parametrize("source", CORPUS)
@pytest.mark.usefixtures("known_difference")
def test_snippet_matches_cpython(source: str, check: Callable[[str], ExecutionResult]) -> None:
    check(source)


def test_corpus_is_large_and_ids_are_unique() -> None:
    ids = [param.id for param in CORPUS]
    assert len(ids) >= 150
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("source", snippets_catalogue_methods.CASES)
def test_catalogue_class_snippets_match_a_cpython_that_never_loaded_the_sandbox(
    source: str,
) -> None:
    # The reference of the corpus comes from this process, where the catalogue's classes may
    # already carry their checked functions (an inline run prepares them here): these snippets
    # are compared with a fresh interpreter as well, so that a difference the wrappers made
    # would show. Each snippet prints its errors, so stdout is the whole answer.
    fresh = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=60, check=True
    )
    result = restricted_exec.run(source, policy=Policy(isolation="process"))
    assert (result.status, result.stdout) == ("ok", fresh.stdout), result.error
