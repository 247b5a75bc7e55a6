"""Deterministic policies and the result cache.

A deterministic run cannot read the clock or unseeded randomness, by construction;
only such runs are cached. Each security-style test names the route it closes.
"""

from __future__ import annotations

import contextlib
import io
import random
from typing import Any

import pytest

from restricted_exec import Policy, PolicyError, Sandbox
from restricted_exec.host.result_cache import ResultCache
from restricted_exec.result import ExecutionResult

DETERMINISTIC = Policy(deterministic=True, timeout_s=2)
MODES = ("inline", "process")


@pytest.fixture(scope="module")
def sandbox() -> Any:
    with Sandbox(DETERMINISTIC) as shared:
        yield shared


def _run(sandbox: Sandbox, source: str, mode: str, **kwargs: Any) -> ExecutionResult:
    return sandbox.run(source, policy=DETERMINISTIC.replace(isolation=mode), **kwargs)


CLOCK_PROGRAMS = {
    "date_today": "print(datetime.date.today())",
    "datetime_now": "print(datetime.datetime.now())",
    "datetime_now_with_tz": "print(datetime.datetime.now(datetime.timezone.utc))",
    "datetime_utcnow": "print(datetime.datetime.utcnow())",
    "datetime_today": "print(datetime.datetime.today())",
    "instance_now": "print(datetime.datetime(2020, 1, 1).now())",
    "getattr": "print(getattr(datetime.date, 'today')())",
    "getattr_computed_name": "print(getattr(datetime.datetime, 'no' + 'w')())",
    "attrgetter": "import operator\nprint(operator.attrgetter('now')(datetime.datetime)())",
    "methodcaller": "import operator\nprint(operator.methodcaller('today')(datetime.date))",
    "from_import": "from datetime import date as d\nprint(d.today())",
    "bound_method_kept": "f = datetime.datetime.now\nprint(f())",
}
CLOCK_PROGRAMS["subclass"] = "class D(datetime.date):\n    pass\nprint(D.today())"
CLOCK_PROGRAMS["super"] = (
    "class D(datetime.datetime):\n    def stamp(self):\n        return super().now()\n"
    "print(D(2020, 1, 1).stamp())"
)
CLOCK_PROGRAMS["dataclass_default_factory"] = (
    "import dataclasses\n@dataclasses.dataclass\nclass Row:\n"
    "    day: object = dataclasses.field(default_factory=datetime.date.today)\nprint(Row())"
)
CLOCK_PROGRAMS["match_class_pattern"] = (
    "match datetime.date(2020, 1, 1):\n    case datetime.date(today=f):\n        print(f())"
)
CLOCK_PROGRAMS["time_module"] = "import time\nprint(time.time())"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source", CLOCK_PROGRAMS.values(), ids=CLOCK_PROGRAMS.keys())
def test_deterministic_policy_cannot_read_the_clock(
    sandbox: Sandbox, source: str, mode: str
) -> None:
    result = _run(sandbox, source, mode)
    assert result.status in ("error", "policy_violation"), (result.status, result.stdout)
    assert result.stdout == ""
    assert result.error is not None
    message = result.error.message
    assert any(
        reason in message
        for reason in (
            "reads the clock",
            "`time` is not an allowed module",
            '"today" cannot be matched by a class pattern',
        )
    ), message


@pytest.mark.parametrize("mode", MODES)
def test_clock_reads_still_work_without_a_deterministic_policy(mode: str) -> None:
    with Sandbox(Policy(isolation=mode)) as plain:  # type: ignore[arg-type]
        result = plain.run("print(datetime.date.today().year > 2000)")
    assert (result.status, result.stdout) == ("ok", "True\n"), result.error


