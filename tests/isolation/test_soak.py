"""Many mixed runs through one runner leave the host exactly as it was: no zombies, flat fd
count, flat RSS (within 5%)."""

from __future__ import annotations

import os
import threading

import pytest

from isolation.unrestricted_entry import UnrestrictedRunner
from restricted_exec.isolation import classify

from .support import lasting_zombies, open_fds, run_source

# The child's ending: None where it replied (its payload then holds the run's status).
MIX: list[tuple[str | None, str, dict[str, object]]] = [
    (None, "print(sum(range(1000)))", {}),
    (None, "x = [i * i for i in range(10000)]", {}),
    ("timeout", "while True: pass", {"wall_s": 0.1}),
    ("crashed", "import os; os.abort()", {}),
    (None, "x = bytearray(200 * 1024 * 1024)", {"memory_mb": 32}),  # MemoryError
    ("crashed", "print('x' * 1_000_000)", {"max_payload_bytes": 10_000}),  # flood
    ("crashed", "import ctypes; ctypes.string_at(0)", {}),
    (None, "import socket; socket.socket()", {}),  # denied, reported in payload
    ("crashed", "import os; os.write(3, b'garbage' * 10)", {}),
    (None, "print('benign')", {}),
]


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _soak(total: int) -> None:
    threads_before = set(threading.enumerate())
    with UnrestrictedRunner(prefork=2) as runner:
        fork_server = runner._fork_server
        assert fork_server is not None

        def one_round(index: int) -> None:
            expected, source, limits = MIX[index % len(MIX)]
            outcome = run_source(runner, source, **limits)  # type: ignore[arg-type]
            assert classify(outcome).status == expected, (source, outcome)

        warm = 3 * len(MIX)
        for i in range(warm):
            one_round(i)
        fds_before = open_fds()
        rss_before = _rss_kb()
        for i in range(warm, warm + total):
            one_round(i)
        assert open_fds() == fds_before
        assert _rss_kb() <= rss_before * 1.05
        assert lasting_zombies(os.getpid(), fork_server.pid) == []
        assert runner._fork_server is fork_server  # never needed a restart
    # No thread of its own is left (one an earlier test left may end meanwhile).
    assert set(threading.enumerate()) <= threads_before
    assert lasting_zombies(os.getpid()) == []


def test_a_short_soak_of_mixed_runs_leaves_the_host_unchanged() -> None:
    _soak(300)


@pytest.mark.slow
def test_a_long_soak_of_ten_thousand_mixed_runs_leaves_the_host_unchanged() -> None:
    _soak(10_000)
