"""Priming: a program that runs twice in a row is sent to the next children ahead of time.

Each child is still single-use: priming only moves the decoding of the program and the building
of its globals before the request. Children already waiting are sent the program; the fork
server is sent it once, prepares it, and the children it forks afterwards start with their own
copy-on-write copy. These tests drive the production entry through ProcessRunner with real
restricted programs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from restricted_exec.child import executor
from restricted_exec.child.protocol import encode_inputs
from restricted_exec.isolation import ChildLimits, ProcessRunner, classify, wire
from restricted_exec.language.catalogue import DEFAULT_MODULES, DEFAULT_PRELOAD
from restricted_exec.language.compiler import CompileSettings, compile_source
from restricted_exec.language.values import encode

LIMITS = ChildLimits(wall_s=10.0, cpu_s=10.0, memory_mb=256, max_payload_bytes=1 << 20)


def program_part(source: str, preload: tuple[str, ...] = DEFAULT_PRELOAD) -> bytes:
    outcome = compile_source(source, CompileSettings(DEFAULT_MODULES, preload, 1 << 20))
    assert outcome.code is not None, outcome.violations
    options = executor.RunOptions(
        DEFAULT_MODULES, preload, output_bytes=10_000, max_value_items=1000, source=source
    )
    return executor.program_part(outcome.code, outcome.hoisted, options)


def run(
    runner: ProcessRunner, program: bytes, *, expect_again: bool = False, **inputs: Any
) -> dict[str, Any]:
    outcome = runner.run(
        program, LIMITS, inputs=encode_inputs(encode(inputs)), expect_again=expect_again
    )
    assert classify(outcome).replied, outcome
    assert outcome.payload is not None
    payload = json.loads(outcome.payload)
    assert isinstance(payload, dict)
    return payload


@pytest.fixture
def production() -> Iterator[ProcessRunner]:
    with ProcessRunner(prefork=2) as runner:
        yield runner


@pytest.fixture
def primed_requests(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the requests sent to children that already held their program."""
    seen: list[int] = []
    encode_request = wire.encode_request

    def spy(header: wire.RequestHeader) -> bytes:
        if header.flags & wire.FLAG_PRIMED:
            seen.append(header.length)
        return encode_request(header)

    monkeypatch.setattr(wire, "encode_request", spy)
    return seen


