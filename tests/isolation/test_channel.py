"""The host's side of a conversation with a child: deadlines are judged by what has arrived."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import cast

import pytest

from restricted_exec.isolation import ProcessRunner, channel, exit_codes, wire
from restricted_exec.isolation.pool import CLEAN
from restricted_exec.isolation.streamed_output import StreamedOutput

PAYLOAD = b'{"status": "ok"}'
REPLY = wire.encode_reply(wire.ReplyHeader(0, 100, 1000, len(PAYLOAD))) + PAYLOAD


class _FirstReadTooEarly:
    """The host's socket as seen by a thread that tried to read just before the reply came,
    and was then held up (no CPU, or another thread holding the GIL) past the deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._missed = False

    def recv_into(self, buffer: memoryview, size: int) -> int:
        if not self._missed:
            self._missed = True
            raise BlockingIOError
        return self._sock.recv_into(buffer, size)

    def fileno(self) -> int:
        return self._sock.fileno()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    host, child = socket.socketpair()
    host.setblocking(False)
    try:
        yield host, child
    finally:
        host.close()
        child.close()


def test_a_reply_that_came_while_the_host_was_held_up_is_read_not_timed_out(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    host, child = pair
    child.sendall(REPLY)
    late = cast(socket.socket, _FirstReadTooEarly(host))
    reply = channel.read_reply(late, time.monotonic() - 1.0, max_payload=1 << 16)
    assert reply.payload == PAYLOAD
    assert reply.header.cpu_us == 100


def test_no_reply_by_the_deadline_is_a_deadline(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    host, _child = pair
    started = time.monotonic()
    with pytest.raises(channel.Deadline):
        channel.read_reply(host, started + 0.05, max_payload=1 << 16)
    assert time.monotonic() - started >= 0.05


@pytest.mark.parametrize("kind", [wire.ChildFrame.OUTPUT, wire.ChildFrame.HOST_CALL])
def test_a_frame_of_a_kind_the_run_did_not_ask_for_is_a_protocol_error(
    pair: tuple[socket.socket, socket.socket], kind: bytes
) -> None:
    # Streamed output and host calls are frames of runs that ask for them: a child that sends
    # one in a run that did not is not believed, and its result is not read.
    host, child = pair
    chunk = b"hello\n"
    child.sendall(wire.encode_reply(wire.ReplyHeader(0, 0, 0, len(chunk), kind=kind)) + chunk)
    child.sendall(REPLY)
    with pytest.raises(channel.ProtocolError, match=f"{wire.FRAME_NAMES[kind]} frame"):
        channel.read_reply(host, time.monotonic() + 5.0, max_payload=1 << 16)


def test_the_caller_is_told_once_that_it_sleeps_however_often_it_waits(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    # on_sleep gives a child kept off the caller's CPU all its CPUs back (isolation/cpus.py):
    # once is enough, and more would only repeat the syscalls for every frame of a long run.
    host, child = pair
    chunk = b"tick\n"
    output_frame = wire.encode_reply(
        wire.ReplyHeader(0, 0, 0, len(chunk), kind=wire.ChildFrame.OUTPUT)
    )
    header, payload = REPLY[: wire.REPLY.size], REPLY[wire.REPLY.size :]

    def child_sends() -> None:  # each piece after the host has had time to sleep for it
        for piece in (output_frame, chunk, header, payload):
            time.sleep(0.02)
            child.sendall(piece)

    sleeps: list[float] = []
    sender = threading.Thread(target=child_sends)
    sender.start()
    try:
        reply = channel.read_reply(
            host,
            time.monotonic() + 5.0,
            max_payload=1 << 16,
            output=StreamedOutput(1000),
            on_sleep=lambda: sleeps.append(time.monotonic()),
        )
    finally:
        sender.join()
    assert reply.payload == PAYLOAD
    assert len(sleeps) == 1


def test_an_unknown_frame_tag_is_garbage(pair: tuple[socket.socket, socket.socket]) -> None:
    host, child = pair
    child.sendall(b"RXzz" + REPLY[4:])
    with pytest.raises(channel.ProtocolError, match="garbage"):
        channel.read_reply(host, time.monotonic() + 5.0, max_payload=1 << 16)


def test_every_frame_kind_round_trips_through_its_header() -> None:
    child_kinds = [wire.ChildFrame.RESULT, wire.ChildFrame.FAILURE]
    for child_kind in [*child_kinds, wire.ChildFrame.OUTPUT, wire.ChildFrame.HOST_CALL]:
        header = wire.ReplyHeader(3, 4, 5, 6, kind=child_kind)
        assert wire.decode_reply(wire.encode_reply(header)) == header
    host_kinds = (wire.HostFrame.REQUEST, wire.HostFrame.PRIME, wire.HostFrame.CALL_REPLY)
    for host_kind in (*host_kinds, wire.HostFrame.READY):
        request = wire.RequestHeader(1, 2.0, 3, 4, 4, kind=host_kind)
        assert wire.decode_request(wire.encode_request(request)) == request
    assert wire.decode_request(b"RXzz" + wire.encode_request(request)[4:]) is None


@pytest.mark.parametrize("kind", [wire.HostFrame.READY, wire.HostFrame.CALL_REPLY])
def test_a_fresh_child_ends_on_a_frame_that_only_comes_between_or_inside_runs(kind: bytes) -> None:
    # READY is for a warm or session child between its runs, CALL_REPLY for a run that called:
    # a fresh child that got either before its request would otherwise take it for one.
    with ProcessRunner(prefork=1) as runner:
        checked_out = runner._checkout(b"", CLEAN)
        assert checked_out is not None
        slot, hello = checked_out
        frame = wire.encode_request(wire.RequestHeader(0, 1.0, 64, 0, 0, kind=kind))
        slot.sock.sendall(frame)
        report = slot.fork_server.board.wait(hello.pid, 10.0)
        assert report is not None and report.exit_code == exit_codes.EXIT_INTERNAL
        slot.sock.close()
        runner._release_slot(slot)
