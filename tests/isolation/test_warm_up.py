"""A waiting child rehearses a run (warms up) only while runs arrive far enough apart: at least
WARM_UP_GAP_PER_START_CPU times the CPU a rehearsing child takes to start, as the children
report it in their hellos (so the threshold follows the host, whose fault costs differ two-fold
from one machine to the next).

The rehearsal saves ~0.3 ms of the run's latency on an idle machine; when runs arrive back to
back the CPU is what limits throughput, so children forked then skip it.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from isolation.unrestricted_entry import UnrestrictedRunner
from restricted_exec.isolation import wire
from restricted_exec.isolation.pool import (
    ASSUMED_START_CPU_S,
    WARM_UP_GAP_PER_START_CPU,
    ProcessRunner,
)

from .support import run_ok

# Run inside the child: 1 if it only inherited the fork server's warm-up, 2 if it warmed up too.
WARM_UPS = "import isolation.unrestricted_entry as t; print(t.warm_ups)"


def test_children_forked_while_runs_arrive_apart_warm_up_while_they_wait() -> None:
    with UnrestrictedRunner(prefork=1) as runner:
        for _ in range(4):
            time.sleep(runner.warm_up_gap_s() * 10)
            run_ok(runner, "pass")
        time.sleep(0.2)  # the waiting child is idle: it warms up now
        assert run_ok(runner, WARM_UPS)["stdout"] == "2\n"


def test_children_forked_while_runs_arrive_close_together_do_not_warm_up() -> None:
    with UnrestrictedRunner(prefork=1) as runner:
        run_ok(runner, "pass")
        # A burst of arrivals, noted the way every run's arrival is (not real runs: their pace
        # would depend on how busy this machine is).
        for _ in range(20):
            runner._arrive()
        assert runner._arrival_gap_s < runner.warm_up_gap_s()
        # This run takes the waiting child and asks for its replacement during the burst.
        run_ok(runner, "pass")
        # Left idle now, that replacement would warm up if it had been allowed to.
        time.sleep(0.2)
        assert run_ok(runner, WARM_UPS)["stdout"] == "1\n"


def _report_starts(runner: ProcessRunner, cpu_s: float) -> None:
    """As if rehearsing children had said in their hellos that their start took ``cpu_s``."""
    hello = wire.Hello(1, 0, 0, int(cpu_s * 1e6), 0)
    for _ in range(30):
        runner._note_start(SimpleNamespace(warm_up=True), hello)  # type: ignore[arg-type]


@pytest.mark.parametrize(("start_cpu_s", "warm_ups"), [(0.0002, "2\n"), (0.005, "1\n")])
def test_whether_children_warm_up_depends_on_what_their_start_costs_here(
    start_cpu_s: float, warm_ups: str
) -> None:
    # Runs 3 ms apart: worth a rehearsal where a child starts on 0.2 ms of CPU, not where it
    # takes 5 ms (a threshold of 0.4 against 10 ms).
    with UnrestrictedRunner(prefork=1) as runner:
        assert runner.warm_up_gap_s() == pytest.approx(
            WARM_UP_GAP_PER_START_CPU * ASSUMED_START_CPU_S
        )
        run_ok(runner, "pass")
        _report_starts(runner, start_cpu_s)
        for _ in range(20):
            time.sleep(0.003)
            runner._arrive()
        run_ok(runner, "pass")  # its replacement is asked for now
        time.sleep(0.2)
        assert run_ok(runner, WARM_UPS)["stdout"] == warm_ups


def test_the_start_cost_is_what_rehearsing_children_report() -> None:
    with UnrestrictedRunner(prefork=1) as runner:
        for _ in range(6):
            time.sleep(0.03)
            run_ok(runner, "pass")
        measured = runner._start_cpu_s
        assert measured != ASSUMED_START_CPU_S
        assert 0 < measured < 0.02
        # A child that did not rehearse says nothing of what a rehearsal costs.
        runner._note_start(SimpleNamespace(warm_up=False), wire.Hello(1, 0, 0, 10**6, 0))  # type: ignore[arg-type]
        assert runner._start_cpu_s == measured
