"""Warm children (``Sandbox(child_reuse=...)``): a child serves consecutive runs of one trust
domain and policy, and a run can see nothing an earlier run on that child left.

The leak suite plants something in one run and looks for it in the next run on the same child
(the counts in ``Sandbox.stats()`` prove it was the same child). What the look prints must be
what it prints in a fresh child, as if the plant never ran.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from restricted_exec import ChildReuse, ExecutionResult, Policy, Sandbox
from restricted_exec.audit import attributed_to
from restricted_exec.isolation import warm_children
from restricted_exec.isolation.session_child import SessionChild
from restricted_exec.sandbox import RunHooks

_TENANTS = (f"leak-{number}" for number in itertools.count())


@pytest.fixture(scope="module")
def warm() -> Iterator[Sandbox]:
    with Sandbox(child_reuse=ChildReuse(max_idle=64)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def fresh() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def counts(sandbox: Sandbox) -> tuple[int, int, int]:
    stats = sandbox.stats()
    return stats.warm_started, stats.warm_reused, stats.warm_retired


def plant_then_look(
    sandbox: Sandbox, plant: str, look: str, policy: Policy | None = None, **plant_options: Any
) -> tuple[ExecutionResult, ExecutionResult]:
    """Run ``plant`` then ``look`` for a tenant of their own, under ``policy``, and check that
    ``look`` ran in the child ``plant`` ran in."""
    tenant = next(_TENANTS)
    started, reused, _ = counts(sandbox)
    planted = sandbox.run(plant, tenant=tenant, policy=policy, **plant_options)
    looked = sandbox.run(look, tenant=tenant, policy=policy)
    assert counts(sandbox)[:2] == (started + 1, reused + 1), "the look ran in another child"
    return planted, looked


# Each case: what one run plants, and a look whose output, in the next run on that child, must
# be what it prints in a fresh child.
PLANTS = {
    "a global": (
        "secret = 'planted'",
        "try:\n    print(secret)\nexcept NameError:\n    print('gone')",
    ),
    "a rebound builtin": ("def len(x):\n    return -1", "print(len([1, 2]))"),
    "a class": (
        "class Planted:\n    n = 1",
        "try:\n    Planted\nexcept NameError:\n    print('gone')",
    ),
    "the random seed": (
        "import random\nrandom.seed(42)",
        "import random\nprint(random.random() == random.Random(42).random())",
    ),
    "the decimal precision": (
        "import decimal\ndecimal.getcontext().prec = 3",
        "import decimal\nprint(decimal.getcontext().prec, decimal.Decimal(1) / 7)",
    ),
    "the decimal traps": (
        "import decimal\ndecimal.getcontext().traps[decimal.DivisionByZero] = False",
        "import decimal\ntry:\n    decimal.Decimal(1) / 0\nexcept decimal.DivisionByZero:\n"
        "    print('trapped')",
    ),
    "a module attribute": (
        "import math\ntry:\n    math.pi = 3\nexcept Exception:\n    pass",
        "import math\nprint(math.pi)",
    ),
    "the calendar's first weekday": (
        "import calendar\ntry:\n    calendar.setfirstweekday(6)\nexcept Exception:\n    pass",
        "import calendar\nprint(calendar.firstweekday())",
    ),
    "an lru_cache": (
        "import functools\n@functools.lru_cache\ndef f(x):\n    return 'planted'\nf(1)",
        "import functools\n@functools.lru_cache\ndef f(x):\n    return 'fresh'\nprint(f(1))",
    ),
    "output": ("print('planted')", "print('looked')"),
    "an uncaught exception": ("raise ValueError('planted')", "print('fine')"),
}


@pytest.mark.parametrize("name", list(PLANTS))
def test_what_a_run_plants_the_next_run_on_its_child_cannot_see(
    warm: Sandbox, fresh: Sandbox, name: str
) -> None:
    plant, look = PLANTS[name]
    _, looked = plant_then_look(warm, plant, look)
    expected = fresh.run(look)
    assert (looked.status, looked.stdout) == (expected.status, expected.stdout)


def test_inputs_and_host_functions_of_a_run_are_gone_in_the_next(warm: Sandbox) -> None:
    look = (
        "try:\n    print(token)\nexcept NameError:\n    print('no token')\n"
        "try:\n    lookup()\nexcept NameError:\n    print('no lookup')"
    )
    _, looked = plant_then_look(
        warm, "lookup()", look, inputs={"token": "sk-planted"}, functions={"lookup": lambda: 1}
    )
    assert looked.stdout == "no token\nno lookup\n"


# What a run leaves in a reference cycle is freed only by the garbage collector, and a cycle
# the collector moved to its oldest generation only by a full collection, which the next run's
# setup does not make. The cycle here holds 60 MB in a suspended generator's frame (whose
# finally block, program code, would also run whenever the collector got to it).
_CYCLE_PLANT = """
def later(box):
    held = bytearray(60 * 2**20)
    try:
        yield 1
    finally:
        pass
