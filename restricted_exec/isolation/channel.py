"""The host's side of one conversation with a child, on a non-blocking socket with a deadline.

Everything here runs in the calling thread: the deadline of ``poll`` *is* the watchdog, so a run
costs no extra thread, and the host wakes exactly once when the reply (or the deadline) arrives.
"""

from __future__ import annotations

import math
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from restricted_exec.isolation import wire
from restricted_exec.isolation.streamed_output import OutputRefused, StreamedOutput

# How long the caller may keep trying to read a reply before blocking in poll. A thread that
# blocks pays the wake-up latency of an idle CPU when the reply comes; a trivial program replies
# well within this window. A single run spins only when it arrives at an idle runner
# (ProcessRunner._arrive), a session's run only when it is the only run in flight (decided
# when the run starts), so a spin does not take a CPU from another run's child under load;
# a run with host functions spins again after each call it answers.
# (What it saves: docs/performance.md, "Measurements behind the code".)
SPIN_S = 0.0005


class Deadline(Exception):
    """The deadline passed before the expected bytes arrived."""


class Closed(Exception):
    """The peer closed (or reset) the socket before the expected bytes arrived."""


def _wait(sock: socket.socket, events: int, deadline: float) -> None:
    """Wait until ``sock`` is ready or the deadline passes (Deadline).

    Past the deadline it still looks once, without waiting: the caller's thread may have been
    held up (no CPU, or another thread holding the GIL) between its last try and now, and a
    reply that arrived meanwhile is the program's, not a timeout."""
    remaining = deadline - time.monotonic()
    poller = select.poll()
    poller.register(sock.fileno(), events)
    # poll takes whole milliseconds: round up so it never returns before the deadline.
    if not poller.poll(max(0, math.ceil(remaining * 1000))) and time.monotonic() >= deadline:
        raise Deadline


_FIRST_CHUNK = 64 * 1024


def recv_exactly(
    sock: socket.socket,
    size: int,
    deadline: float,
    *,
    spin_until: float = 0.0,
    on_sleep: Callable[[], None] | None = None,
) -> bytearray:
    """Read exactly ``size`` bytes or raise Deadline/Closed. Never reads past ``size``.
    ``on_sleep`` is called before the first wait in poll (after any spin).

    The buffer grows with what arrives (doubling, from 64 KiB): a length a child announces
    and never sends costs the host nothing."""
    buf = bytearray(min(size, _FIRST_CHUNK))
    view = memoryview(buf)
    got = 0
    while got < size:
        if got == len(buf):
            view.release()
            buf.extend(bytes(min(size, 2 * len(buf)) - len(buf)))
            view = memoryview(buf)
        try:
            n = sock.recv_into(view[got:], len(buf) - got)
        except BlockingIOError:
            if spin_until and time.monotonic() < spin_until:
                continue
            if on_sleep is not None:
                on_sleep()
                on_sleep = None
            _wait(sock, select.POLLIN, deadline)
            continue
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise Closed from exc
        if n == 0:
            raise Closed
        got += n
    return buf


def send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        try:
            n = sock.send(view)
        except BlockingIOError:
            _wait(sock, select.POLLOUT, deadline)
            continue
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise Closed from exc
        view = view[n:]


@dataclass(frozen=True, slots=True)
class Reply:
    header: wire.ReplyHeader
    payload: bytes


class ProtocolError(Exception):
    """The child sent something that is not a valid reply (garbage, oversize)."""


def read_hello(sock: socket.socket, deadline: float) -> wire.Hello | None:
    """The child's hello, or None if it died, said nonsense or did not report in time."""
    try:
        raw = recv_exactly(sock, wire.HELLO.size, deadline)
    except (Deadline, Closed):
        return None
    return wire.decode_hello(raw)


def read_reply(
    sock: socket.socket,
    deadline: float,
    max_payload: int,
    *,
    output: StreamedOutput | None = None,
    request_flush: Callable[[], None] | None = None,
    host_calls: HostCalls | None = None,
    spin: bool = False,
    on_sleep: Callable[[], None] | None = None,
) -> Reply:
    """Read the run's frames up to its reply; raise Deadline, Closed or ProtocolError. Reads at
    most header + max_payload for the reply, and no more output than ``output`` allows.

    OUTPUT frames go to ``output`` as they arrive (a run without one did not ask for them).
    ``request_flush``, if given, is called whenever the child has sent nothing for
    wire.FLUSH_INTERVAL_S (it asks the child for the output it holds: the caller streams it).
    HOST_CALL frames go to ``host_calls``, whose answer goes back as a CALL_REPLY frame (a run
    without it did not ask for them). With ``spin``, keep trying for up to SPIN_S before
    blocking (see SPIN_S). ``on_sleep`` is called before this thread first sleeps in poll."""
    spin_until = min(deadline, time.monotonic() + SPIN_S) if spin else 0.0
    if on_sleep is not None:
        on_sleep = _once(on_sleep)
    while True:
        if request_flush is not None:
            if on_sleep is not None:
                on_sleep()
            _await_frame(sock, deadline, request_flush)
        header = _read_header(sock, deadline, spin_until, on_sleep)
        if header.kind == wire.ChildFrame.OUTPUT:
            _read_output(sock, header, deadline, output)
        elif header.kind == wire.ChildFrame.HOST_CALL:
            _answer_call(sock, header, deadline, host_calls)
            if spin:  # a program that calls a host function often calls the next one soon
                spin_until = min(deadline, time.monotonic() + SPIN_S)
        else:
            break
        if time.monotonic() >= deadline:
            raise Deadline  # a child that never stops sending never blocks the reads
    if header.length > max_payload:
        raise ProtocolError(
            f"the child's reply ({header.length} bytes) exceeds the payload limit "
            f"({max_payload} bytes)"
        )
    try:
        payload = (
            recv_exactly(sock, header.length, deadline, on_sleep=on_sleep)
            if header.length
            else bytearray()
        )
    except Closed:
        raise ProtocolError("the child closed its socket in the middle of its reply") from None
    if header.failure:
        text = payload.decode("utf-8", "replace")
        raise ProtocolError(f"the child's machinery failed before replying:\n{text}")
    return Reply(header, bytes(payload))


