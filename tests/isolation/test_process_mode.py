"""Process mode through the public API: every ending becomes the right status."""

from __future__ import annotations

import os
import threading
import time

import pytest

import restricted_exec
from restricted_exec import Policy, Sandbox

REQUIRED_LAYERS = {"rlimits", "no_new_privs", "seccomp", "landlock", "setsid", "watchdog"}


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    with Sandbox(Policy(timeout_s=2, memory_mb=64)) as sandbox:
        yield sandbox


def test_process_is_the_default_isolation() -> None:
    assert Policy().isolation == "process"
    result = restricted_exec.run("print(6 * 7)")
    assert result.isolation == "process"
    assert result.stdout == "42\n"
    assert set(result.layers) >= REQUIRED_LAYERS
    assert result.cpu_ms is not None and result.peak_rss_kb is not None


def test_program_runs_in_another_process(sandbox: Sandbox) -> None:
    # time.time() is allowed; os.getpid() is not, so compare through a side channel:
    # the child's peak RSS is its own, far below a host that imported pytest.
    result = sandbox.run("sum(range(1000))")
    assert result.value == 499500
    assert result.isolation == "process"


@pytest.mark.parametrize(
    ("source", "status", "kind"),
    [
        ("import time\ntime.sleep(100)", "timeout", "wall"),
        ("while True:\n    pass", "timeout", None),
        ("10 ** 10 ** 8", "timeout", None),
        ("x = 'a' * (10 ** 9)", "memory_limit", None),
        ("x = [0] * 10 ** 9", "memory_limit", None),
        ("x = [1]\nwhile True:\n    x = x + x", "memory_limit", None),
    ],
    ids=["sleep", "busy-loop", "one-long-c-call", "string-bomb", "list-bomb", "doubling"],
)
def test_limits_end_runs_with_the_right_status(
    sandbox: Sandbox, source: str, status: str, kind: str | None
) -> None:
    started = time.monotonic()
    result = sandbox.run(source)
    elapsed = time.monotonic() - started
    assert result.status == status, result.error
    if kind is not None:
        assert result.timeout_kind == kind
    if status == "timeout":
        assert result.timeout_kind in ("wall", "cpu")
    assert elapsed < 2 + 5  # the watchdog stops it; generous for a loaded CI machine


def test_output_flood_is_cut_in_the_child(sandbox: Sandbox) -> None:
    result = sandbox.run(
        "while True:\n    print('x' * 1000)", policy=Policy(output_bytes=5000, timeout_s=5)
    )
    assert result.status == "output_limit"
    assert result.stdout_truncated
    assert len(result.stdout.encode()) == 5000


def test_a_full_queue_rejects_at_once() -> None:
    with Sandbox(Policy(timeout_s=2), max_concurrency=1, queue_limit=0, prefork=1) as sandbox:
        sandbox.run("1")  # start the fork server
        slow = threading.Thread(target=sandbox.run, args=("import time\ntime.sleep(1)",))
        slow.start()
        time.sleep(0.2)
        started = time.monotonic()
        result = sandbox.run("print('late')")
        assert result.status == "rejected"
        assert time.monotonic() - started < 0.5
        slow.join()


def test_closing_the_sandbox_stops_its_processes() -> None:
    sandbox = Sandbox()
    sandbox.run("1")
    runner = sandbox._runner
    assert runner is not None
    fork_server_pid = runner._fork_server.pid  # type: ignore[union-attr]
    sandbox.close()
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(fork_server_pid, 0)
    with pytest.raises(restricted_exec.SandboxClosedError):
        sandbox.run("1")


def test_concurrent_callers_each_get_their_own_child(sandbox: Sandbox) -> None:
    results: list[restricted_exec.ExecutionResult] = []
    lock = threading.Lock()

    def call(index: int) -> None:
        result = sandbox.run(f"counter = {index}\ncounter += 1\ncounter")
        with lock:
            results.append(result)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.value for r in results) == list(range(1, 13))


def test_inputs_and_values_cross_the_process_boundary_with_their_types(sandbox: Sandbox) -> None:
    from decimal import Decimal
    from fractions import Fraction

    result = sandbox.run(
        "total = sum(prices) * rate\n(total, share * 3, when, big + 1)",
        inputs={
            "prices": [Decimal("1.10"), Decimal("2.25")],
            "rate": Decimal("2"),
            "share": Fraction(1, 3),
            "when": __import__("datetime").date(2024, 2, 29),
            "big": 2**20000,
        },
    )
    assert result.ok, result.error
    assert result.value == [
        Decimal("6.70"),
        Fraction(1),
        __import__("datetime").date(2024, 2, 29),
        2**20000 + 1,
    ]
    assert str(result.value[0]) == "6.70"