box = []
it = later(box)
next(it)
box.append(it)
promote = [[index] for index in range(100000)]
print('planted')
"""


def test_a_runs_reference_cycles_are_collected_before_its_reply(warm: Sandbox) -> None:
    policy = Policy(memory_mb=160)
    tenant = next(_TENANTS)
    started, reused, _ = counts(warm)
    planted = warm.run(_CYCLE_PLANT, policy=policy, tenant=tenant)
    looked = warm.run("more = bytearray(110 * 2**20)\nprint('fits')", policy=policy, tenant=tenant)
    assert (planted.stdout, looked.stdout) == ("planted\n", "fits\n"), looked.error
    assert counts(warm)[:2] == (started + 1, reused + 1)


def test_a_runs_memory_is_freed_before_the_next_run(warm: Sandbox) -> None:
    policy = Policy(memory_mb=160)
    tenant = next(_TENANTS)
    started, reused, _ = counts(warm)
    planted = warm.run("keep = bytearray(60 * 2**20)\nprint('kept')", policy=policy, tenant=tenant)
    looked = warm.run("more = bytearray(110 * 2**20)\nprint('fits')", policy=policy, tenant=tenant)
    assert planted.stdout == "kept\n" and looked.stdout == "fits\n", looked.error
    assert counts(warm)[:2] == (started + 1, reused + 1)


# Red-team round 20: what freeing a run's leftovers costs, or a crash it causes, was charged to
# the next run while the child cleared them after its reply.
_CRASHES_WHEN_FREED = """
import itertools
chain = iter(())
for index in range(600000):
    chain = itertools.islice(chain, 1)