def _once(call: Callable[[], None]) -> Callable[[], None]:
    """``call``, which does something the first time it is called and nothing after."""
    pending = [call]

    def once() -> None:
        if pending:
            pending.pop()()

    return once


def collect_flushed_output(sock: socket.socket, until: float, output: StreamedOutput) -> None:
    """After the host asked a child to flush (wire.FLUSH_SIGNAL): keep the output frames that
    arrive until the child's acknowledgement (an empty OUTPUT frame), any other frame, or
    ``until``. Never raises for what the child does: the child is killed next either way."""
    try:
        while True:
            header = _read_header(sock, until, 0.0)
            if header.kind != wire.ChildFrame.OUTPUT or header.length == 0:
                return
            _read_output(sock, header, until, output)
            if time.monotonic() >= until:
                return
    except (Deadline, Closed, ProtocolError):
        return


def _await_frame(sock: socket.socket, deadline: float, request_flush: Callable[[], None]) -> None:
    """Wait until the child's next frame starts arriving, asking it to flush every
    wire.FLUSH_INTERVAL_S meanwhile. Reads nothing; raises Deadline."""
    while True:
        tick = min(deadline, time.monotonic() + wire.FLUSH_INTERVAL_S)
        try:
            _wait(sock, select.POLLIN, tick)
            return
        except Deadline:
            if tick >= deadline:
                raise
            request_flush()


def _read_header(
    sock: socket.socket,
    deadline: float,
    spin_until: float,
    on_sleep: Callable[[], None] | None = None,
) -> wire.ReplyHeader:
    raw = recv_exactly(sock, wire.REPLY.size, deadline, spin_until=spin_until, on_sleep=on_sleep)
    header = wire.decode_reply(raw)
    if header is None:
        raise ProtocolError("the child wrote garbage instead of a frame header")
    return header


class HostCalls(Protocol):
    """Who answers a run's host-function calls (restricted_exec.host.host_calls)."""

    max_call_bytes: int

    def reply_to(self, body: bytes) -> bytes:
        """The CALL_REPLY body for one HOST_CALL body, the function called in this thread.
        Raises ProtocolError for a call no honest child makes, and whatever stops the run (a
        limit)."""

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on a worker thread (the run's conversation, see conversation.exchange)."""


def _answer_call(
    sock: socket.socket, header: wire.ReplyHeader, deadline: float, host_calls: HostCalls | None
) -> None:
    if host_calls is None:
        raise ProtocolError(
            "the child sent a HOST_CALL frame, which this run did not ask for (it has no host "
            "functions)"
        )
    if header.length > host_calls.max_call_bytes:
        raise ProtocolError(
            f"the child sent a call of {header.length:,} bytes; the run's limit is "
            f"{host_calls.max_call_bytes:,} (host_call_bytes)"
        )
    try:
        body = recv_exactly(sock, header.length, deadline)
    except Closed:
        raise ProtocolError("the child closed its socket in the middle of a call") from None
    send_all(sock, wire.encode_call_reply(host_calls.reply_to(bytes(body))), deadline)


def _read_output(
    sock: socket.socket,
    header: wire.ReplyHeader,
    deadline: float,
    output: StreamedOutput | None,
) -> None:
    if output is None:
        raise ProtocolError("the child sent an OUTPUT frame, which this run did not ask for")
    if header.length > output.remaining_bytes:
        raise ProtocolError(
            f"the child sent more output than the run's limit ({output.used_bytes:,} + "
            f"{header.length:,} bytes, output_bytes)"
        )
    try:
        body = recv_exactly(sock, header.length, deadline) if header.length else bytearray()
    except Closed:
        raise ProtocolError("the child closed its socket in the middle of its output") from None
    try:
        output.accept(body)
    except OutputRefused as problem:
        raise ProtocolError(str(problem)) from None