def test_children_do_not_repeat_each_others_random_draws(sandbox: Sandbox) -> None:
    # statistics draws from the stdlib's shared generator, which every child inherits from the
    # fork server: unless it is reseeded for each child, every run would print the same "random"
    # numbers.
    program = sandbox.compile_program("from statistics import NormalDist\nNormalDist().samples(4)")
    draws = {tuple(program.run().value) for _ in range(3)}
    assert len(draws) == 3


_FORK_PROBE = """
import os, sys, threading
from restricted_exec.isolation import forking
hooks_ran = []
os.register_at_fork(after_in_child=lambda: hooks_ran.append(1))
def child_saw_hooks():
    pid = forking.fork()
    if pid == 0:
        os._exit(len(hooks_ran))
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
alone = child_saw_hooks()
blocker = threading.Event()
helper = threading.Thread(target=blocker.wait)
helper.start()
with_thread = child_saw_hooks()
blocker.set()
helper.join()
print(alone, with_thread)
"""


def test_children_are_forked_without_the_fork_servers_hooks() -> None:
    # A single-threaded fork server forks through libc directly (see forking.py); with a second
    # thread it must fall back to os.fork(), whose hooks make the child consistent again.
    import subprocess
    import sys

    probe = subprocess.run(
        [sys.executable, "-c", _FORK_PROBE], capture_output=True, text=True, check=True
    )
    assert probe.stdout.split() == ["0", "1"]


_SHARED_RANDOM_PROBE = """
import os, random
from restricted_exec.isolation import forking
forking.seed_shared_random_on_first_draw()
random.random()  # the parent draws too: its children must still not continue its sequence
def child_draw():
    read, write = os.pipe()
    pid = forking.fork()
    if pid == 0:
        os.write(write, repr((random.random(), random.randrange(10**9))).encode())
        os._exit(0)
    os.close(write)
    drawn = os.read(read, 200).decode()
    os.waitpid(pid, 0)
    return drawn
print(child_draw())
print(child_draw())
print(repr((random.random(), random.randrange(10**9))))
"""


def test_forked_children_never_share_the_stdlib_random_sequence() -> None:
    # The fork server skips CPython's after-fork reseed (see forking.py); the shared generator
    # seeds itself on a child's first draw instead. Without that, both children (and the
    # parent's next draw) would print the same numbers.
    import subprocess
    import sys

    probe = subprocess.run(
        [sys.executable, "-c", _SHARED_RANDOM_PROBE], capture_output=True, text=True, check=True
    )
    draws = probe.stdout.splitlines()
    assert len(draws) == 3
    assert len(set(draws)) == 3


# Extension modules that only the host side (threads, subprocess, tempfile, shutil) or wrapt's
# extras (asyncio, ssl, importlib.metadata with zipfile, csv, bz2, lzma) load.
_HOST_ONLY_EXTENSIONS = ("_asyncio", "_ssl", "_posixsubprocess", "_bz2", "_lzma", "_csv")


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads /proc/<pid>/maps")
def test_the_fork_server_carries_only_what_children_use(sandbox: Sandbox) -> None:
    # Every fork copies, and every child's exit tears down, the page tables of the fork server's
    # heap: modules no child uses make every run slower (benchmarks/cpu_per_run.py).
    sandbox.run("1")
    runner = sandbox._runner
    assert runner is not None and runner._fork_server is not None
    with open(f"/proc/{runner._fork_server.pid}/maps") as maps:
        mapped = maps.read()
    assert [name for name in _HOST_ONLY_EXTENSIONS if f"/{name}." in mapped] == []


_WRAPT_CORE_PROBE = """
import sys
from restricted_exec.isolation import wrapt_core
installed = wrapt_core.install()
import wrapt
from restricted_exec.language.modules import ModuleTable
proxy = ModuleTable(frozenset({"math"})).get("math")
again = wrapt_core.install()
print(installed, again, isinstance(proxy, wrapt.BaseObjectProxy), proxy.sqrt(16.0),
      "asyncio" in sys.modules, "importlib.metadata" in sys.modules)
"""


def test_the_fork_servers_wrapt_holds_the_proxies_without_the_rest_of_wrapt() -> None:
    import subprocess
    import sys

    probe = subprocess.run(
        [sys.executable, "-c", _WRAPT_CORE_PROBE], capture_output=True, text=True, check=True
    )
    assert probe.stdout.split() == ["True", "False", "True", "4.0", "False", "False"]
