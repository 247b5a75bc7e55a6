"""Each OS layer proven on its own: plain, unrestricted Python (real builtins, real imports) runs
in the child, and only the OS layers stand between it and the host."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from isolation.unrestricted_entry import HostRootRunner, UnrestrictedRunner

from .support import error_of, run_ok

CANARY = "RESTRICTED_EXEC_TEST_CANARY"
CANARY_VALUE = "host-secret-4f1c"


@pytest.fixture(scope="module")
def canary_runner() -> Iterator[UnrestrictedRunner]:
    # The canary is planted in the host BEFORE the runner (and so the fork server) starts.
    os.environ[CANARY] = CANARY_VALUE
    try:
        with HostRootRunner(prefork=2) as runner:
            yield runner
    finally:
        del os.environ[CANARY]


@pytest.fixture(scope="module")
def runner() -> Iterator[UnrestrictedRunner]:
    # Each layer on its own: the host's files stay in sight (no empty root, see
    # test_empty_root.py), so that what denies them here is Landlock.
    with HostRootRunner(prefork=2) as runner:
        yield runner


def denied(runner: UnrestrictedRunner, source: str) -> dict[str, object]:
    return error_of(run_ok(runner, source))


# ----- network -----------------------------------------------------------------------------


def test_child_cannot_open_a_socket(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "import socket; socket.socket()")["type"] == "PermissionError"


def test_child_cannot_make_a_socketpair(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "import socket; socket.socketpair()")["type"] == "PermissionError"


# ----- filesystem -------------------------------------------------------------------------


def test_child_cannot_write_a_file(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "open('/tmp/escaped.txt', 'w').write('x')")["type"] == "PermissionError"
    assert not os.path.exists("/tmp/escaped.txt")


def test_child_cannot_create_a_file_in_its_working_directory(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "open('here.txt', 'x')")["type"] == "PermissionError"


def test_child_cannot_read_a_file(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "open('/etc/hostname').read()")["type"] == "PermissionError"


def test_child_cannot_read_its_own_environ_through_proc(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "open('/proc/self/environ').read()")["type"] == "PermissionError"


def test_child_cannot_list_a_directory(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "import os; os.listdir('/')")["type"] == "PermissionError"


def test_child_cannot_import_a_module_that_was_not_preloaded(runner: UnrestrictedRunner) -> None:
    # The import system cannot even look at the files, so the module is simply not found.
    error = denied(runner, "import xml.dom.minidom")
    assert error["type"] in {"PermissionError", "ModuleNotFoundError"}


def test_child_cannot_delete_or_rename_files(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "import os; os.unlink('/etc/hostname')")["type"] == "PermissionError"
    assert denied(runner, "import os; os.rename('/tmp', '/tmp2')")["type"] == "PermissionError"


def test_child_cannot_make_an_anonymous_memory_file(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "import os; os.memfd_create('x')")["type"] == "PermissionError"


# ----- processes and threads ------------------------------------------------------------------


def test_child_cannot_execute_a_program(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "import os; os.execv('/bin/true', ['true'])")["type"] == "PermissionError"


def test_child_cannot_run_a_subprocess(runner: UnrestrictedRunner) -> None:
    source = "import subprocess; subprocess.run(['/bin/true'])"
    assert denied(runner, source)["type"] == "PermissionError"


def test_child_cannot_fork(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "import os; os.fork()")["type"] == "PermissionError"


def test_child_cannot_start_a_thread(runner: UnrestrictedRunner) -> None:
    source = "import threading; threading.Thread(target=print).start()"
    assert denied(runner, source)["type"] == "RuntimeError"


def test_child_runs_in_its_own_session_and_process_group(runner: UnrestrictedRunner) -> None:
    out = run_ok(runner, "import os; print(os.getsid(0) == os.getpid() == os.getpgid(0))")
    assert out["stdout"] == "True\n"


# ----- signals ------------------------------------------------------------------------------


def test_child_cannot_signal_its_parent_the_fork_server(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "import os; os.kill(os.getppid(), 9)")["type"] == "PermissionError"
    assert run_ok(runner, "print('fork server still serving')")["error"] is None


def test_child_cannot_signal_the_host(runner: UnrestrictedRunner) -> None:
    source = f"import os; os.kill({os.getpid()}, 9)"
    assert denied(runner, source)["type"] == "PermissionError"


def test_child_cannot_signal_every_process_at_once(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "import os; os.kill(-1, 9)")["type"] == "PermissionError"


def test_child_can_still_signal_itself(runner: UnrestrictedRunner) -> None:
    assert run_ok(runner, "import os; os.kill(os.getpid(), 0); print('ok')")["stdout"] == "ok\n"


def test_child_cannot_ptrace(runner: UnrestrictedRunner) -> None:
    source = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "if libc.ptrace(16, os.getppid(), 0, 0) != 0:\n"  # PTRACE_ATTACH
        "    raise OSError(ctypes.get_errno(), 'ptrace')\n"
    )
    assert denied(runner, source)["errno"] == 1  # EPERM


# ----- limits and identity ---------------------------------------------------------------------


def test_child_cannot_raise_its_rlimits(runner: UnrestrictedRunner) -> None:
    source = (
        "import resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
        "resource.setrlimit(resource.RLIMIT_AS, (hard, hard))\n"
    )
    assert denied(runner, source)["type"] in {"PermissionError", "ValueError"}


def test_child_cannot_change_any_rlimit_even_downwards(runner: UnrestrictedRunner) -> None:
    source = "import resource; resource.setrlimit(resource.RLIMIT_CPU, (1, 1))"
    assert denied(runner, source)["type"] in {"PermissionError", "ValueError"}


def test_child_limits_are_pinned_hard_equal_soft(runner: UnrestrictedRunner) -> None:
    source = (
        "import resource as r\n"
        "print([r.getrlimit(x)[0] == r.getrlimit(x)[1] for x in "
        "(r.RLIMIT_AS, r.RLIMIT_FSIZE, r.RLIMIT_NOFILE, r.RLIMIT_CORE)])\n"
        "print(r.getrlimit(r.RLIMIT_CPU)[1] - r.getrlimit(r.RLIMIT_CPU)[0])"
    )
    assert run_ok(runner, source)["stdout"] == "[True, True, True, True]\n1\n"


def test_child_cannot_open_many_descriptors(runner: UnrestrictedRunner) -> None:
    source = "import os\nfds = []\nwhile True: fds.append(os.pipe())"
    assert denied(runner, source)["errno"] == 24  # EMFILE


def test_child_is_not_root(runner: UnrestrictedRunner) -> None:
    out = run_ok(runner, "import os; print(os.getuid(), os.geteuid(), os.getgroups())")
    if os.geteuid() == 0:
        assert out["stdout"] == "65534 65534 []\n"


def test_child_cannot_become_root_again(runner: UnrestrictedRunner) -> None:
    assert denied(runner, "import os; os.setuid(0)")["type"] == "PermissionError"


def test_child_has_no_new_privileges(runner: UnrestrictedRunner) -> None:
    source = "import ctypes; print(ctypes.CDLL(None).prctl(39, 0, 0, 0, 0))"  # GET_NO_NEW_PRIVS
    assert run_ok(runner, source)["stdout"] == "1\n"


GET_DUMPABLE = "import ctypes; print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))"  # PR_GET_DUMPABLE
SUID_DUMPABLE = Path("/proc/sys/fs/suid_dumpable")


def test_child_is_not_dumpable(runner: UnrestrictedRunner) -> None:
    assert run_ok(runner, GET_DUMPABLE)["stdout"] == "0\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root host's children drop root")
def test_child_is_not_dumpable_after_dropping_root_even_where_suid_dumpable_is_1(
    runner: UnrestrictedRunner,
) -> None:
    # Changing uid resets the dumpable flag to fs.suid_dumpable. Set to 1, it would make the
    # child dumpable again (and so traceable by its siblings, all nobody) unless it clears it.
    previous = SUID_DUMPABLE.read_text()
    try:
        SUID_DUMPABLE.write_text("1\n")
    except OSError:
        pytest.skip("fs.suid_dumpable is not writable here")
    try:
        out = run_ok(runner, GET_DUMPABLE)
    finally:
        SUID_DUMPABLE.write_text(previous)
    assert out["stdout"] == "0\n"


def test_child_holds_only_its_socket_and_null_stdio(runner: UnrestrictedRunner) -> None:
    source = (
        "import os\n"
        "alive = []\n"
        "for fd in range(64):\n"
        "    try:\n"
        "        os.fstat(fd)\n"
        "        alive.append(fd)\n"
        "    except OSError:\n"
        "        pass\n"
        "print(alive)\n"
    )
    assert run_ok(runner, source)["stdout"] == "[0, 1, 2, 3]\n"


# ----- environment ------------------------------------------------------------------------------


def test_child_cannot_read_the_hosts_environment(canary_runner: UnrestrictedRunner) -> None:
    assert os.environ[CANARY] == CANARY_VALUE
    out = run_ok(canary_runner, "import os; print(dict(os.environ))")
    assert CANARY not in out["stdout"]
    assert out["stdout"] == "{}\n"
    for path in ("/proc/self/environ", "/proc/{ppid}/environ", f"/proc/{os.getpid()}/environ"):
        source = f"import os; print(open({path!r}.format(ppid=os.getppid())).read())"
        error = denied(canary_runner, source)
        assert error["type"] == "PermissionError"
        assert CANARY_VALUE not in str(error)
