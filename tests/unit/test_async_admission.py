"""Async callers go through the same bounded admission as threads: past max_concurrency
running and queue_limit waiting, an async run is rejected at once, never parked in an
executor's unbounded queue."""

from __future__ import annotations

import asyncio
import time

from restricted_exec import Policy, Sandbox

SLOW = "import time\ntime.sleep(0.4)\n'done'"


def test_async_runs_past_the_sandboxs_room_are_rejected_at_once() -> None:
    async def scenario(sandbox: Sandbox) -> tuple[list[str], float]:
        started = time.monotonic()
        rejected_at: list[float] = []

        async def one() -> str:
            result = await sandbox.run_async(SLOW)
            if result.status == "rejected":
                rejected_at.append(time.monotonic() - started)
            return result.status

        statuses = await asyncio.gather(*(one() for _ in range(12)))
        return statuses, max(rejected_at, default=0.0)

    with Sandbox(Policy(timeout_s=5), max_concurrency=1, queue_limit=1) as sandbox:
        statuses, last_rejection = asyncio.run(scenario(sandbox))
        stats = sandbox.stats()
    assert statuses.count("ok") == 2 and statuses.count("rejected") == 10
    assert last_rejection < 0.3  # refused before any run finished, not after waiting
    assert stats.tenants["default"].rejected.get("queue_full") == 10


def test_async_session_runs_share_the_same_bound() -> None:
    async def scenario(sandbox: Sandbox) -> list[str]:
        sessions = [sandbox.session() for _ in range(4)]
        results = await asyncio.gather(*(session.run_async(SLOW) for session in sessions))
        for session in sessions:
            session.close()
        return [result.status for result in results]

    with Sandbox(Policy(timeout_s=5), max_concurrency=1, queue_limit=1) as sandbox:
        statuses = asyncio.run(scenario(sandbox))
    assert statuses.count("ok") == 2 and statuses.count("rejected") == 2


def test_a_run_async_gets_the_callers_context_variables() -> None:
    import contextvars

    seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")

    def host_function() -> str:
        return seen.get()

    async def scenario(sandbox: Sandbox) -> object:
        seen.set("the caller's")
        return (await sandbox.run_async("ask()", functions={"ask": host_function})).value

    with Sandbox(Policy(timeout_s=5)) as sandbox:
        assert asyncio.run(scenario(sandbox)) == "the caller's"
