"""Inline mode's deadline, and the state a run must not leak into the caller's process."""

from __future__ import annotations

import decimal
import random
import threading
import time

import pytest

import restricted_exec
from restricted_exec import Policy

FAST = Policy(isolation="inline", timeout_s=0.2)


@pytest.mark.parametrize(
    "source",
    [
        "while True:\n    pass",
        "def f():\n    while True:\n        pass\nf()",
        "while True:\n    try:\n        while True: pass\n    except BaseException:\n        pass",
        "while True:\n    try:\n        while True: pass\n    except:\n        pass",
        "while True:\n    try:\n        while True: pass\n    finally:\n        continue",
        "class S:\n    def __enter__(self): return self\n"
        "    def __exit__(self, *a): return True\n"
        "while True:\n    with S():\n        while True: pass",
        "[x for x in iter(int, 1)]",
    ],
    ids=[
        "loop",
        "loop-in-function",
        "except-baseexception",
        "bare-except",
        "finally-continue",
        "exit-returns-true",
        "comprehension",
    ],
)
def test_deadline_stops_python_level_code_however_it_hides(source: str) -> None:
    result = restricted_exec.run(source, policy=FAST)
    assert result.status == "timeout"
    assert result.timeout_kind == "wall"


def test_interrupt_never_surfaces_in_the_callers_code_afterwards() -> None:
    for _ in range(20):
        restricted_exec.run(
            "while True:\n    pass", policy=Policy(isolation="inline", timeout_s=0.01)
        )
    # A pending interrupt would be raised inside this loop.
    deadline = time.monotonic() + 0.3
    spins = 0
    while time.monotonic() < deadline:
        spins += 1
    assert spins > 0
    assert restricted_exec.run("print('still healthy')", policy=FAST).stdout == "still healthy\n"


def test_runs_in_several_threads_time_out_independently() -> None:
    results: dict[int, str] = {}

    def worker(index: int) -> None:
        source = "while True:\n    pass" if index % 2 else "print('quick')"
        results[index] = restricted_exec.run(source, policy=FAST).status

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == {i: ("timeout" if i % 2 else "ok") for i in range(6)}


def test_seeding_random_does_not_touch_the_hosts_generator() -> None:
    random.seed(1234)
    expected = random.Random(1234).random()
    restricted_exec.run("import random\nrandom.seed(1)\nrandom.random()", policy=FAST)
    assert random.random() == expected


def test_each_run_gets_its_own_random_stream() -> None:
    seeded = "import random\nrandom.seed(7)\n[random.randint(1, 100) for _ in range(5)]"
    first = restricted_exec.run(seeded, policy=FAST).value
    assert first == restricted_exec.run(seeded, policy=FAST).value
    unseeded = "import random\nrandom.random()"
    assert (
        restricted_exec.run(unseeded, policy=FAST).value
        != restricted_exec.run(unseeded, policy=FAST).value
    )


def test_decimal_context_changes_stay_inside_the_run() -> None:
    before = decimal.getcontext().prec
    result = restricted_exec.run(
        "import decimal\ndecimal.getcontext().prec = 5\nstr(decimal.Decimal(1) / 7)", policy=FAST
    )
    assert result.value == "0.14286"
    assert decimal.getcontext().prec == before
    fresh = restricted_exec.run("import decimal\ndecimal.getcontext().prec", policy=FAST)
    assert fresh.value == 28