print('planted')
"""


def _slow_to_finalize(generators: int) -> str:
    nested = "yield 1\n"
    for _ in range(18):
        body = "".join(f"    {line}\n" for line in nested.splitlines())
        nested = f"try:\n{body}finally:\n    pass\n"
    body = "".join(f"    {line}\n" for line in nested.splitlines())
    return (
        f"def suspended():\n{body}"
        f"keep = []\nfor index in range({generators}):\n"
        "    it = suspended()\n    next(it)\n    keep.append(it)\nprint('planted')\n"
    )


def test_a_crash_while_freeing_a_runs_objects_is_that_runs_not_the_nexts(warm: Sandbox) -> None:
    tenant = next(_TENANTS)
    planted = warm.run(_CRASHES_WHEN_FREED, tenant=tenant)
    looked = warm.run("print('looked')", tenant=tenant)
    assert planted.status == "crashed"  # its objects crashed its child as they were freed
    assert (looked.status, looked.stdout) == ("ok", "looked\n")


def test_the_time_to_free_a_runs_objects_is_that_runs_not_the_nexts(warm: Sandbox) -> None:
    policy = Policy(timeout_s=1)
    tenant = next(_TENANTS)
    planted = warm.run(_slow_to_finalize(150_000), tenant=tenant, policy=policy)
    looked = warm.run("print('looked')", tenant=tenant, policy=policy)
    assert planted.status in ("ok", "timeout")
    assert (looked.status, looked.stdout) == ("ok", "looked\n"), looked.error


@pytest.mark.skipif(
    sys.version_info >= (3, 12),
    reason="CPython 3.12+ also interns every codec name looked up, and interned strings are "
    "immortal there: no process can forget them (SECURITY.md, known limits)",
)
def test_codec_names_a_run_looked_up_are_forgotten_before_the_next_run(warm: Sandbox) -> None:
    # encodings keeps every name looked up, found or not: 24 MB of names here.
    policy = Policy(memory_mb=80, timeout_s=10)
    plant = (
        "for index in range(24):\n"
        "    try:\n        ''.encode('a' * 2**20 + str(index))\n"
        "    except LookupError:\n        pass\nprint('planted')"
    )
    look = "more = bytearray(60 * 2**20)\nprint('fits')"
    _, looked = plant_then_look(warm, plant, look, policy=policy)
    assert (looked.status, looked.stdout) == ("ok", "fits\n"), looked.error


def test_flag_values_a_run_made_are_forgotten_before_the_next_run(warm: Sandbox) -> None:
    # re.RegexFlag(v) keeps a pseudo-member for every new v in the class's value map, which
    # every run on the child shares: 44 MB here on 3.11, 57 on 3.12 (red-team round 21), under
    # the half of memory_mb past which the child would be retired instead.
    policy = Policy(memory_mb=128, timeout_s=20)
    plant = "import re\nfor v in range(90_000):\n    re.RegexFlag((1 << 40) + v)\nprint('planted')"
    look = "more = bytearray(96 * 2**20)\nprint('fits')"
    planted, looked = plant_then_look(warm, plant, look, policy=policy)
    assert planted.stdout == "planted\n", planted.error
    assert (looked.status, looked.stdout) == ("ok", "fits\n"), looked.error


def test_a_runs_inputs_and_reply_are_freed_before_the_next_run(warm: Sandbox) -> None:
    # The first run's frame held its inputs and its reply for the child's life (review).
    policy = Policy(memory_mb=200)
    tenant = next(_TENANTS)
    started, reused, _ = counts(warm)
    blob = "x" * (30 * 2**20)
    planted = warm.run("print(len(blob))", policy=policy, tenant=tenant, inputs={"blob": blob})
    looked = warm.run("more = bytearray(175 * 2**20)\nprint('fits')", policy=policy, tenant=tenant)
    assert (planted.status, looked.status) == ("ok", "ok"), looked.error
    assert counts(warm)[:2] == (started + 1, reused + 1)


def _process_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def _only_idle_child(sandbox: Sandbox) -> tuple[SessionChild, int]:
    """The one idle warm child of ``sandbox`` after its first run, and its pid."""
    warm = sandbox._warm
    assert warm is not None
    (idle,) = warm._idle.values()
    return idle.child, idle.child._checked_out[1].pid  # type: ignore[index]


def test_an_idle_child_is_stopped_until_its_next_run() -> None:
    # Code that escaped the language layer and went on after its reply would otherwise run on
    # CPU no run slot accounts for (review).
    with Sandbox(child_reuse=ChildReuse()) as sandbox:
        assert sandbox.run("print(1)").ok
        _, pid = _only_idle_child(sandbox)
        wait_until(lambda: _process_state(pid) == "T")
        assert sandbox.run("print(2)").stdout == "2\n"
        assert counts(sandbox)[:2] == (1, 1)
        wait_until(lambda: _process_state(pid) == "T")


def _wake_ups(thread: threading.Thread) -> int:
    with open(f"/proc/self/task/{thread.native_id}/status") as status:
        for line in status:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches line")


def test_an_idle_child_is_stopped_soon_and_then_nothing_wakes_for_it() -> None:
    # A run that comes within PAUSE_AFTER_S finds its child ready; once every idle child is
    # stopped, the sweeper sleeps for the idle_s rule only, not a tick every few milliseconds.
    with Sandbox(child_reuse=ChildReuse(idle_s=60)) as sandbox:
        assert sandbox.run("print(1)").ok
        _, pid = _only_idle_child(sandbox)
        warm = sandbox._warm
        assert warm is not None and warm._sweeper is not None
        stopped_by = time.monotonic() + 1.0
        wait_until(lambda: _process_state(pid) == "T")
        assert time.monotonic() < stopped_by
        time.sleep(0.1)  # (a tick may be under way)
        before = _wake_ups(warm._sweeper)
        time.sleep(0.5)
        assert _wake_ups(warm._sweeper) - before <= 2


def test_an_idle_child_found_dead_is_never_handed_to_a_run() -> None:
    with Sandbox(child_reuse=ChildReuse()) as sandbox:
        assert sandbox.run("print(1)").ok
        child, pid = _only_idle_child(sandbox)
        os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer would, say
        wait_until(lambda: not child.sound_while_idle())
        looked = sandbox.run("print(2)")
        assert (looked.status, looked.stdout) == ("ok", "2\n")
        assert counts(sandbox)[:2] == (2, 0)


# -- a warm child told its run comes ----------------------------------------------------------


def _affinity(pid: int) -> set[int]:
    return set(os.sched_getaffinity(pid))


def test_a_child_told_its_run_comes_waits_off_the_callers_cpu_and_is_let_back_when_it_sleeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A child looking for its request without sleeping must not share its caller's CPU (the
    # caller spins for the reply next): two spinners on one CPU share it in slices of
    # milliseconds. Once the caller sleeps, a long run may use all its CPUs again.
    monkeypatch.setattr(warm_children, "PAUSE_AFTER_S", 60.0)  # (a stopped child is not told)
    with Sandbox(child_reuse=ChildReuse()) as sandbox:
        assert sandbox.run("print(1)").ok
        child, pid = _only_idle_child(sandbox)
        own_cpus = _affinity(pid)
        if len(own_cpus) < 2:
            pytest.skip("needs a second CPU to keep the child on")
        try:
            os.sched_setaffinity(pid, own_cpus)
        except PermissionError:
            pytest.skip("this host may not set its children's CPUs (no CAP_SYS_NICE)")
        sandbox._expect_warm_run(None, sandbox.policy, RunHooks())
        kept_off = child._kept_off
        assert kept_off is not None
        assert _affinity(pid) == own_cpus - {kept_off}
        # Told again and again, or told and then left waiting: the protocol holds.
        sandbox._expect_warm_run(None, sandbox.policy, RunHooks())
        time.sleep(0.01)
        sandbox._expect_warm_run(None, sandbox.policy, RunHooks())
        assert sandbox.run("print(2)").stdout == "2\n"
        # A run longer than the caller's spin: the caller sleeps, the child gets its CPUs back.
        sandbox._expect_warm_run(None, sandbox.policy, RunHooks())
        assert child._kept_off is not None
        busy = "while time.monotonic() < end:\n    pass\n"
        looked = sandbox.run(f"import time\nend = time.monotonic() + 0.05\n{busy}print(3)")
        assert looked.stdout == "3\n"
        assert child._kept_off is None
        assert _affinity(pid) == own_cpus
        assert counts(sandbox)[:2] == (1, 2)


def test_a_warm_child_is_told_its_run_comes_only_for_a_run_it_will_serve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A refused program, a session's run, a run that may be answered from the result cache:
    # no child of this key serves them, so none is told (its look would be CPU no run pays).
    monkeypatch.setattr(warm_children, "PAUSE_AFTER_S", 60.0)  # (a stopped child is not told)
    told: list[int] = []
    with Sandbox(child_reuse=ChildReuse()) as sandbox:
        assert sandbox.run("print(1)").ok
        assert sandbox.run("print(1)", policy=Policy(deterministic=True)).ok
        warm = sandbox._warm
        assert warm is not None
        for idle in warm._idle.values():
            original = idle.child.expect_request

            def counted(original: Callable[[], None] = original) -> None:
                told.append(1)
                original()

            idle.child.expect_request = counted  # type: ignore[method-assign]
        program = sandbox.compile_program("import os")
        assert program.run().status == "policy_violation"
        with sandbox.session() as session:
            assert session.run("print(2)").ok
        assert sandbox.run("print(3)", policy=Policy(deterministic=True)).ok
        assert told == []
        assert sandbox.run("print(4)").ok
        assert told


def test_a_child_is_told_its_run_comes_only_for_a_run_this_thread_converses_with() -> None:
    # Output streamed or host functions: the conversation is held on other threads, whose CPU
    # this thread cannot know.
    told: list[int] = []
    with Sandbox(child_reuse=ChildReuse()) as sandbox:
        assert sandbox.run("print(1)").ok
        child, _ = _only_idle_child(sandbox)
        original = child.expect_request

        def counted() -> None:
            told.append(1)
            original()

        child.expect_request = counted  # type: ignore[method-assign]
        sandbox.run("print(double(2))", functions={"double": lambda x: 2 * x})
        sandbox.run("print(2)", on_output=lambda text: None)
        assert told == []
        sandbox.run("print(3)")
        assert len(told) >= 1


# -- which runs share a child ----------------------------------------------------------------


def test_a_warm_child_never_serves_another_tenant(warm: Sandbox) -> None:
    started, reused, _ = counts(warm)
    warm.run("print(1)", tenant="acme-only")
    warm.run("print(1)", tenant="globex-only")
    warm.run("print(1)")  # no tenant: a domain of its own
    warm.run("print(1)", tenant="default")
    assert counts(warm)[:2] == (started + 4, reused)


def test_a_warm_child_never_serves_another_policy(warm: Sandbox) -> None:
    tenant = next(_TENANTS)
    started, reused, _ = counts(warm)
    warm.run("print(1)", tenant=tenant)
    warm.run("print(1)", tenant=tenant, policy=Policy(timeout_s=2))
    assert counts(warm)[:2] == (started + 2, reused)


def test_per_caller_keeps_each_callers_runs_apart_and_reuses_none_without_one() -> None:
    with Sandbox(child_reuse=ChildReuse(per="caller")) as sandbox:
        for caller in ("user-1", "user-2", "user-1"):
            with attributed_to(caller):
                assert sandbox.run("print(1)", tenant="acme").ok
        assert counts(sandbox)[:2] == (2, 1)
        sandbox.run("print(1)", tenant="acme")  # no caller: a fresh, single-use child
        sandbox.run("print(1)", tenant="acme")
        assert counts(sandbox)[:2] == (2, 1)


# -- when a child is retired -----------------------------------------------------------------


@pytest.mark.parametrize(
    "ending",
    [
        "while True:\n    pass",  # a timeout
        "x = bytearray(2**40)",  # the memory limit
        "print('x' * 5000)",  # the output limit
    ],
)
def test_a_child_is_retired_after_any_ending_but_ok_or_error(warm: Sandbox, ending: str) -> None:
    tenant = next(_TENANTS)
    policy = Policy(timeout_s=0.5, output_bytes=1000)
    started, _, retired = counts(warm)
    ended = warm.run(ending, tenant=tenant, policy=policy)
    assert ended.status in ("timeout", "memory_limit", "output_limit")
    assert warm.run("print(2)", tenant=tenant, policy=policy).stdout == "2\n"
    after = counts(warm)
    assert after[0] == started + 2 and after[2] >= retired + 1


def test_a_child_is_retired_after_its_runs() -> None:
    with Sandbox(child_reuse=ChildReuse(runs=2)) as sandbox:
        for _ in range(5):
            assert sandbox.run("print(1)").ok
        assert counts(sandbox) == (3, 2, 2)


def test_an_idle_child_is_retired() -> None:
    with Sandbox(child_reuse=ChildReuse(idle_s=0.2)) as sandbox:
        assert sandbox.run("print(1)").ok
        wait_until(lambda: counts(sandbox)[2] == 1)
        assert sandbox.run("print(1)").ok
        assert counts(sandbox)[:2] == (2, 0)


def test_the_least_recently_used_idle_child_makes_room() -> None:
    with Sandbox(child_reuse=ChildReuse(max_idle=1)) as sandbox:
        sandbox.run("print(1)", tenant="a")
        sandbox.run("print(1)", tenant="b")  # a's child is retired to keep b's
        sandbox.run("print(1)", tenant="a")
        assert counts(sandbox) == (3, 0, 2)


def test_the_results_are_cpythons(warm: Sandbox, fresh: Sandbox) -> None:
    code = (
        "total = 0\nfor month in range(60):\n"
        "    total = total * (1 + 0.05 / 12) + 3000\nprint(round(total, 2))"
    )
    tenant = next(_TENANTS)
    results = [warm.run(code, tenant=tenant) for _ in range(3)]
    assert {result.stdout for result in results} == {fresh.run(code).stdout}


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.02)


def test_a_warm_child_streams_output_and_answers_host_calls_on_every_run(warm: Sandbox) -> None:
    tenant = next(_TENANTS)
    code = "for n in range(3):\n    print(double(n))"
    for _ in range(3):
        chunks: list[str] = []
        result = warm.run(
            code, tenant=tenant, on_output=chunks.append, functions={"double": lambda n: 2 * n}
        )
        assert result.stdout == "".join(chunks) == "0\n2\n4\n"
    assert warm.stats().warm_reused >= 2
