"""FairScheduler and TenantQuota: quotas reject at once, slots go round-robin, nobody hangs."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from restricted_exec.host.scheduling import FairScheduler, Rejection, Slot
from restricted_exec.host.tenants import DEFAULT_TENANT, TenantQuota, TokenBucket, tenant_name
from restricted_exec.policy import Policy

# Generous: only reached if the code under test hangs.
JOIN_S = 30.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll until ``condition`` holds; fail (instead of hanging) after JOIN_S."""
    deadline = time.monotonic() + JOIN_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.001)


def queued(scheduler: FairScheduler, tenant: str) -> int:
    load = scheduler.snapshot().tenants.get(tenant)
    return load.queued if load is not None else 0


def queued_is(scheduler: FairScheduler, tenant: str, n: int) -> Callable[[], bool]:
    return lambda: queued(scheduler, tenant) == n


def take(scheduler: FairScheduler, tenant: str | None) -> Slot:
    outcome = scheduler.acquire(tenant)
    assert isinstance(outcome, Slot), outcome
    return outcome


def reject(scheduler: FairScheduler, tenant: str | None) -> Rejection:
    outcome = scheduler.acquire(tenant)
    assert isinstance(outcome, Rejection), outcome
    return outcome


class Acquirer(threading.Thread):
    """A thread that acquires once and keeps what it got until told to release."""

    def __init__(self, scheduler: FairScheduler, tenant: str) -> None:
        super().__init__(daemon=True)
        self.scheduler = scheduler
        self.tenant = tenant
        self.outcome: Slot | Rejection | None = None
        self.got = threading.Event()

    def run(self) -> None:
        self.outcome = self.scheduler.acquire(self.tenant)
        self.got.set()


# -- quotas ----------------------------------------------------------------------------------


def test_quota_defaults_burst_from_rate() -> None:
    assert TenantQuota(rate_per_s=2.5).burst == 3
    assert TenantQuota(rate_per_s=0.2).burst == 1
    assert TenantQuota(rate_per_s=2, burst=7).burst == 7
    assert TenantQuota().burst is None


