"""The production entry point: ProcessRunner drives restricted_exec.child.executor (warm_up,
prepare, run_prepared).

Plain-Python requests of the test entry that wraps the production one
(production_entry_with_plain_requests.py): the fork server and children are set up exactly as
the Sandbox's are, and the OS layers alone stand between the plain code and the host.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from restricted_exec.isolation import ChildLimits, ProcessRunner, classify

from .plain_capable import PlainCapableRunner
from .plain_python import encode_plain

LIMITS = ChildLimits(wall_s=10.0, cpu_s=10.0, memory_mb=256, max_payload_bytes=1 << 20)


@pytest.fixture(scope="module")
def production() -> Iterator[ProcessRunner]:
    # The host's files stay in sight (no empty root, see test_empty_root.py), so that what
    # denies them here is Landlock.
    with _HostRootProcessRunner(prefork=1) as runner:
        yield runner


class _HostRootProcessRunner(PlainCapableRunner):
    _empty_root: ClassVar[bool] = False


def run(runner: ProcessRunner, source: str) -> dict[str, Any]:
    outcome = runner.run(encode_plain(source), LIMITS)
    assert classify(outcome).replied, outcome
    assert outcome.payload is not None
    value = json.loads(outcome.payload)
    assert isinstance(value, dict)
    return value


def test_the_production_runtime_runs_in_a_locked_down_child(production: ProcessRunner) -> None:
    assert run(production, "print(40 + 2)")["stdout"] == "42\n"
    assert set(production.layers_available()) >= {"seccomp", "landlock", "rlimits"}


def test_production_child_cannot_open_a_socket(production: ProcessRunner) -> None:
    payload = run(production, "import socket; socket.socket()")
    assert "PermissionError" in json.dumps(payload)


def test_production_child_cannot_read_a_file(production: ProcessRunner) -> None:
    payload = run(production, "open('/etc/hostname').read()")
    assert "PermissionError" in json.dumps(payload)


def test_the_wrapping_entry_carries_nothing_of_the_host_side(production: ProcessRunner) -> None:
    # Its fork server must be the production one plus plain_python only, or the tests that
    # read what a production child starts with would read a different heap.
    payload = run(
        production,
        "import sys; print(sorted(n for n in sys.modules"
        " if n.startswith(('restricted_exec.isolation.pool', 'restricted_exec.host',"
        " 'restricted_exec.sandbox', 'pydantic', 'isolation.unrestricted_entry'))))",
    )
    assert payload["stdout"] == "[]\n", payload
