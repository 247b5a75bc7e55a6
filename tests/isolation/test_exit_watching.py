"""How the fork server learns that a child exited: a pidfd per child where the kernel has them,
SIGCHLD (through a wakeup pipe) elsewhere. Either way every child is reaped and reported, and a
child starts with SIGCHLD at its default and no wakeup fd."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import ClassVar

import pytest

from isolation.unrestricted_entry import UnrestrictedRunner
from restricted_exec.isolation import classify

from .support import lasting_zombies, run_ok, run_source

SIGNAL_STATE = (
    "import signal\n"
    "print(signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL, signal.set_wakeup_fd(-1))"
)


class _SigchldRunner(UnrestrictedRunner):
    _pidfds: ClassVar[bool] = False


@pytest.fixture(params=[UnrestrictedRunner, _SigchldRunner], ids=["pidfds", "sigchld"])
def watching(request: pytest.FixtureRequest) -> Iterator[UnrestrictedRunner]:
    with request.param(prefork=1) as runner:
        yield runner


def test_a_child_starts_with_sigchld_at_its_default_and_no_wakeup_fd(
    watching: UnrestrictedRunner,
) -> None:
    assert run_ok(watching, SIGNAL_STATE)["stdout"] == "True -1\n"


def test_every_child_is_reaped_and_reported(watching: UnrestrictedRunner) -> None:
    # A crash is classified from the fork server's exit report, which it sends once it reaped the
    # child: without the report the run would wait for it and then call it lost.
    for _ in range(3):
        outcome = run_source(watching, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
        assert classify(outcome).status == "crashed"
        assert outcome.term_signal is not None
    fork_server = watching._fork_server
    assert fork_server is not None
    assert lasting_zombies(fork_server.pid) == []


_UNWATCHED = """
import os, socket, threading
from restricted_exec.isolation import fork_server, wire
from restricted_exec.isolation.forked_child import ChildContext

host, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
ctx = ChildContext(fork_server_pid=os.getpid(), workdir="/", warm_up=lambda: None,
                   prepare=lambda program, base: None, run_prepared=lambda p, i, o: b"",
                   run_session=None, discard=None,
                   available=frozenset(), seccomp_filter=None, landlock_ruleset=None,
                   reset_signals=False)
server = fork_server._ForkServer(ours, ctx, lambda program: None)
pid = os.fork()
if pid == 0:
    os._exit(7)
# As if pidfd_open had failed for this child: no pidfd watches it.
server.children.add(pid)
server.unwatched.add(pid)
serving = threading.Thread(target=server.serve, daemon=True)
serving.start()
host.settimeout(10)
report = host.recv(256)
host.send(wire.CTL_QUIT)
serving.join()
reported_pid, status, _, _ = wire.EXIT.unpack(report[1:])
print(report[:1] == wire.CTL_EXIT, reported_pid == pid, os.waitstatus_to_exitcode(status))
"""


def test_a_child_no_pidfd_watches_is_still_reaped_and_reported() -> None:
    # In its own interpreter: the fork server code reaps any child of its process.
    probe = subprocess.run(
        [sys.executable, "-c", _UNWATCHED], capture_output=True, text=True, timeout=60
    )
    assert probe.stdout.split() == ["True", "True", "7"], probe.stderr
