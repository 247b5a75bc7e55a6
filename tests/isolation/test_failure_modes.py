"""Every way a child can end gives a ChildOutcome, never an exception, zombie, fd or thread."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time

import pytest

from isolation.unrestricted_entry import UnrestrictedRunner, decode, encode
from restricted_exec.isolation import ChildLimits, QueueFull, RunnerClosed, classify

from .support import lasting_zombies, open_fds, run_ok, run_source

# Margins are deliberately generous: these are correctness tests, not timing benchmarks.
MARGIN_S = 2.0


def test_a_trivial_program_replies_with_its_payload(runner: UnrestrictedRunner) -> None:
    outcome = run_source(runner, "print(6 * 7)")
    assert classify(outcome).replied
    assert outcome.payload is not None
    assert decode(outcome.payload)["stdout"] == "42\n"
    assert outcome.cpu_ms is not None and outcome.peak_rss_kb is not None
    assert {"seccomp", "landlock", "rlimits", "watchdog"} <= set(outcome.layers)


def test_every_run_gets_a_fresh_process(runner: UnrestrictedRunner) -> None:
    pids = {run_ok(runner, "import os; print(os.getpid())")["stdout"] for _ in range(5)}
    assert len(pids) == 5


def test_nothing_survives_from_one_run_to_the_next(runner: UnrestrictedRunner) -> None:
    run_ok(runner, "import sys; sys.leftover = 1")
    assert run_ok(runner, "import sys; print(hasattr(sys, 'leftover'))")["stdout"] == "False\n"


def test_an_abort_is_a_crash_named_sigabrt(runner: UnrestrictedRunner) -> None:
    result = classify(run_source(runner, "import os; os.abort()"))
    assert (result.status, result.signal_name) == ("crashed", "SIGABRT")


def test_a_segfault_is_a_crash_named_sigsegv(runner: UnrestrictedRunner) -> None:
    result = classify(run_source(runner, "import ctypes; ctypes.string_at(0)"))
    assert (result.status, result.signal_name) == ("crashed", "SIGSEGV")


@pytest.mark.parametrize(
    "source",
    [
        "import time; time.sleep(1e9)",
        "while True: pass",
        "x = 10 ** 10 ** 8",
    ],
    ids=["sleep", "busy-loop", "one-huge-C-call"],
)
def test_a_hang_is_killed_by_the_watchdog_as_a_wall_timeout(
    runner: UnrestrictedRunner, source: str
) -> None:
    started = time.monotonic()
    outcome = run_source(runner, source, wall_s=0.5, cpu_s=30.0)
    elapsed = time.monotonic() - started
    result = classify(outcome)
    assert (result.status, result.timeout_kind) == ("timeout", "wall"), outcome
    assert outcome.killed_by_watchdog
    assert elapsed < 0.5 + MARGIN_S


def test_the_host_stays_responsive_while_a_child_hangs(runner: UnrestrictedRunner) -> None:
    hung: list[object] = []
    thread = threading.Thread(
        target=lambda: hung.append(run_source(runner, "while True: pass", wall_s=1.5))
    )
    thread.start()
    try:
        assert run_ok(runner, "print('still here')")["stdout"] == "still here\n"
        assert thread.is_alive()  # the hang is still being timed while we were served
    finally:
        thread.join()
    assert classify(hung[0]).timeout_kind == "wall"  # type: ignore[arg-type]


def test_a_cpu_hog_is_stopped_by_sigxcpu_as_a_cpu_timeout(runner: UnrestrictedRunner) -> None:
    outcome = run_source(runner, "while True: pass", wall_s=20.0, cpu_s=1.0)
    result = classify(outcome)
    assert (result.status, result.timeout_kind, result.signal_name) == (
        "timeout",
        "cpu",
        "SIGXCPU",
    )
    assert not outcome.killed_by_watchdog


def test_allocating_past_the_memory_limit_raises_memoryerror_in_the_child(
    runner: UnrestrictedRunner,
) -> None:
    payload = run_ok(runner, "x = bytearray(300 * 1024 * 1024)", memory_mb=64)
    assert payload["error"]["type"] == "MemoryError"


def test_memory_within_the_limit_is_usable(runner: UnrestrictedRunner) -> None:
    payload = run_ok(runner, "x = bytearray(40 * 1024 * 1024); print(len(x))", memory_mb=64)
    assert payload["stdout"] == f"{40 * 1024 * 1024}\n"


def test_a_huge_string_fails_fast_with_memoryerror(runner: UnrestrictedRunner) -> None:
    payload = run_ok(runner, "x = 'a' * 10**10", memory_mb=64)
    assert payload["error"]["type"] == "MemoryError"


def test_a_child_that_closes_its_socket_early_is_a_crash(runner: UnrestrictedRunner) -> None:
    outcome = run_source(runner, "import os; os.close(3)\nwhile True: pass", wall_s=5.0)
    result = classify(outcome)
    assert result.status == "crashed"
    assert outcome.protocol_error is not None
    assert not outcome.killed_by_watchdog  # detected by EOF, not by waiting for the deadline


def test_a_child_that_exits_without_replying_is_a_crash(runner: UnrestrictedRunner) -> None:
    outcome = run_source(runner, "import os; os._exit(3)")
    assert classify(outcome).status == "crashed"
    assert outcome.exit_code == 3


def test_garbage_on_the_socket_is_a_protocol_error(runner: UnrestrictedRunner) -> None:
    outcome = run_source(runner, "import os; os.write(3, b'not a reply header at all!' * 4)")
    assert classify(outcome).status == "crashed"
    assert outcome.protocol_error is not None and "garbage" in outcome.protocol_error


def test_an_oversized_reply_is_refused_without_being_read(runner: UnrestrictedRunner) -> None:
    source = (
        "import os, struct\n"
        "os.write(3, struct.pack('<4sIQQQ', b'RXok', 0, 0, 0, 10**12))\n"
        "while True: os.write(3, b'x' * 65536)\n"
    )
    outcome = run_source(runner, source, max_payload_bytes=1024, wall_s=5.0)
    assert classify(outcome).status == "crashed"
    assert outcome.protocol_error is not None and "exceeds" in outcome.protocol_error
    assert not outcome.killed_by_watchdog


def test_a_flood_of_output_is_capped_at_the_payload_limit(runner: UnrestrictedRunner) -> None:
    outcome = run_source(runner, "print('x' * 10_000_000)", max_payload_bytes=4096)
    assert classify(outcome).status == "crashed"
    assert outcome.payload is None


def test_a_killed_fork_server_is_replaced_and_the_run_in_flight_reports_crashed() -> None:
    with UnrestrictedRunner(prefork=1) as runner:
        fork_server = runner._fork_server
        assert fork_server is not None
        results: list[object] = []
        thread = threading.Thread(
            target=lambda: results.append(run_source(runner, "while True: pass", wall_s=20.0))
        )
        thread.start()
        time.sleep(0.5)
        os.kill(fork_server.pid, signal.SIGKILL)
        thread.join(15.0)
        assert not thread.is_alive()
        in_flight = results[0]
        assert classify(in_flight).status == "crashed", in_flight  # type: ignore[arg-type]
        assert run_ok(runner, "print('alive')")["stdout"] == "alive\n"
        assert runner._fork_server is not None and runner._fork_server.pid != fork_server.pid
        assert lasting_zombies(os.getpid()) == []


def test_close_is_idempotent_and_later_runs_are_refused() -> None:
    runner = UnrestrictedRunner(prefork=1)
    run_ok(runner, "pass")
    runner.close()
    runner.close()
    with pytest.raises(RunnerClosed):
        run_source(runner, "pass")


def test_a_full_queue_is_refused_with_queuefull() -> None:
    with UnrestrictedRunner(max_concurrency=1, queue_limit=0, prefork=1) as runner:
        started = threading.Event()
        thread = threading.Thread(
            target=lambda: (started.set(), run_source(runner, "import time; time.sleep(1)"))
        )
        thread.start()
        started.wait()
        time.sleep(0.3)
        with pytest.raises(QueueFull):
            run_source(runner, "pass")
        thread.join()


def test_concurrent_callers_are_all_served(runner: UnrestrictedRunner) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def call(i: int) -> None:
        out = run_ok(runner, f"print({i})")["stdout"]
        with lock:
            results.append(out)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=lambda s: int(s)) == [f"{i}\n" for i in range(12)]


def test_closing_leaves_no_zombie_fd_thread_or_directory() -> None:
    fds_before = open_fds()
    threads_before = threading.active_count()
    runner = UnrestrictedRunner(prefork=3)
    fork_server = runner._fork_server
    assert fork_server is not None
    tmpdir = runner._tmpdir
    for source in ("pass", "import os; os.abort()", "while True: pass"):
        run_source(runner, source, wall_s=0.3)
    runner.close()
    assert lasting_zombies(os.getpid(), fork_server.pid) == []
    assert not os.path.exists(f"/proc/{fork_server.pid}")
    assert open_fds() == fds_before
    assert threading.active_count() == threads_before
    assert not os.path.exists(tmpdir)


def test_limits_are_validated_at_the_boundary() -> None:
    with pytest.raises(ValueError):
        ChildLimits(wall_s=0, cpu_s=1, memory_mb=1, max_payload_bytes=1)
    with pytest.raises(ValueError):
        ChildLimits(wall_s=float("nan"), cpu_s=1, memory_mb=1, max_payload_bytes=1)
    with pytest.raises(ValueError):
        ChildLimits(wall_s=1, cpu_s=1, memory_mb=0, max_payload_bytes=1)


def test_a_request_is_opaque_bytes(runner: UnrestrictedRunner) -> None:
    big = "x = " + repr("y" * 500_000) + "\nprint(len(x))"
    assert run_ok(runner, big)["stdout"] == "500000\n"
    assert runner.run(encode("print(1)"), ChildLimits(5, 5, 64, 1 << 16)).payload is not None


def test_waiting_children_wait_at_the_lowest_priority_and_serve_at_normal(
    runner: UnrestrictedRunner,
) -> None:
    # Pre-forked children lock down and warm up at nice 19, so that they take no CPU from a
    # running program; the host puts the one it hands a request back to nice 0.
    if not runner._fork_server or not runner._fork_server.info.renice_waiting:
        pytest.skip("the host cannot raise a process's priority (no CAP_SYS_NICE)")
    assert run_ok(runner, "import os\nprint(os.getpriority(os.PRIO_PROCESS, 0))")["stdout"] == "0\n"
    fork_server_pid = runner._fork_server.pid
    deadline = time.monotonic() + 10
    nices: list[int] = []
    while time.monotonic() < deadline and (not nices or set(nices) != {19}):
        time.sleep(0.01)
        # The waiting children of the fork server and of any primed fork server it forked (a
        # primed fork server is a fork server, not a waiting child).
        servers = [fork_server_pid, *(server.pid for server in runner._fork_servers())]
        waiting = []
        for server_pid in servers:
            with open(f"/proc/{server_pid}/task/{server_pid}/children") as listing:
                waiting += [int(pid) for pid in listing.read().split()]
        waiting = [pid for pid in waiting if pid not in servers]
        nices = []
        for pid in waiting:
            with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
                nices.append(int(stat.read().rsplit(")", 1)[1].split()[16]))
    assert nices and set(nices) == {19}


def test_only_a_run_arriving_at_an_idle_runner_spins_for_its_reply(
    runner: UnrestrictedRunner,
) -> None:
    # Spinning takes a CPU: allowed only when nothing ran for a while and nothing runs now, so
    # that under load (back-to-back or concurrent runs) children keep every CPU.
    from restricted_exec.isolation.pool import SPIN_AFTER_IDLE_S

    run_ok(runner, "pass")
    assert not runner._arrive()  # one just finished
    time.sleep(SPIN_AFTER_IDLE_S * 2)
    assert runner._arrive()
    started = threading.Event()
    release = threading.Event()

    def slow_run() -> None:
        started.set()
        run_source(runner, "import time\ntime.sleep(0.3)")
        release.set()

    caller = threading.Thread(target=slow_run)
    caller.start()
    started.wait()
    time.sleep(0.1)
    try:
        assert not runner._arrive()  # a run is in flight
    finally:
        caller.join()
    assert release.is_set()


def test_a_child_runs_off_its_spinning_callers_cpu_until_the_caller_sleeps(
    runner: UnrestrictedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel may wake the child on the CPU of the caller that wrote its request, where the
    # caller then spins for the reply: the child would wait for the spin to end. Once the caller
    # sleeps (a run longer than its spin), the child may use all its CPUs again.
    from restricted_exec.isolation import channel
    from restricted_exec.isolation.pool import SPIN_AFTER_IDLE_S

    own = os.sched_getaffinity(0)
    if len(own) < 2:
        pytest.skip("needs a second CPU to keep the child on")
    # A spin long enough for a child on a busy machine to look at its CPUs before it ends.
    monkeypatch.setattr(channel, "SPIN_S", 0.25)
    cpu = min(own)
    report = "import os\nprint(sorted(os.sched_getaffinity(0)))"
    os.sched_setaffinity(0, {cpu})  # this thread only: the caller's CPU is known
    try:
        time.sleep(SPIN_AFTER_IDLE_S * 2)  # an idle runner: the caller spins
        quick = run_ok(runner, report)["stdout"]
        time.sleep(SPIN_AFTER_IDLE_S * 2)
        slow = run_ok(runner, f"import time\ntime.sleep(0.5)\n{report}")["stdout"]
    finally:
        os.sched_setaffinity(0, own)
    assert quick == f"{sorted(own - {cpu})}\n"
    assert runner._fork_server is not None
    if "drop_root" in runner.layers_available() and not runner._fork_server.info.renice_waiting:
        # The child dropped root on its request: setting its CPUs then needs CAP_SYS_NICE.
        pytest.skip("this host may not set its children's CPUs back (no CAP_SYS_NICE)")
    assert slow == f"{sorted(own)}\n"


def _ready_count_reaches(runner: UnrestrictedRunner, count: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with runner._lock:
            if len(runner._ready) == count:
                return True
        time.sleep(0.005)
    return False


def test_a_used_child_is_replaced_once_the_fork_server_has_reaped_it() -> None:
    # The caller does not ask for the replacement while another child still waits: the fork server's
    # reader thread does, when the fork server reports the used child reaped. The waiting children
    # are back to `prefork` without any further call.
    with UnrestrictedRunner(prefork=2) as runner:
        for _ in range(3):
            run_ok(runner, "pass")
            assert _ready_count_reaches(runner, 2, within_s=10.0)


def test_a_run_that_takes_the_last_waiting_child_asks_for_its_replacement_itself() -> None:
    # Back-to-back runs must not outpace the reader thread's replacements: a run that leaves no
    # child waiting asks for one before it returns. (The reader's path is switched off here, so
    # only the caller can have asked.)
    with UnrestrictedRunner(prefork=1) as runner:
        runner._replenish_after_exit = lambda fork_server: None  # type: ignore[method-assign]
        for _ in range(3):
            run_ok(runner, "pass")
            with runner._lock:
                assert len(runner._ready) == 1


def test_the_report_reader_does_not_wait_for_a_held_runner_lock() -> None:
    # The reader thread is the only reader of the fork server's exit reports, and the fork server
    # stops reading fork requests while its reports go unread: if the reader waited for a caller
    # that holds the lock while sending a request, the two could wait for each other for ever. It
    # gives up after a moment and leaves the top-up to the next run.
    with UnrestrictedRunner(prefork=1) as runner:
        fork_server = runner._fork_server
        assert fork_server is not None
        gave_up = threading.Event()

        def top_up() -> None:
            runner._replenish_after_exit(fork_server)
            gave_up.set()

        with runner._lock:
            reader = threading.Thread(target=top_up)
            reader.start()
            returned = gave_up.wait(5.0)
        reader.join()
        assert returned
        assert runner._top_up_missed


def test_a_top_up_the_reader_gave_up_is_done_by_the_next_run() -> None:
    with UnrestrictedRunner(prefork=3) as runner:
        runner._replenish_after_exit = lambda fork_server: None  # type: ignore[method-assign]
        assert _ready_count_reaches(runner, 3, within_s=10.0)
        run_ok(runner, "pass")
        with runner._lock:
            assert len(runner._ready) == 2  # a child is still waiting: the run left it at that
        runner._top_up_missed = True
        run_ok(runner, "pass")
        with runner._lock:
            assert len(runner._ready) == 3
            assert not runner._top_up_missed


def test_a_fork_request_the_fork_server_has_no_room_for_is_not_waited_for() -> None:
    # The reader thread asks without waiting: a fork server too busy to read its queue (here:
    # stopped) refuses the request at once, and is not taken for dead.
    with UnrestrictedRunner(prefork=0) as runner:
        fork_server = runner._fork_server
        assert fork_server is not None
        sockets: list[socket.socket] = []
        refused = threading.Event()

        def ask_until_refused() -> None:
            for _ in range(10_000):
                try:
                    sockets.append(fork_server.request_child(wait=False))
                except BlockingIOError:
                    refused.set()
                    return

        # A small send buffer, so that few requests fill it (each one queued is a child forked
        # once the fork server resumes).
        fork_server._ctl.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        os.kill(fork_server.pid, signal.SIGSTOP)
        try:
            asker = threading.Thread(target=ask_until_refused)
            asker.start()
            was_refused = refused.wait(10.0)
        finally:
            os.kill(fork_server.pid, signal.SIGCONT)
        asker.join()
        for sock in sockets:
            sock.close()
        assert was_refused and len(sockets) < 100
        assert not fork_server.dead.is_set()
        assert run_ok(runner, "print('still serving')")["stdout"] == "still serving\n"
