"""The benchmark harness's correctness part, for CI: restricted_exec must give CPython's answer.

Runs every workload of ``benchmarks/`` through the quick-mode measurement loop for the four
restricted_exec backends and checks every run against CPython (stdout, and the exception type
on the error path; a timeout or memory-limit ending on those workloads). Timing is measured but
never asserted. Peers only need to produce a row without crashing the harness, and are skipped
when not installed. Process-mode backends are skipped where process isolation is unavailable.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # ``benchmarks`` is not installed

from benchmarks import harness
from benchmarks.backends import (
    BACKEND_MODULES,
    RESTRICTED_EXEC_MODULES,
    Backend,
    load,
)
from benchmarks.reference import cpython_outcome
from benchmarks.workloads import BY_NAME, WORKLOADS, Workload

PEERS = tuple(key for key in BACKEND_MODULES if key not in RESTRICTED_EXEC_MODULES)

_loaded: dict[str, Backend] = {}


def _backend(key: str) -> Backend:
    if key not in _loaded:
        _loaded[key] = load(key)
    backend = _loaded[key]
    if backend.unavailable:
        pytest.skip(f"{key}: {backend.unavailable}")
    return backend


@pytest.fixture(scope="module", autouse=True)
def _close_backends() -> object:
    yield
    for backend in _loaded.values():
        backend.close()


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.name)
@pytest.mark.parametrize("key", RESTRICTED_EXEC_MODULES)
def test_restricted_exec_gives_cpythons_answer(key: str, workload: Workload) -> None:
    backend = _backend(key)
    cells = harness.measure_workload(workload, [backend], harness.Settings.quick_mode())
    cell = cells[key]
    if workload.kind == "memory" and "memory" not in backend.limits:
        assert cell.status == "n/a"  # inline mode cannot limit memory, and says so
        return
    assert cell.status == "ok", cell.reason
    assert cell.samples_ms, "no run was measured"


@pytest.mark.parametrize("key", PEERS)
def test_peer_gets_a_row_without_crashing_the_harness(key: str) -> None:
    backend = _backend(key)
    workload = BY_NAME["compound_interest"]
    cells = harness.measure_workload(workload, [backend], harness.Settings.quick_mode())
    assert cells[key].status in ("ok", "wrong", "failed", "n/a")


def test_reference_is_cpython() -> None:
    outcome = cpython_outcome(BY_NAME["compound_interest"].source)
    assert outcome.ok
    assert outcome.stdout == "五年后总额约为: 198922.73 元\n"
    error = cpython_outcome(BY_NAME["error_path"].source)
    assert (error.ok, error.error, error.stdout) == (
        False,
        "ZeroDivisionError",
        "average of 3 prices\n",
    )


def test_a_wrong_answer_marks_the_cell() -> None:
    from benchmarks.core import Outcome

    workload = BY_NAME["compound_interest"]
    expected = cpython_outcome(workload.source)
    assert harness.verify(workload, expected, Outcome.success("198922.72\n")) is not None
    assert harness.verify(workload, expected, expected) is None
    timeout = BY_NAME["timeout"]
    assert harness.verify(timeout, None, Outcome.success("")) is not None
    assert harness.verify(timeout, None, Outcome.failure("", "TimeoutError", "timeout")) is None


def test_process_ab_compares_a_runner_that_really_never_primes() -> None:
    # The A/B relies on a private hook of ProcessRunner; if it stopped working, both sides
    # would prime and the comparison would silently measure nothing.
    from benchmarks import process_ab
    from restricted_exec import Policy

    sandbox = process_ab._sandbox_with(Policy(), process_ab._NeverPrimes)
    try:
        program = sandbox.compile_program("6 * 7")
        assert [program.run().value for _ in range(3)] == [42] * 3
        assert sandbox._runner is not None and sandbox._runner._prime is None
    finally:
        sandbox.close()


def test_process_ab_compares_a_runner_whose_caller_asks_for_every_replacement() -> None:
    # The old way must really be the caller's: with the reader's path off, every run still
    # leaves `prefork` children waiting when it returns.
    from benchmarks import process_ab
    from restricted_exec import Policy

    sandbox = process_ab._sandbox_with(Policy(), process_ab._CallerReplenishes)
    try:
        program = sandbox.compile_program("6 * 7")
        runner = sandbox._runner
        assert runner is not None
        for _ in range(3):
            assert program.run().value == 42
            with runner._lock:
                assert len(runner._ready) == runner._prefork
    finally:
        sandbox.close()


def test_process_ab_compares_a_runner_whose_children_never_warm_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With the switch, children are asked for without a rehearsal however far apart runs
    # arrive; without it (the other side), idle children would rehearse.
    from benchmarks import process_ab
    from restricted_exec import Policy
    from restricted_exec.isolation.fork_server_client import ForkServer

    asked: list[bool] = []
    request_child = ForkServer.request_child

    def spy(self: ForkServer, **options: Any) -> Any:
        asked.append(options["warm_up"])
        return request_child(self, **options)

    monkeypatch.setattr(ForkServer, "request_child", spy)
    sandbox = process_ab._sandbox_with(Policy(), process_ab._NeverWarmsUp)
    try:
        program = sandbox.compile_program("6 * 7")
        for _ in range(3):
            time.sleep(0.05)
            assert program.run().value == 42
    finally:
        sandbox.close()
    assert asked and not any(asked)


def test_cpu_per_run_reports_every_share() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.cpu_per_run", "--threads", "2", "--seconds", "0.5"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert " 0 failed" in done.stdout
    assert "caller" in done.stdout and "fork server" in done.stdout and "children" in done.stdout


def test_the_host_call_benchmark_measures_real_round_trips(tmp_path: Path) -> None:
    import json

    from benchmarks import host_calls

    out = tmp_path / "host_calls.json"
    assert host_calls.main(["--quick", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    for name in ("restricted_exec process mode", "restricted_exec inline mode"):
        assert report[name]["calls"] == 180 and report[name]["p50_us"] > 0


def test_the_session_benchmark_checks_every_cell_against_cpython(tmp_path: Path) -> None:
    import json

    from benchmarks import sessions

    out = tmp_path / "sessions.json"
    assert sessions.main(["--quick", "--out", str(out)]) == 0  # a wrong answer raises
    report = json.loads(out.read_text())
    for pace in ("back-to-back", "2 ms apart"):
        assert report[pace]["10-cell REPL"]["restricted_exec"]["p50_ms"] > 0
        assert report[pace]["one cell"]["restricted_exec"]["p50_ms"] > 0


def test_the_smolagents_comparison_runs_the_scripted_agent_on_both_executors(
    tmp_path: Path,
) -> None:
    import json

    from benchmarks import smolagents_executors

    out = tmp_path / "smolagents.json"
    assert smolagents_executors.main(["--quick", "--out", str(out)]) == 0  # a wrong answer raises
    report = json.loads(out.read_text())
    assert report["restricted_exec SandboxExecutor"]["agent_run_p50_ms"] > 0
    assert report["smolagents LocalPythonExecutor"]["agent_run_p50_ms"] > 0


def test_the_service_benchmark_runs_against_real_servers_without_a_5xx(tmp_path: Path) -> None:
    import json

    from benchmarks import service

    out = tmp_path / "service.json"
    assert service.main(["--quick", "--out", str(out)]) == 0  # a 5xx or a wrong answer fails
    report = json.loads(out.read_text())
    assert report["overhead"]["service_p50_ms"] > 0
    assert set(report["overload"]["statuses"]) <= {"200", "429"}


def test_the_host_floor_measures_four_plausible_costs() -> None:
    from benchmarks.host_floor import floor_line, measure_floor

    floor = measure_floor()
    assert set(floor) == {"fork_wait_ms", "page_fault_us", "pipe_round_trip_us", "idle_wake_up_us"}
    assert 0 < floor["page_fault_us"] < floor["pipe_round_trip_us"] < floor["fork_wait_ms"] * 1000
    assert floor_line(floor).startswith("host floor: fork+wait ")


def test_the_warm_reuse_benchmark_checks_every_answer(capsys: pytest.CaptureFixture[str]) -> None:
    # Quick mode still compares every output with CPython's (a wrong one raises).
    from benchmarks import warm_reuse

    assert warm_reuse.main(["--quick"]) == 0
    printed = capsys.readouterr().out
    assert "Program.run        warm" in printed and "throughput" in printed
