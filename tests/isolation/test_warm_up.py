"""A waiting child rehearses a run (warms up) only while runs arrive far enough apart.

The rehearsal takes ~0.3-0.7 ms of CPU and saves ~200 us of the run's latency; when runs arrive
back to back the CPU is what limits throughput, so children forked then skip it.
"""

from __future__ import annotations

import time

from isolation.unrestricted_entry import UnrestrictedRunner
from restricted_exec.isolation.pool import WARM_UP_MIN_ARRIVAL_GAP_S

from .support import run_ok

# Run inside the child: 1 if it only inherited the fork server's warm-up, 2 if it warmed up too.
WARM_UPS = "import isolation.unrestricted_entry as t; print(t.warm_ups)"


def test_children_forked_while_runs_arrive_apart_warm_up_while_they_wait() -> None:
    with UnrestrictedRunner(prefork=1) as runner:
        for _ in range(4):
            time.sleep(WARM_UP_MIN_ARRIVAL_GAP_S * 10)
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
        assert runner._arrival_gap_s < WARM_UP_MIN_ARRIVAL_GAP_S
        # This run takes the waiting child and asks for its replacement during the burst.
        run_ok(runner, "pass")
        # Left idle now, that replacement would warm up if it had been allowed to.
        time.sleep(0.2)
        assert run_ok(runner, WARM_UPS)["stdout"] == "1\n"
