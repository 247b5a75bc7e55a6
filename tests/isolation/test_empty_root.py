"""Less to see: the fork server and its children live in an empty root.

Landlock denies opening files but not stat(), access(), readlink() or the host's name, so with
the language layer gone a child could still learn which host paths exist. Where the host runs as
root, the fork server moves into an empty root of its own once warm (emptyroot.py); children
inherit it. Plain, unrestricted Python runs in the child here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from isolation.unrestricted_entry import UnrestrictedRunner, decode, encode
from restricted_exec.isolation import ChildLimits, classify, wire

from .support import run_ok

LIMITS = ChildLimits(wall_s=10.0, cpu_s=10.0, memory_mb=256, max_payload_bytes=1 << 20)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the empty root needs root")


@pytest.fixture(scope="module")
def rooted() -> Iterator[UnrestrictedRunner]:
    with UnrestrictedRunner(prefork=2) as runner:
        yield runner


def outcome_of(runner: UnrestrictedRunner, source: str) -> str:
    return str(run_ok(runner, f"import os\nprint({source})")["stdout"]).strip()


@needs_root
def test_the_empty_root_is_a_layer_of_every_child(rooted: UnrestrictedRunner) -> None:
    assert "empty_root" in rooted.layers_available()
    outcome = rooted.run(encode("pass"), LIMITS)
    assert classify(outcome).replied
    assert "empty_root" in outcome.layers


@needs_root
def test_a_child_cannot_tell_whether_a_host_file_exists(rooted: UnrestrictedRunner) -> None:
    assert os.path.exists("/etc/passwd")
    payload = run_ok(rooted, "import os\nos.stat('/etc/passwd')")
    assert payload["error"] is not None and payload["error"]["type"] == "FileNotFoundError"
    assert outcome_of(rooted, "os.access('/etc/passwd', os.F_OK)") == "False"
    assert outcome_of(rooted, "os.path.exists('/usr')") == "False"


@needs_root
def test_a_child_cannot_read_where_its_interpreter_lives(rooted: UnrestrictedRunner) -> None:
    payload = run_ok(rooted, "import os\nprint(os.readlink('/proc/self/exe'))")
    assert payload["error"] is not None and payload["error"]["type"] == "FileNotFoundError"
    assert outcome_of(rooted, "os.path.exists('/proc/self')") == "False"


@needs_root
def test_a_child_sees_no_entry_in_the_root_directory(rooted: UnrestrictedRunner) -> None:
    payload = decode_listing(rooted, "/")
    assert payload == [] or payload == "PermissionError"
    assert decode_listing(rooted, "/etc") == "FileNotFoundError"


def decode_listing(runner: UnrestrictedRunner, path: str) -> object:
    source = f"import os\ntry:\n    print(os.listdir({path!r}))\nexcept OSError as e:\n"
    source += "    print(repr(type(e).__name__))"
    outcome = runner.run(encode(source), LIMITS)
    assert outcome.payload is not None, outcome
    text = str(decode(outcome.payload)["stdout"]).strip()
    return eval(text)  # a list or a quoted name, printed by the child above


@needs_root
def test_a_child_does_not_learn_the_host_s_name(rooted: UnrestrictedRunner) -> None:
    assert outcome_of(rooted, "os.uname().nodename") != socket.gethostname()
    assert outcome_of(rooted, "repr(os.getcwd())") == "'/'"


@needs_root
def test_the_fork_server_itself_has_the_empty_root(rooted: UnrestrictedRunner) -> None:
    fork_server = rooted._fork_server
    assert fork_server is not None
    # Seen from the host: the fork server's root is its empty working directory.
    assert os.readlink(f"/proc/{fork_server.pid}/root") != "/"
    assert os.listdir(f"/proc/{fork_server.pid}/root") == []


@needs_root
def test_children_of_a_primed_fork_server_have_the_empty_root_too(
    rooted: UnrestrictedRunner,
) -> None:
    for _ in range(4):
        run = rooted.run(
            encode("import os\nprint(os.path.exists('/etc'))"),
            LIMITS,
            expect_again=True,
        )
        assert run.payload is not None
        assert decode(run.payload)["stdout"] == "False\n"
    assert rooted._primed_servers


@needs_root
def test_memory_limits_still_come_from_the_child_s_real_footprint(
    rooted: UnrestrictedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The address-space baseline (what the address-space limit is added to) is read from
    # /proc/self/statm through a descriptor the fork server kept; without it the child could
    # only guess it from its peak RSS, which it then reports as both.
    from restricted_exec.isolation import channel

    hellos: list[wire.Hello] = []
    read_hello = channel.read_hello

    def spy(sock: socket.socket, deadline: float) -> wire.Hello | None:
        hello = read_hello(sock, deadline)
        if hello is not None:
            hellos.append(hello)
        return hello

    monkeypatch.setattr(channel, "read_hello", spy)
    payload = run_ok(rooted, "x = bytearray(64 * 1024 * 1024)\nprint(len(x))")
    assert payload["stdout"] == f"{64 * 1024 * 1024}\n"
    assert hellos and hellos[0].baseline_vm_kb > hellos[0].baseline_rss_kb


def test_without_root_the_layer_is_reported_missing_with_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from restricted_exec.isolation import emptyroot

    def no_libc(*args: object, **kwargs: object) -> None:
        raise AssertionError("a non-root process must not try the namespaces")

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(emptyroot.ctypes, "CDLL", no_libc)
    proc_fd, why = emptyroot.enter("/nonexistent")
    assert proc_fd is None and "root" in why