@pytest.fixture
def primes_sent_to_children(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the programs the host sent to waiting children over their sockets."""
    sent: list[int] = []
    send_prime = ProcessRunner._send_prime_locked

    def spy(self: ProcessRunner, slot: Any) -> bool:
        sent.append(1)
        return send_prime(self, slot)

    monkeypatch.setattr(ProcessRunner, "_send_prime_locked", spy)
    return sent


def test_a_program_run_twice_in_a_row_is_sent_ahead_to_the_next_children(
    production: ProcessRunner, primed_requests: list[int]
) -> None:
    program = program_part("x * 2")
    values = [run(production, program, x=n)["value"] for n in range(6)]
    assert values == [0, 2, 4, 6, 8, 10]
    # Runs 1-2 find no primed child; after the second, every replacement child is primed.
    assert len(primed_requests) >= 3
    # A primed request carries only the inputs, never the program again.
    assert all(length < len(program) for length in primed_requests)


def test_a_program_expected_again_primes_the_children_already_waiting(
    production: ProcessRunner, primed_requests: list[int]
) -> None:
    # Program.run passes expect_again: from its first run on, every waiting child gets the
    # program, and a run takes the oldest (warmest) of them.
    program = program_part("x + 1")
    values = [run(production, program, expect_again=True, x=n)["value"] for n in range(4)]
    assert values == [1, 2, 3, 4]
    assert len(primed_requests) == 4


def test_every_primed_run_starts_from_fresh_globals(production: ProcessRunner) -> None:
    # The globals a child built ahead of time belong to that one child: a name the previous
    # run bound is never visible to the next.
    program = program_part("try:\n    seen = seen + 1\nexcept NameError:\n    seen = 0\nseen")
    assert [run(production, program)["value"] for _ in range(5)] == [0] * 5


def test_a_primed_child_given_another_program_runs_that_program(
    primed_requests: list[int],
) -> None:
    first, second = program_part("'first'"), program_part("'second'")
    with ProcessRunner(prefork=1) as runner:
        # After three runs the one waiting child holds the first program.
        assert [run(runner, first)["value"] for _ in range(3)] == ["first"] * 3
        assert primed_requests
        assert run(runner, second)["value"] == "second"
        assert run(runner, first)["value"] == "first"


def test_inputs_bind_after_the_preloaded_modules_as_without_priming(
    production: ProcessRunner,
) -> None:
    # build_globals binds inputs last, so an input may shadow a preloaded name; a primed child
    # binds them at request time and must give the same result.
    program = program_part("math")
    assert [run(production, program, math=7)["value"] for _ in range(4)] == [7] * 4


def test_programs_too_large_for_a_socket_buffer_are_not_primed(
    production: ProcessRunner, primed_requests: list[int]
) -> None:
    padding = "#" + "x" * 200 + "\n"
    source = padding * (wire.MAX_PRIME_BYTES // len(padding) + 1) + "41 + 1"
    program = program_part(source)
    assert len(program) > wire.MAX_PRIME_BYTES
    assert [run(production, program)["value"] for _ in range(3)] == [42] * 3
    assert primed_requests == []


def test_a_request_header_whose_program_part_exceeds_its_body_is_garbage() -> None:
    header = wire.RequestHeader(0, 1.0, 1, length=10, program_length=11)
    assert wire.decode_request(wire.encode_request(header)) is None


def test_a_program_that_stops_running_stops_being_primed(
    production: ProcessRunner, primed_requests: list[int]
) -> None:
    from restricted_exec.isolation.pool import PRIME_UNUSED_RUNS

    stale = program_part("'stale'")
    assert run(production, stale, expect_again=True)["value"] == "stale"
    for n in range(PRIME_UNUSED_RUNS + 1):
        assert run(production, program_part(f"{n}"))["value"] == n
    # Children forked from now on are not sent the stale program: after the waiting ones are
    # used up, a run of it finds no primed child.
    for n in range(3):
        run(production, program_part(f"'other {n}'"))
    primed_requests.clear()
    assert run(production, stale)["value"] == "stale"
    assert primed_requests == []


def test_children_forked_after_priming_inherit_the_program_from_the_fork_server(
    primed_requests: list[int], primes_sent_to_children: list[int]
) -> None:
    program = program_part("x * 3")
    with ProcessRunner(prefork=2) as runner:
        values = [run(runner, program, expect_again=True, x=n)["value"] for n in range(8)]
        assert values == [3 * n for n in range(8)]
        assert len(primed_requests) == 8
        # Only the two children waiting when the program was first seen were sent it; every
        # later child was forked holding it, by the primed fork server of its (no) tenant: the
        # clean fork server never holds a program.
        assert len(primes_sent_to_children) == 2
        fork_server = runner._primed_servers.get(None)
        assert fork_server is not None and fork_server.prime_id == runner._prime_id != 0
        assert runner._fork_server is not None and runner._fork_server.prime_id == 0


def test_children_do_not_share_a_prepared_random_generator() -> None:
    # With random preloaded, the globals hold a generator seeded when they are built. Built once
    # in the fork server, every child would start from the same seed and draw the same numbers.
    program = program_part("random.random()", preload=(*DEFAULT_PRELOAD, "random"))
    with ProcessRunner(prefork=2) as runner:
        draws = [run(runner, program, expect_again=True)["value"] for _ in range(6)]
    assert len(set(draws)) == 6


def test_a_replaced_fork_server_is_sent_the_program_again(
    primed_requests: list[int], primes_sent_to_children: list[int]
) -> None:
    import os
    import signal
    import time

    program = program_part("x - 1")
    with ProcessRunner(prefork=1) as runner:
        assert run(runner, program, expect_again=True, x=1)["value"] == 0
        fork_server = runner._fork_server
        assert fork_server is not None
        os.kill(fork_server.pid, signal.SIGKILL)
        assert fork_server.dead.wait(10)
        time.sleep(0.1)
        primed_requests.clear()
        primes_sent_to_children.clear()
        values = [run(runner, program, expect_again=True, x=n)["value"] for n in range(5)]
        assert values == [n - 1 for n in range(5)]
        replacement = runner._fork_server
        assert replacement is not None and replacement is not fork_server
        primed = runner._primed_servers.get(None)
        assert primed is not None and primed.generation == replacement.generation
        assert primed.prime_id == runner._prime_id
        # The first run after the restart may find no primed child; the later ones do, and
        # their children were forked holding the program.
        assert len(primed_requests) >= 3
        assert primes_sent_to_children == []


def test_a_prime_the_control_socket_cannot_take_leaves_the_fork_server_in_service(
    primed_requests: list[int],
) -> None:
    import socket

    # A program smaller than MAX_PRIME_BYTES but larger than this control socket's send buffer
    # (as on a host whose net.core.wmem_max is small): sendmsg refuses it with EMSGSIZE.
    program = program_part("x = 1\n" + "#" * 20_000 + "\nx")
    assert len(program) < wire.MAX_PRIME_BYTES
    with ProcessRunner(prefork=1) as runner:
        fork_server = runner._fork_server
        assert fork_server is not None
        fork_server._ctl.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        values = [run(runner, program, expect_again=True)["value"] for _ in range(4)]
        assert values == [1] * 4
        # Not taken for a dead fork server; children are primed the other way instead.
        assert runner._fork_server is fork_server and not fork_server.dead.is_set()
        assert fork_server.prime_id == 0
        assert len(primed_requests) >= 2