ENTROPY_PROGRAMS = {
    "system_random": "import random\nprint(random.SystemRandom().random())",
    "normal_dist_samples": "import statistics\nprint(statistics.NormalDist().samples(3))",
    "normal_dist_samples_getattr": (
        "import statistics\nprint(getattr(statistics.NormalDist(), 'samples')(3))"
    ),
    "stdlib_seed_through_super": (
        "import random\nr = random.Random()\nsuper(type(r), r).seed()\nprint(r.random())"
    ),
    "stdlib_seed_unbound_through_super": (
        "import random\nr = random.Random()\n"
        "getattr(super(random.Random, random.Random), 'seed')(r)\nprint(r.random())"
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("source", ENTROPY_PROGRAMS.values(), ids=ENTROPY_PROGRAMS.keys())
def test_deterministic_policy_cannot_read_os_entropy(
    sandbox: Sandbox, source: str, mode: str
) -> None:
    result = _run(sandbox, source, mode)
    assert result.status == "error" and result.stdout == ""
    assert result.error is not None and "entropy" in result.error.message


RANDOM_PROGRAM = (
    "import random\n"
    "print(random.random(), random.randint(1, 100), random.choice('abcdef'))\n"
    "print(random.Random().random())\n"
    "random.seed()\n"
    "print(random.random())\n"
    "random.seed(42)\n"
    "print(random.gauss(0, 1))\n"
)


def _cpython_with_fixed_seed(source: str) -> str:
    """What CPython prints when every unseeded generator starts from seed 0."""
    patched = (
        source.replace("random.Random()", "random.Random(0)")
        .replace("random.seed()", "random.seed(0)")
        .replace("import random\n", "import random\nrandom.seed(0)\n", 1)
    )
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        exec(patched, {"random": random})
    random.seed()  # leave the host's generator unpredictable again
    return captured.getvalue()


@pytest.mark.parametrize("mode", MODES)
def test_random_starts_from_a_fixed_seed_like_cpython_seeded_with_zero(
    sandbox: Sandbox, mode: str
) -> None:
    # Different inputs defeat the result cache: both runs really execute.
    first = _run(sandbox, RANDOM_PROGRAM, mode, inputs={"attempt": 1})
    second = _run(sandbox, RANDOM_PROGRAM, mode, inputs={"attempt": 2})
    assert not first.cache_hit and not second.cache_hit
    assert first.status == "ok", first.error
    assert first.stdout == second.stdout == _cpython_with_fixed_seed(RANDOM_PROGRAM)


def test_deterministic_default_modules_leave_out_the_clock() -> None:
    assert "time" in Policy().modules
    assert "time" not in Policy(deterministic=True).modules
    assert "time" not in Policy().replace(deterministic=True).modules


def test_deterministic_policy_that_names_time_is_refused() -> None:
    with pytest.raises(PolicyError, match="time"):
        Policy(deterministic=True, modules={"math", "time"}, preload=("math",))


# -- the result cache ---------------------------------------------------------------------

COMPUTATION = "total = sum(i * i for i in range(n))\nprint(total)\n[total, 'done']"


@pytest.mark.parametrize("mode", MODES)
def test_repeated_deterministic_run_is_served_from_the_cache(mode: str) -> None:
    policy = DETERMINISTIC.replace(isolation=mode)
    with Sandbox(policy) as fresh:
        first = fresh.run(COMPUTATION, inputs={"n": 10})
        second = fresh.run(COMPUTATION, inputs={"n": 10})
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert first.model_dump(exclude={"cache_hit", "duration_ms"}) == second.model_dump(
        exclude={"cache_hit", "duration_ms"}
    )
    assert second.stdout == f"{sum(i * i for i in range(10))}\n"


def test_a_cached_value_is_a_fresh_copy_for_every_caller() -> None:
    with Sandbox(DETERMINISTIC) as fresh:
        first = fresh.run(COMPUTATION, inputs={"n": 5})
        first.value.append("changed by the first caller")
        second = fresh.run(COMPUTATION, inputs={"n": 5})
    assert second.cache_hit
    assert second.value == [30, "done"]


def test_other_inputs_or_policy_are_not_served_from_the_cache() -> None:
    with Sandbox(DETERMINISTIC) as fresh:
        fresh.run(COMPUTATION, inputs={"n": 3})
        other_inputs = fresh.run(COMPUTATION, inputs={"n": 4})
        other_policy = fresh.run(
            COMPUTATION, inputs={"n": 3}, policy=DETERMINISTIC.replace(timeout_s=3)
        )
    assert not other_inputs.cache_hit and other_inputs.stdout == "14\n"
    assert not other_policy.cache_hit and other_policy.stdout == "5\n"


def test_non_deterministic_policy_is_never_served_from_the_cache() -> None:
    with Sandbox(Policy()) as fresh:
        results = [fresh.run("import random\nprint(random.random())") for _ in range(3)]
    assert not any(result.cache_hit for result in results)
    assert len({result.stdout for result in results}) == 3


def test_timeouts_are_not_cached() -> None:
    policy = DETERMINISTIC.replace(timeout_s=0.3)
    with Sandbox(policy) as fresh:
        first = fresh.run("while True:\n    pass")
        second = fresh.run("while True:\n    pass")
    assert (first.status, second.status) == ("timeout", "timeout")
    assert not second.cache_hit


def test_a_restarted_fork_server_is_a_cache_miss() -> None:
    # A new fork server has a new hash seed, so set-of-str order may change: the
    # generation is part of the key.
    with Sandbox(DETERMINISTIC) as fresh:
        fresh.run("print(sorted({'a', 'b'}))")
        runner = fresh._runner
        assert runner is not None
        runner._generation += 1  # what a restart does to the key
        again = fresh.run("print(sorted({'a', 'b'}))")
    assert not again.cache_hit and again.stdout == "['a', 'b']\n"


def _result(stdout: str, status: str = "ok") -> ExecutionResult:
    return ExecutionResult(status=status, stdout=stdout)  # type: ignore[arg-type]


def test_result_cache_expires_after_its_ttl() -> None:
    now = [100.0]
    cache = ResultCache(10, 1 << 20, ttl_s=5, clock=lambda: now[0])
    assert cache.put("k", _result("x"))
    now[0] += 4.9
    hit = cache.get("k")
    assert hit is not None and hit.stdout == "x"
    now[0] += 0.2
    assert cache.get("k") is None and len(cache) == 0


def test_result_cache_drops_the_least_recent_beyond_its_bounds() -> None:
    cache = ResultCache(2, 1 << 20, ttl_s=60)
    for key in ("a", "b"):
        cache.put(key, _result(key))
    cache.get("a")
    cache.put("c", _result("c"))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    size = len(_result("y" * 100).model_dump_json())
    small = ResultCache(100, size * 2, ttl_s=60)
    for key in "pqr":
        small.put(key, _result("y" * 100))
    assert len(small) == 2 and small.get("p") is None
    assert not small.put("big", _result("z" * size * 3))


@pytest.mark.parametrize("status", ["timeout", "memory_limit", "crashed", "rejected"])
def test_result_cache_refuses_endings_decided_by_the_machine(status: str) -> None:
    cache = ResultCache(10, 1 << 20, ttl_s=60)
    assert not cache.put("k", _result("", status)) and cache.get("k") is None


def test_one_tenant_is_never_served_another_tenants_cached_result() -> None:
    # A hit answers faster than a run: sharing entries would tell one tenant what another ran.
    with Sandbox(DETERMINISTIC.replace(isolation="inline")) as fresh:
        fresh.run(COMPUTATION, inputs={"n": 7}, tenant="acme")
        other = fresh.run(COMPUTATION, inputs={"n": 7}, tenant="globex")
        again = fresh.run(COMPUTATION, inputs={"n": 7}, tenant="acme")
    assert (other.cache_hit, again.cache_hit) == (False, True)