@pytest.mark.parametrize(
    "settings",
    [
        {"burst": 3},
        {"rate_per_s": 0},
        {"rate_per_s": float("inf")},
        {"max_concurrency": 0},
        {"max_queued": -1},
        {"unknown": 1},
    ],
)
def test_quota_refuses_bad_settings(settings: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TenantQuota(**settings)  # type: ignore[arg-type]


def test_quota_is_frozen() -> None:
    quota = TenantQuota(max_concurrency=1)
    with pytest.raises(ValidationError):
        quota.max_concurrency = 2


def test_tenant_names() -> None:
    assert tenant_name(None) == DEFAULT_TENANT == "default"
    assert tenant_name("acme") == "acme"
    with pytest.raises(ValueError):
        tenant_name("")
    with pytest.raises(TypeError):
        tenant_name(3)  # type: ignore[arg-type]


def test_token_bucket_refills_by_clock_up_to_capacity() -> None:
    bucket = TokenBucket(rate=0.1, capacity=2, now=0.0)
    for _ in range(2):
        assert bucket.available(0.0)
        bucket.take()
    assert not bucket.available(0.0)
    # Ten refills of a tenth of a token must add up to one despite float rounding.
    for step in range(1, 10):
        assert not bucket.available(float(step))
    assert bucket.available(10.0)
    assert bucket.full(1000.0)
    assert bucket.tokens == 2


def test_policy_override_per_tenant() -> None:
    strict = Policy(timeout_s=1)
    scheduler = FairScheduler(2, 2, quotas={"acme": TenantQuota(policy=strict)})
    assert scheduler.policy_for("acme") is strict
    assert scheduler.policy_for("other") is None
    assert scheduler.policy_for(None) is None


def test_default_quota_applies_to_each_unlisted_tenant_separately() -> None:
    scheduler = FairScheduler(
        10, 10, quotas={"vip": TenantQuota()}, default_quota=TenantQuota(max_concurrency=1)
    )
    take(scheduler, "a")
    take(scheduler, "b")  # b has its own limit, not a's
    take(scheduler, "vip")
    take(scheduler, "vip")
    assert scheduler.snapshot().running == 4


# -- rejections, at once ---------------------------------------------------------------------


def test_rate_limit_rejects_at_once_and_refills_by_the_clock() -> None:
    clock = FakeClock()
    scheduler = FairScheduler(
        8, 8, quotas={"acme": TenantQuota(rate_per_s=2, burst=2)}, clock=clock
    )
    take(scheduler, "acme").release()
    take(scheduler, "acme").release()
    rejection = reject(scheduler, "acme")
    assert rejection.kind == "rate_limit"
    assert rejection.tenant == "acme"
    assert "'acme'" in rejection.reason and "2 runs/s" in rejection.reason
    # Other tenants are not limited by acme's rate.
    take(scheduler, "other").release()
    clock.advance(0.25)  # half a token
    assert reject(scheduler, "acme").kind == "rate_limit"
    clock.advance(0.25)  # one token
    take(scheduler, "acme").release()
    assert reject(scheduler, "acme").kind == "rate_limit"
    clock.advance(60)  # refills to the burst, not beyond
    take(scheduler, "acme").release()
    take(scheduler, "acme").release()
    assert reject(scheduler, "acme").kind == "rate_limit"


def test_queue_rejection_does_not_spend_a_token() -> None:
    clock = FakeClock()
    scheduler = FairScheduler(
        1, 0, quotas={"acme": TenantQuota(rate_per_s=1, burst=2)}, clock=clock
    )
    held = take(scheduler, "acme")
    assert reject(scheduler, "acme").kind == "queue_full"
    held.release()
    take(scheduler, "acme").release()  # the second token is still there


def test_per_tenant_concurrency_limit() -> None:
    scheduler = FairScheduler(10, 10, quotas={"acme": TenantQuota(max_concurrency=2)})
    first, second = take(scheduler, "acme"), take(scheduler, "acme")
    waiter = Acquirer(scheduler, "acme")
    waiter.start()
    wait_until(lambda: queued(scheduler, "acme") == 1, "the third acme run queues")
    # Another tenant is not held up by acme's limit.
    take(scheduler, "other").release()
    assert not waiter.got.is_set()
    first.release()
    waiter.join(JOIN_S)
    assert isinstance(waiter.outcome, Slot)
    assert scheduler.snapshot().tenants["acme"].running == 2
    second.release()
    waiter.outcome.release()
    assert scheduler.snapshot().running == 0


def test_global_queue_limit_rejects_at_once() -> None:
    scheduler = FairScheduler(1, 2)
    held = take(scheduler, "a")
    waiters = [Acquirer(scheduler, tenant) for tenant in ("a", "b")]
    for waiter in waiters:
        waiter.start()
    wait_until(lambda: scheduler.snapshot().queued == 2, "two runs queue")
    rejection = reject(scheduler, "c")
    assert rejection.kind == "queue_full"
    assert "2 runs are already queued" in rejection.reason
    held.release()
    for waiter in waiters:
        waiter.join(JOIN_S)
        assert isinstance(waiter.outcome, Slot)
        waiter.outcome.release()


def test_per_tenant_queue_limit_rejects_at_once() -> None:
    scheduler = FairScheduler(1, 100, quotas={"acme": TenantQuota(max_queued=1)})
    held = take(scheduler, "other")
    waiter = Acquirer(scheduler, "acme")
    waiter.start()
    wait_until(lambda: queued(scheduler, "acme") == 1, "one acme run queues")
    rejection = reject(scheduler, "acme")
    assert rejection.kind == "tenant_queue_full"
    assert "'acme'" in rejection.reason
    # Other tenants may still queue.
    other = Acquirer(scheduler, "other")
    other.start()
    wait_until(lambda: queued(scheduler, "other") == 1, "another tenant's run queues")
    held.release()
    for thread in (waiter, other):
        thread.join(JOIN_S)
        assert isinstance(thread.outcome, Slot)
        thread.outcome.release()


def test_acquire_timeout_leaves_the_queue() -> None:
    scheduler = FairScheduler(1, 5)
    held = take(scheduler, "a")
    outcome = scheduler.acquire("b", timeout=0.01)
    assert isinstance(outcome, Rejection) and outcome.kind == "timeout"
    assert scheduler.snapshot().queued == 0
    held.release()
    take(scheduler, "b").release()


# -- slots -----------------------------------------------------------------------------------


def test_release_is_idempotent_and_a_context_manager() -> None:
    scheduler = FairScheduler(1, 0)
    with take(scheduler, None) as slot:
        assert slot.tenant == DEFAULT_TENANT
        assert scheduler.snapshot().tenants[DEFAULT_TENANT].running == 1
    assert slot.released
    slot.release()
    slot.release()
    # A double release must not free a second slot.
    held = take(scheduler, None)
    assert reject(scheduler, None).kind == "queue_full"
    held.release()
    assert scheduler.snapshot().running == 0
    assert scheduler.snapshot().tenants == {}


def test_fifo_within_a_tenant() -> None:
    scheduler = FairScheduler(1, 10)
    held = take(scheduler, "a")
    order: list[int] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        slot = take(scheduler, "a")
        with lock:
            order.append(index)
        slot.release()

    threads = []
    for index in range(5):
        thread = threading.Thread(target=run, args=(index,), daemon=True)
        thread.start()
        threads.append(thread)
        wait_until(queued_is(scheduler, "a", index + 1), "the caller queues")
    held.release()
    for thread in threads:
        thread.join(JOIN_S)
    assert order == [0, 1, 2, 3, 4]


def test_fairness_under_concurrent_load() -> None:
    """Tenant A queues 40 runs, then B queues 3: B's runs interleave, they do not wait for A's."""
    scheduler = FairScheduler(1, 100)
    held = take(scheduler, "A")
    grants: list[str] = []
    lock = threading.Lock()

    def run(tenant: str) -> None:
        slot = take(scheduler, tenant)
        with lock:  # only one slot exists, so this is the order of grants
            grants.append(tenant)
        slot.release()

    a_threads = [threading.Thread(target=run, args=("A",), daemon=True) for _ in range(40)]
    for thread in a_threads:
        thread.start()
    wait_until(lambda: queued(scheduler, "A") == 40, "A's 40 runs queue")
    b_threads = [threading.Thread(target=run, args=("B",), daemon=True) for _ in range(3)]
    for thread in b_threads:
        thread.start()
    wait_until(lambda: queued(scheduler, "B") == 3, "B's 3 runs queue")
    held.release()
    for thread in a_threads + b_threads:
        thread.join(JOIN_S)
        assert not thread.is_alive()
    assert sorted(grants) == ["A"] * 40 + ["B"] * 3
    b_positions = [index for index, tenant in enumerate(grants) if tenant == "B"]
    # Round-robin: A (ahead in the round), B, A, B, A, B.
    assert b_positions == [1, 3, 5], grants


def test_round_robin_skips_tenants_at_their_own_limit() -> None:
    scheduler = FairScheduler(2, 10, quotas={"A": TenantQuota(max_concurrency=1)})
    a_slot = take(scheduler, "A")
    b_slot = take(scheduler, "B")
    a_waiter, b_waiter = Acquirer(scheduler, "A"), Acquirer(scheduler, "B")
    a_waiter.start()
    wait_until(lambda: queued(scheduler, "A") == 1, "A queues")
    b_waiter.start()
    wait_until(lambda: queued(scheduler, "B") == 1, "B queues")
    # B's slot frees: A is first in the round but at its own limit, so B's waiter gets it.
    b_slot.release()
    b_waiter.join(JOIN_S)
    assert isinstance(b_waiter.outcome, Slot)
    assert not a_waiter.got.is_set()
    a_slot.release()
    a_waiter.join(JOIN_S)
    assert isinstance(a_waiter.outcome, Slot)
    a_waiter.outcome.release()
    b_waiter.outcome.release()
    assert scheduler.snapshot().running == 0


def test_no_lost_wakeups_under_threaded_stress() -> None:
    max_concurrency = 3
    quotas = {
        "a": TenantQuota(max_concurrency=2, max_queued=6),
        "b": TenantQuota(max_concurrency=1),
        "c": TenantQuota(rate_per_s=1e6, burst=50),
    }
    scheduler = FairScheduler(max_concurrency, 20, quotas=quotas)
    limits = {"a": 2, "b": 1, "c": max_concurrency, "d": max_concurrency}
    lock = threading.Lock()
    holding = {tenant: 0 for tenant in limits}
    counts = {"total": 0, "peak": 0, "slots": 0, "rejections": 0, "over": 0}
    outcomes: list[int] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        done = 0
        for _ in range(40):
            tenant = rng.choice("abcd")
            timeout = 0.002 if rng.random() < 0.1 else None
            outcome = scheduler.acquire(tenant, timeout=timeout)
            if isinstance(outcome, Rejection):
                with lock:
                    counts["rejections"] += 1
                done += 1
                continue
            with lock:
                holding[tenant] += 1
                counts["total"] += 1
                counts["slots"] += 1
                counts["peak"] = max(counts["peak"], counts["total"])
                if counts["total"] > max_concurrency or holding[tenant] > limits[tenant]:
                    counts["over"] += 1
            if rng.random() < 0.5:
                time.sleep(rng.random() / 2000)
            with lock:
                holding[tenant] -= 1
                counts["total"] -= 1
            outcome.release()
            done += 1
        with lock:
            outcomes.append(done)

    threads = [threading.Thread(target=worker, args=(seed,), daemon=True) for seed in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_S)
        assert not thread.is_alive(), "a caller hung: a wake-up was lost"
    assert outcomes == [40] * 32
    assert counts["over"] == 0
    assert counts["slots"] + counts["rejections"] == 32 * 40
    assert counts["slots"] > 0 and counts["peak"] >= 2  # runs did overlap
    final = scheduler.snapshot()
    assert (final.running, final.queued) == (0, 0)


# -- close and interruption ------------------------------------------------------------------


def test_close_rejects_waiters_and_new_callers() -> None:
    scheduler = FairScheduler(1, 10)
    held = take(scheduler, "a")
    waiters = [Acquirer(scheduler, tenant) for tenant in ("a", "b", "b")]
    for waiter in waiters:
        waiter.start()
    wait_until(lambda: scheduler.snapshot().queued == 3, "three runs queue")
    scheduler.close()
    for waiter in waiters:
        waiter.join(JOIN_S)
        assert isinstance(waiter.outcome, Rejection)
        assert waiter.outcome.kind == "closed"
        assert waiter.outcome.reason == "sandbox closed"
    assert reject(scheduler, "a").kind == "closed"
    held.release()  # a slot held across close is released normally
    assert scheduler.snapshot().running == 0
    scheduler.close()


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="needs the main thread"
)
def test_keyboard_interrupt_while_waiting_leaves_the_queue() -> None:
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is handled by something else here")
    scheduler = FairScheduler(1, 10)
    held = take(scheduler, "a")
    main = threading.main_thread().ident
    assert main is not None

    def interrupt() -> None:
        wait_until(lambda: queued(scheduler, "b") == 1, "the main thread queues")
        signal.pthread_kill(main, signal.SIGINT)

    interrupter = threading.Thread(target=interrupt, daemon=True)
    interrupter.start()
    with pytest.raises(KeyboardInterrupt):
        scheduler.acquire("b")
    interrupter.join(JOIN_S)
    assert scheduler.snapshot().queued == 0
    # The interrupted caller is gone: the next caller gets the slot, nobody waits for b.
    other = Acquirer(scheduler, "c")
    other.start()
    wait_until(lambda: queued(scheduler, "c") == 1, "c queues")
    held.release()
    other.join(JOIN_S)
    assert isinstance(other.outcome, Slot)
    other.outcome.release()
    assert scheduler.snapshot().running == 0


