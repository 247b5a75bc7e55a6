"""Tenants through the Sandbox: quotas, per-tenant policies, fairness, stats."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from restricted_exec import Policy, Sandbox
from restricted_exec.host.tenants import TenantQuota
from restricted_exec.metrics import SandboxStats

INLINE = Policy(isolation="inline", timeout_s=5)
SLOW = "import time\ntime.sleep(0.05)\nprint(who)"


def _wait_until(condition: Any, what: str) -> None:
    # Waits for a state, never asserts on elapsed time; the cap only stops a broken test.
    for _ in range(2000):
        if condition():
            return
        time.sleep(0.005)
    pytest.fail(f"never reached: {what}")


def test_a_tenant_over_its_rate_is_rejected_at_once_and_others_are_not() -> None:
    quotas = {"acme": TenantQuota(rate_per_s=0.001, burst=2)}
    with Sandbox(INLINE, tenants=quotas) as sandbox:
        statuses = [sandbox.run("print(1)", tenant="acme").status for _ in range(3)]
        rejected = sandbox.run("print(1)", tenant="acme")
        other = sandbox.run("print(2)", tenant="globex")
    assert statuses == ["ok", "ok", "rejected"]
    assert rejected.error is not None and "'acme'" in rejected.error.message
    assert "rate limit" in rejected.error.message
    assert (other.status, other.stdout) == ("ok", "2\n")


def test_a_tenant_policy_applies_to_its_runs_that_pass_none() -> None:
    quotas = {"strict": TenantQuota(policy=INLINE.replace(modules={"math"}, preload=("math",)))}
    with Sandbox(INLINE, tenants=quotas) as sandbox:
        strict = sandbox.run("import json", tenant="strict")
        default = sandbox.run("import json")
        explicit = sandbox.run("import json", tenant="strict", policy=INLINE)
    assert strict.status == "policy_violation"
    assert (default.status, explicit.status) == ("ok", "ok")


def test_a_full_queue_rejects_at_once() -> None:
    with Sandbox(INLINE, max_concurrency=1, queue_limit=0) as sandbox:
        # A run that holds the only slot until its own 1 s timeout ends it.
        holder = threading.Thread(
            target=sandbox.run,
            args=("while True:\n    pass",),
            kwargs={"policy": INLINE.replace(timeout_s=1)},
        )
        holder.start()
        _wait_until(lambda: sandbox.stats().load.running == 1, "the slot is held")  # type: ignore[union-attr]
        refused = sandbox.run("print(1)")
        holder.join()
    assert refused.status == "rejected"
    assert refused.error is not None and "queued" in refused.error.message


def test_one_tenant_flooding_the_queue_does_not_starve_another() -> None:
    finished: list[str] = []
    lock = threading.Lock()
    process = Policy(timeout_s=5)

    def run(who: str) -> None:
        result = sandbox.run(SLOW, inputs={"who": who}, tenant=who[0], policy=process)
        assert result.status == "ok", result.error
        with lock:
            finished.append(who)

    with Sandbox(process, max_concurrency=1) as sandbox, ThreadPoolExecutor(16) as pool:
        sandbox.run("print(1)")  # start the fork server before the race
        flood = [pool.submit(run, f"a{i}") for i in range(12)]
        _wait_until(lambda: sandbox.stats().load.queued >= 11, "a's flood is queued")  # type: ignore[union-attr]
        late = [pool.submit(run, f"b{i}") for i in range(2)]
        for future in flood + late:
            future.result()
    # Round-robin: once b is queued, every freed slot alternates between a and b,
    # so both b runs finish while most of a's backlog still waits.
    last_b = max(finished.index("b0"), finished.index("b1"))
    assert last_b <= 5, finished


def test_stats_count_runs_by_status_and_tenant() -> None:
    deterministic = INLINE.replace(deterministic=True)
    with Sandbox(INLINE) as sandbox:
        sandbox.run("print(1)", tenant="acme")
        sandbox.run("1/0", tenant="acme")
        sandbox.run("import os", tenant="globex")
        for _ in range(2):
            sandbox.run("print(2)", tenant="globex", policy=deterministic)
        stats = sandbox.stats()
    assert isinstance(stats, SandboxStats)
    assert stats.runs == 5
    assert stats.by_status == {"ok": 3, "error": 1, "policy_violation": 1}
    assert stats.cache_hits == 1
    assert stats.tenants["acme"].runs == 2 and stats.tenants["globex"].runs == 3
    assert stats.tenants["globex"].cache_hits == 1
    assert stats.duration_ms.count == 5


@pytest.mark.parametrize("bad", ["", "x" * 201])
def test_an_invalid_tenant_name_raises(bad: str) -> None:
    with Sandbox(INLINE) as sandbox, pytest.raises(ValueError, match="tenant"):
        sandbox.run("print(1)", tenant=bad)


def test_a_caller_waiting_for_a_slot_gets_sandbox_closed_on_close() -> None:
    from restricted_exec import SandboxClosedError

    sandbox = Sandbox(INLINE.replace(timeout_s=1), max_concurrency=1)
    holder = threading.Thread(target=sandbox.run, args=("while True:\n    pass",))
    holder.start()
    _wait_until(lambda: sandbox.stats().load.running == 1, "the slot is held")  # type: ignore[union-attr]
    errors: list[BaseException] = []

    def wait_for_slot() -> None:
        try:
            sandbox.run("print(1)")
        except SandboxClosedError as error:
            errors.append(error)

    waiter = threading.Thread(target=wait_for_slot)
    waiter.start()
    _wait_until(lambda: sandbox.stats().load.queued == 1, "the waiter is queued")  # type: ignore[union-attr]
    sandbox.close()
    waiter.join()
    holder.join()
    assert len(errors) == 1
