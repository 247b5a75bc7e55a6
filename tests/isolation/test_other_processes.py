"""With the language layer off, a child learns nothing of other processes and signals none.

Plain, unrestricted Python runs in a locked-down child (red-team round 2: getsid answered for
every pid of the host, SO_PEERCRED named the caller, and F_SETOWN + O_ASYNC had the kernel
send SIGIO to a process of the attacker's choosing).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from isolation.unrestricted_entry import UnrestrictedRunner

from .support import error_of, run_ok


@pytest.fixture(scope="module")
def runner() -> Iterator[UnrestrictedRunner]:
    with UnrestrictedRunner(prefork=1) as started:
        yield started


@pytest.mark.parametrize(
    "call",
    [
        "os.getsid(HOST)",
        "os.getpgid(HOST)",
        "os.getpriority(os.PRIO_PROCESS, HOST)",
        "os.sched_getaffinity(HOST)",
        "os.sched_getparam(HOST)",
        "os.sched_getscheduler(HOST)",
    ],
)
def test_a_child_cannot_read_another_process_by_pid(runner: UnrestrictedRunner, call: str) -> None:
    source = f"import os\nHOST = {os.getpid()}\nprint({call})"
    error = error_of(run_ok(runner, source))
    assert error["type"] == "PermissionError", error


def test_a_child_still_reads_its_own_process(runner: UnrestrictedRunner) -> None:
    payload = run_ok(
        runner,
        "import os\nprint(os.getsid(0) == os.getsid(os.getpid()), os.getpgid(0) > 0, "
        "len(os.sched_getaffinity(0)) > 0)",
    )
    assert payload["error"] is None, payload
    assert payload["stdout"] == "True True True\n"


def test_a_child_cannot_name_the_process_at_the_other_end_of_its_socket(
    runner: UnrestrictedRunner,
) -> None:
    source = (
        "import socket, struct\n"
        "from restricted_exec.isolation import wire\n"
        "sock = socket.socket(fileno=wire.CHILD_SOCKET_FD)\n"
        "try:\n"
        "    print(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))\n"
        "finally:\n"
        "    sock.detach()\n"
    )
    error = error_of(run_ok(runner, source))
    assert error["type"] == "PermissionError", error


@pytest.mark.parametrize("command", ["fcntl.F_SETOWN", "fcntl.F_SETSIG", "1024"])
def test_a_child_cannot_ask_the_kernel_to_signal_another_process(
    runner: UnrestrictedRunner, command: str
) -> None:
    source = (
        "import fcntl, os\n"
        "read_end, write_end = os.pipe()\n"
        f"fcntl.fcntl(read_end, {command}, {os.getpid()})\n"
    )
    error = error_of(run_ok(runner, source))
    assert error["type"] == "PermissionError", error


@pytest.mark.parametrize(
    "call",
    [
        "time.clock_gettime((~HOST << 3) | 2)",  # another process's CPU clock, by pid
        "time.clock_getres((~HOST << 3) | 2)",
    ],
)
def test_a_child_cannot_read_another_process_s_cpu_clock(
    runner: UnrestrictedRunner, call: str
) -> None:
    # Red-team round 3: the kernel answers CPU clocks for any pid; seccomp allows only the
    # fixed clocks (the language layer's time functions refuse other ids too).
    source = f"import time\nHOST = {os.getpid()}\nprint({call})"
    error = error_of(run_ok(runner, source))
    assert error["type"] == "PermissionError", error


def test_a_child_still_reads_its_own_clocks(runner: UnrestrictedRunner) -> None:
    payload = run_ok(
        runner,
        "import time\nprint(time.process_time() >= 0, time.thread_time() >= 0, "
        "time.clock_gettime(time.CLOCK_BOOTTIME) > 0)\ntime.sleep(0.001)",
    )
    assert payload["error"] is None, payload
    assert payload["stdout"] == "True True True\n"


def test_a_child_cannot_read_another_process_s_capabilities(runner: UnrestrictedRunner) -> None:
    source = (
        "import ctypes, struct\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"header = ctypes.create_string_buffer(struct.pack('II', 0x20080522, {os.getpid()}))\n"
        "data = ctypes.create_string_buffer(24)\n"
        "result = libc.syscall(125, header, data)\n"
        "print(result, ctypes.get_errno())\n"
    )
    payload = run_ok(runner, source)
    assert payload["stdout"] == "-1 1\n", payload  # EPERM


@pytest.mark.parametrize(
    ("number", "args"),
    [(31, "0, 15, 0"), (71, "0, 13, 0"), (66, "0, 0, 20, 0"), (30, "0, 0, 0")],
    ids=["shmctl_stat_any", "msgctl_stat_any", "semctl_stat_any", "shmat"],
)
def test_a_child_cannot_see_or_use_the_host_s_sysv_ipc_objects(
    runner: UnrestrictedRunner, number: int, args: str
) -> None:
    # Red-team round 4: the *_STAT_ANY commands listed the host's objects whatever their mode,
    # and a world-accessible segment or queue could be read, emptied or written.
    source = (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "buffer = ctypes.create_string_buffer(256)\n"
        f"result = libc.syscall({number}, {args}, buffer)\n"
        "print(result, ctypes.get_errno())\n"
    )
    payload = run_ok(runner, source)
    assert payload["stdout"] == "-1 1\n", payload  # EPERM


FUTEX_PI_PROBE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
word = ctypes.c_uint32({pid})
flags = {flags}
result = libc.syscall(202, ctypes.byref(word), 8 | flags, 0, 0, 0, 0)  # FUTEX_TRYLOCK_PI
print(result, os.strerror(ctypes.get_errno()))
"""


@pytest.mark.parametrize("flags", [0, 128, 256 | 128])
def test_a_child_cannot_probe_for_host_pids_with_priority_inheritance_futexes(
    runner: UnrestrictedRunner, flags: int
) -> None:
    # Red-team round 8: FUTEX_TRYLOCK_PI looks up the owner the lock word names; ESRCH or not
    # listed the host's pids. Refused (EPERM) for a pid that exists and one that does not.
    for pid in (os.getpid(), 2**22 - 3):
        payload = run_ok(runner, FUTEX_PI_PROBE.format(pid=pid, flags=flags))
        assert payload["stdout"] == "-1 Operation not permitted\n", payload


def test_a_child_cannot_read_the_host_s_load_and_process_count(
    runner: UnrestrictedRunner,
) -> None:
    source = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "buffer = ctypes.create_string_buffer(128)\n"
        "print(libc.sysinfo(buffer), os.strerror(ctypes.get_errno()))"
    )
    payload = run_ok(runner, source)
    assert payload["stdout"] == "-1 Function not implemented\n", payload
