"""Sessions keep tenants and sessions apart, and a dump is data: each claim fails without the
guard it names. Every program runs in process mode (sessions exist only there)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from restricted_exec import InputError, Policy, Sandbox, Session
from restricted_exec.host.reply import MalformedReply
from restricted_exec.host.session_state import SessionState


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(prefork=2) as made:
        yield made


def child_pid(session: Session) -> int:
    child = session._core.child
    assert child is not None and child._checked_out is not None
    return child._checked_out[1].pid


def gone(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):  # reaped before the open, or the read
            return True
        time.sleep(0.02)
    return False


# -- a session child serves its session only -------------------------------------------------


def test_a_session_child_never_serves_another_session_or_tenant(sandbox: Sandbox) -> None:
    with (
        sandbox.session(tenant="alice") as alice,
        sandbox.session(tenant="alice") as alice_again,
        sandbox.session(tenant="bob") as bob,
    ):
        alice.run("secret = 'alice-42'")
        assert alice_again.run("secret").status == "error"
        assert bob.run("secret").status == "error"
        pids = {child_pid(alice), child_pid(alice_again), child_pid(bob)}
        assert len(pids) == 3


def test_a_session_child_is_never_handed_to_a_single_run(sandbox: Sandbox) -> None:
    with sandbox.session(tenant="carol") as carol:
        carol.run("secret = 'carol-7'")
        pid = child_pid(carol)
        runner = sandbox._runner
        assert runner is not None and carol._core.child is not None
        assert carol._core.child._checked_out is not None
        session_socket = carol._core.child._checked_out[0].sock
        for _ in range(5):
            leaked = sandbox.run("secret", tenant="carol")
            assert leaked.status == "error" and leaked.error is not None
            assert leaked.error.type == "NameError"
            assert all(slot.sock is not session_socket for slot in runner._ready)
        assert not gone(pid, within_s=0.1)


def test_a_closed_sessions_child_is_killed(sandbox: Sandbox) -> None:
    session = sandbox.session()
    session.run("x = 1")
    pid = child_pid(session)
    session.close()
    assert gone(pid)


def test_a_timed_out_sessions_old_child_is_killed_and_a_new_one_serves_it(
    sandbox: Sandbox,
) -> None:
    with sandbox.session(policy=Policy(timeout_s=0.5)) as session:
        session.run("x = 1")
        old = child_pid(session)
        assert session.run("while True:\n    pass").status == "timeout"
        assert gone(old)
        assert session.run("x").value == 1
        assert child_pid(session) != old


# -- a dump is data ---------------------------------------------------------------------------


def _dump(**changes: Any) -> bytes:
    dump: dict[str, Any] = {
        "format": "restricted_exec session",
        "version": 1,
        "definitions": [],
        "data": {},
        "others": [],
    }
    dump.update(changes)
    return json.dumps(dump).encode()


@pytest.mark.parametrize(
    "data",
    [
        {"x": {"$type": "code", "value": "YwAAAA=="}},
        {"x": {"$type": "pickle", "value": "gASVAAAAAAAAAAA="}},
        {"x": {"$type": "function", "value": "lambda: 1"}},
        {"x": {"$type": "fraction", "value": "1e10000000"}},
    ],
    ids=["code-object", "pickle", "function", "costly-fraction"],
)
def test_a_dump_cannot_smuggle_anything_but_data(sandbox: Sandbox, data: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="session dump"):
        sandbox.load_session(_dump(data=data))


@pytest.mark.parametrize("name", ["__builtins__", "_rx_check_", "__import__", "not a name", "1x"])
def test_a_dump_cannot_bind_a_name_that_is_not_a_programs(sandbox: Sandbox, name: str) -> None:
    with pytest.raises(InputError, match="no program name"):
        sandbox.load_session(_dump(data={name: 1}))
    with pytest.raises(InputError, match="no program name"):
        sandbox.load_session(_dump(others=[name]))


def test_a_dumps_definitions_run_only_as_restricted_code_under_the_loaders_policy(
    sandbox: Sandbox,
) -> None:
    definitions = [
        "import os",
        "def read():\n    return open('/etc/passwd').read()",
        "def escape():\n    return ().__class__.__base__.__subclasses__()",
        "import statistics",
        "def fine(v):\n    return v + 1",
    ]
    narrow = Policy(modules={"math", "datetime", "json"})
    with sandbox.load_session(_dump(definitions=definitions), policy=narrow) as session:
        result = session.run("fine(1)")
        assert result.ok and result.value == 2 and result.state_restored
        for name in ("os", "escape", "statistics"):
            missing = session.run(name)
            assert missing.status == "error" and missing.error is not None, name
            assert missing.error.type == "NameError", name
        # The one that compiles is restricted code: open() does not exist for programs.
        opened = session.run("read()")
        assert opened.status == "error" and opened.error is not None
        assert opened.error.type == "NameError"


@pytest.mark.parametrize(
    "dump",
    [
        b"not json",
        b"\x80\x04\x95pickle",
        _dump(format="something else"),
        _dump(version=2),
        _dump(definitions="def f(): pass"),
        json.dumps({"data": {}}).encode(),
    ],
    ids=["garbage", "pickle-bytes", "format", "version", "definitions-not-list", "partial"],
)
def test_a_foreign_or_tampered_dump_is_refused_with_input_error(
    sandbox: Sandbox, dump: bytes
) -> None:
    with pytest.raises(InputError, match="session dump"):
        sandbox.load_session(dump)


def test_a_dump_bigger_than_the_limit_is_refused_before_it_is_parsed(sandbox: Sandbox) -> None:
    with pytest.raises(InputError, match="at most"):
        sandbox.load_session(b" " * (64 * 1024 * 1024 + 1))


def test_a_childs_state_must_be_data_with_program_names() -> None:
    # What a session child's reply says of its state is a child's word: the host checks it
    # as it checks a dump before it keeps any of it.
    for forged in (
        {"data": {"__builtins__": 1}, "others": []},
        {"data": {"x": {"$type": "code", "value": ""}}, "others": []},
        {"data": {}, "others": ["_rx_run_"]},
        {"data": [], "others": []},
        {"data": {}, "others": [], "extra": 1},
    ):
        with pytest.raises(MalformedReply):
            SessionState().after("", forged, max_items=1000)


def test_loaded_data_is_fresh_data_in_the_program(sandbox: Sandbox) -> None:
    dump = _dump(data={"rows": [[1, 2], {"$type": "decimal", "value": "1.5"}]})
    with sandbox.load_session(dump) as session:
        result = session.run("rows.append(3)\n[type(v).__name__ for v in rows]")
    assert result.value == ["list", "Decimal", "int"]