def test_interrupted_waiter_gives_back_a_slot_handed_to_it() -> None:
    """If the slot arrives just as the waiter is interrupted, the slot goes on, not lost."""
    scheduler = FairScheduler(1, 10)
    held = take(scheduler, "a")

    class Interrupted(BaseException):
        pass

    original_wait = threading.Event.wait

    def wait_then_interrupt(event: threading.Event, timeout: float | None = None) -> bool:
        woken = original_wait(event, timeout)
        if threading.current_thread() is patched:
            raise Interrupted  # arrives after the slot was handed over
        return woken

    outcome: list[BaseException] = []

    def caller() -> None:
        try:
            scheduler.acquire("b")
        except Interrupted as problem:
            outcome.append(problem)

    patched = threading.Thread(target=caller, daemon=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(threading.Event, "wait", wait_then_interrupt)
        patched.start()
        wait_until(lambda: queued(scheduler, "b") == 1, "b queues")
        follower = Acquirer(scheduler, "c")
        follower.start()
        wait_until(lambda: queued(scheduler, "c") == 1, "c queues")
    held.release()  # hands the slot to b, whose wait then raises
    patched.join(JOIN_S)
    assert len(outcome) == 1
    follower.join(JOIN_S)
    assert isinstance(follower.outcome, Slot), "the slot b dropped was not handed on"
    follower.outcome.release()
    assert scheduler.snapshot().running == 0
