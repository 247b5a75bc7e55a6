"""Many mixed runs through one Sandbox, from several threads, leave the host unchanged.

Short in the default run; the 10,000-run version is marked ``slow``:
``python -m pytest -m slow tests/isolation/test_sandbox_soak.py``.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from isolation.support import lasting_zombies, open_fds  # tests/ is on sys.path (pytest rootdir)
from restricted_exec import Policy, Sandbox

MIX: list[tuple[str, str]] = [
    ("ok", "print(sum(range(1000)))"),
    ("ok", "P = 3000 * 12\nr = 0.05\nprint(round(P * ((1 + r) ** 5 - 1) / r, 2))"),
    ("error", "1 / 0"),
    ("policy_violation", "import os"),
    ("syntax_error", "def ("),
    ("timeout", "while True:\n    pass"),
    ("timeout", "import time\ntime.sleep(100)"),
    ("memory_limit", "x = [0] * 10 ** 9"),
    ("output_limit", "while True:\n    print('flood' * 100)"),
    ("error", "getattr(1, '__class__')"),
    ("ok", "import statistics\nstatistics.mean([1, 2, 3, 4])"),
]

POLICY = Policy(timeout_s=10, memory_mb=64, output_bytes=10_000)
# The hangs get a short wall-clock limit, so the soak stays short; every other program gets a
# generous one, so that a stall of this shared VM cannot turn a trivial program into a timeout.
HANG_POLICY = Policy(timeout_s=0.3, memory_mb=64, output_bytes=10_000)


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS line")


def _fds_besides_waiting_children(sandbox: Sandbox) -> int:
    """This process's open descriptors, less its waiting children's sockets: the runner keeps
    between one and two prefork's worth of them (children kept for another program's runs),
    and which it holds at a given moment is no leak either way."""
    runner = sandbox._runner
    assert runner is not None
    open_fds()  # (waits for the waiting children to be topped up)
    with runner._lock:  # (which a top-up holds while it adds a child's socket)
        return len(os.listdir("/proc/self/fd")) - len(runner._ready)


def _soak(total: int, callers: int = 4) -> None:
    threads_before = threading.active_count()
    with Sandbox(POLICY, max_concurrency=2) as sandbox, ThreadPoolExecutor(callers) as pool:

        def one(index: int) -> None:
            expected, source = MIX[index % len(MIX)]
            result = sandbox.run(source, policy=HANG_POLICY if expected == "timeout" else None)
            assert result.status == expected, (source, result.error)

        list(pool.map(one, range(3 * len(MIX))))  # warm: fork server, caches, thread pool
        fds_before = _fds_besides_waiting_children(sandbox)
        rss_before = _rss_kb()
        # In blocks: pool.map submits everything at once, and 10,000 pending
        # futures would grow this process's RSS by themselves.
        for start in range(0, total, 100):
            list(pool.map(one, range(start, min(start + 100, total))))
        runner = sandbox._runner
        assert runner is not None and runner._fork_server is not None
        assert lasting_zombies(os.getpid(), runner._fork_server.pid) == []
        # No more than before (fewer is no leak: the runner may have retired a primed fork
        # server meanwhile).
        assert _fds_besides_waiting_children(sandbox) <= fds_before
        assert _rss_kb() <= rss_before * 1.05
    assert threading.active_count() == threads_before
    assert lasting_zombies(os.getpid()) == []


def test_a_short_soak_through_one_sandbox_leaves_the_host_unchanged() -> None:
    _soak(220)


@pytest.mark.slow
def test_a_long_soak_of_ten_thousand_runs_leaves_the_host_unchanged() -> None:
    _soak(10_000)
