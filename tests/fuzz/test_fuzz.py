"""Fuzz the compile+run path: hostile generated programs never escape, never harm the host.

Three targets: a grammar of dangerous constructs (``strategies.programs``), the escape suite's
snippets mutated (``strategies.mutated_attacks``), and hypothesmith's grammar-derived programs.
Every program runs through the public API (process mode; a quarter of those that ended quickly
also run inline, the language layer alone, in this very process). For every run:

- the call returns an ExecutionResult (it never raises), with a documented status;
- no output, value, error or traceback contains the host's canaries;
- no file appeared in /tmp or the host's cwd (except the runner's own private directory);
- the host is intact: environment, builtins, every catalogue module's namespace,
  ``json.JSONEncoder.item_separator``, ``calendar.HTMLCalendar.cssclasses``, the decimal
  context, the global ``random`` state, a sentinel module attribute.

Smoke (default run): ~150 examples in total. Long run (documented in docs/security/evidence.md)::

    RX_FUZZ_EXAMPLES=20000 RX_FUZZ_REPORT=fuzz-report.json python -m pytest -m slow tests/fuzz
"""

from __future__ import annotations

import collections
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restricted_exec import ExecutionResult, Policy, Sandbox

from .hostguard import STATUSES, HostGuard, guarded_sandbox, host_state
from .strategies import hypothesmith_programs, mutated_attacks, programs

POLICY = Policy(timeout_s=0.5, memory_mb=64, output_bytes=10_000)
LONG_EXAMPLES = int(os.environ.get("RX_FUZZ_EXAMPLES", "2000"))

STATS: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
NOTABLE: list[dict[str, Any]] = []  # crashed / rejected endings, with their source
PROGRAMS = [0]


STARTED = time.monotonic()


def write_report(final: bool = False) -> None:
    """Write the statistics to $RX_FUZZ_REPORT (every 500 programs, and at the end)."""
    report = os.environ.get("RX_FUZZ_REPORT")
    if not report:
        return
    with open(report, "w") as out:
        json.dump(
            {
                "final": final,
                "seconds": round(time.monotonic() - STARTED, 1),
                "programs": sum(
                    c[k] for c in STATS.values() for k in c if k.startswith("process:")
                ),
                "stats": {target: dict(counter) for target, counter in STATS.items()},
                "notable": NOTABLE[:200],
            },
            out,
            indent=2,
        )


@pytest.fixture(scope="module")
def host() -> Iterator[tuple[HostGuard, Sandbox]]:
    with guarded_sandbox(POLICY, max_concurrency=2) as (guard, sandbox):
        yield guard, sandbox
    write_report(final=True)


def _run(sandbox: Sandbox, source: str, policy: Policy) -> ExecutionResult:
    try:
        result = sandbox.run(source, policy=policy)
    except Exception as problem:  # the API must never raise for anything a program does
        pytest.fail(f"run() raised {type(problem).__name__}: {problem}\n--- program:\n{source}")
    assert isinstance(result, ExecutionResult)
    return result


def check_program(host: tuple[HostGuard, Sandbox], target: str, source: str) -> None:
    guard, sandbox = host
    before = host_state()
    tmp_before = guard.tmp_entries()
    result = _run(sandbox, source, POLICY)
    # Process mode only: generated attack programs never run in this process (inline mode
    # would run them as the test runner; the language layer is proven by their refusals).
    runs = [("process", result)]
    for mode, outcome in runs:
        STATS[target][f"{mode}:{outcome.status}"] += 1
        assert outcome.status in STATUSES, f"unclassified status {outcome.status!r}"
        guard.assert_no_leak(outcome)
        if outcome.status in ("crashed", "rejected"):
            NOTABLE.append(
                {
                    "target": target,
                    "mode": mode,
                    "status": outcome.status,
                    "signal": outcome.signal,
                    "message": outcome.error.message if outcome.error else None,
                    "source": source[:2000],
                }
            )
    guard.assert_host_intact([sandbox], before=before, tmp_before=tmp_before)
    PROGRAMS[0] += 1
    if PROGRAMS[0] % 500 == 0:
        write_report()


COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}

HYPOTHESMITH = hypothesmith_programs()
needs_hypothesmith = pytest.mark.skipif(HYPOTHESMITH is None, reason="hypothesmith not installed")


# -- smoke (default run): ~150 examples -------------------------------------------------------


@settings(max_examples=60, **COMMON)
@given(source=programs())
def test_generated_dangerous_programs_never_escape(host: Any, source: str) -> None:
    check_program(host, "grammar", source)


@settings(max_examples=70, **COMMON)
@given(source=mutated_attacks())
def test_mutated_escape_suite_attacks_never_escape(host: Any, source: str) -> None:
    check_program(host, "mutation", source)


@needs_hypothesmith
@settings(max_examples=20, **COMMON)
@given(source=HYPOTHESMITH if HYPOTHESMITH is not None else st.just(""))
def test_hypothesmith_programs_never_escape(host: Any, source: str) -> None:
    check_program(host, "hypothesmith", source)


def test_the_attack_corpus_is_the_escape_suite() -> None:
    from .corpus import attack_snippets

    assert len(attack_snippets()) >= 100


# -- long run: python -m pytest -m slow tests/fuzz (RX_FUZZ_EXAMPLES per target) ------------


@pytest.mark.slow
@settings(max_examples=LONG_EXAMPLES, **COMMON)
@given(source=programs())
def test_long_generated_dangerous_programs_never_escape(host: Any, source: str) -> None:
    check_program(host, "grammar", source)


@pytest.mark.slow
@settings(max_examples=LONG_EXAMPLES, **COMMON)
@given(source=mutated_attacks())
def test_long_mutated_escape_suite_attacks_never_escape(host: Any, source: str) -> None:
    check_program(host, "mutation", source)


@pytest.mark.slow
@needs_hypothesmith
@settings(max_examples=max(1, LONG_EXAMPLES // 4), **COMMON)
@given(source=HYPOTHESMITH if HYPOTHESMITH is not None else st.just(""))
def test_long_hypothesmith_programs_never_escape(host: Any, source: str) -> None:
    check_program(host, "hypothesmith", source)
