"""One run's conversation with its child, and how the host ends it: the exchange of frames under
the run's deadline (on a worker thread when the run has host functions), the flush signal and
the kill, and what the host records of the ending. ``ProcessRunner`` and ``SessionChild`` both
run their children through it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from restricted_exec.isolation import channel, exit_codes, layers, wire
from restricted_exec.isolation.child_limits import ChildLimits
from restricted_exec.isolation.fork_server_client import ForkServer
from restricted_exec.isolation.outcome import ChildOutcome
from restricted_exec.isolation.streamed_output import StreamedOutput

__all__ = [
    "EXIT_REPORT_TIMEOUT_S",
    "LEAVE_AFTER_S",
    "Conversation",
    "Ending",
    "Exchanged",
    "exchange",
    "kill_child",
    "no_child",
    "open_pidfd",
    "signal_child",
]

# How long to wait for the fork server's wait4 report of a child that died without replying. The
# child is SIGKILLed first, so this is only ever reached if the fork server itself is wedged.
EXIT_REPORT_TIMEOUT_S = 5.0


class Exchanged(NamedTuple):
    reply: channel.Reply | None
    watchdog: bool  # the deadline passed
    error: str | None
    # A host function still held the conversation when the run ended: its worker thread owns
    # the socket now (see Conversation).
    left_behind: bool = False


def exchange(
    sock: socket.socket,
    frame: bytes,
    deadline: float,
    max_payload: int,
    spin: bool,
    output: StreamedOutput,
    request_flush: Callable[[], None] | None,
    host_calls: channel.HostCalls | None,
    on_sleep: Callable[[], None] | None = None,
) -> Exchanged:
    """Send the request and read the reply by the deadline (``on_sleep``: see
    channel.read_reply).

    A run with host functions holds its conversation on a worker thread, which calls the
    functions itself when the child asks (no thread handoff per call), while this thread keeps
    the deadline: a function that hangs cannot hold the run."""

    def converse() -> Exchanged:
        try:
            channel.send_all(sock, frame, deadline)
            reply = channel.read_reply(
                sock,
                deadline,
                max_payload,
                output=output,
                request_flush=request_flush,
                host_calls=host_calls,
                spin=spin,
                on_sleep=on_sleep,
            )
            return Exchanged(reply, False, None)
        except channel.Deadline:
            return Exchanged(None, True, None)
        except channel.Closed:
            return Exchanged(None, False, "the child closed its socket before replying")
        except channel.ProtocolError as exc:
            return Exchanged(None, False, str(exc))

    if host_calls is None:
        return converse()
    conversation = Conversation(sock)
    host_calls.submit(lambda: conversation.hold(converse))
    # The conversation stops at the deadline by itself, unless a host function holds it.
    waited = conversation.done.wait(max(0.0, deadline - time.monotonic()) + LEAVE_AFTER_S)
    if not waited and conversation.leave():
        return Exchanged(None, True, None, left_behind=True)
    return conversation.result()


# How long past its deadline a run waits for a conversation held by a host function before it
# ends without it.
LEAVE_AFTER_S = 0.05


class Conversation:
    """A run's conversation on a worker thread. The socket is closed by the run, unless the
    run left the conversation behind in a host function: then by the worker, once the
    function returns (so no thread ever reads or writes a socket another has closed)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._left = False
        self._exchanged: Exchanged | None = None
        self._problem: BaseException | None = None
        self.done = threading.Event()

    def hold(self, converse: Callable[[], Exchanged]) -> None:
        """On the worker: the whole conversation; never raises."""
        try:
            self._exchanged = converse()
        except BaseException as problem:  # a limit, a callback's failure: the run's to raise
            self._problem = problem
        with self._lock:
            self.done.set()
            left = self._left
        if left:
            self._sock.close()

    def leave(self) -> bool:
        """End the run without the conversation; False if it finished just now after all."""
        with self._lock:
            if self.done.is_set():
                return False
            self._left = True
            return True

    def result(self) -> Exchanged:
        if self._problem is not None:
            raise self._problem
        assert self._exchanged is not None
        return self._exchanged


@dataclass(frozen=True, slots=True)
class Ending:
    """What the host knows of a run before it ends: the limits in force and the layers."""

    cpu_limit_ms: float
    memory_ceiling_kb: int
    layers: tuple[str, ...]

    def replied(self, reply: channel.Reply, wall_ms: float, streamed: str) -> ChildOutcome:
        return ChildOutcome(
            payload=reply.payload,
            exit_code=None,
            term_signal=None,
            wall_ms=wall_ms,
            cpu_ms=reply.header.cpu_us / 1000.0,
            peak_rss_kb=reply.header.peak_rss_kb,
            killed_by_watchdog=False,
            protocol_error=None,
            # The reply comes after the program ran: it may say fewer layers than the hello
            # (sent before) did, never more.
            layers=layers.with_host_layers(reply.header.layers_mask & layers.to_mask(self.layers)),
            cpu_limit_ms=self.cpu_limit_ms,
            memory_ceiling_kb=self.memory_ceiling_kb,
            streamed=streamed,
        )

    def died(
        self,
        fork_server: ForkServer,
        hello: wire.Hello,
        wall_ms: float,
        watchdog: bool,
        error: str | None,
        streamed: str,
    ) -> ChildOutcome:
        """How a child that did not reply ended, from the fork server's report of its exit."""
        report = fork_server.board.wait(hello.pid, EXIT_REPORT_TIMEOUT_S)
        exit_code = term_signal = None
        cpu_ms: float | None = None
        peak_rss_kb: int | None = None
        if report is not None:
            exit_code, term_signal = report.exit_code, report.term_signal
            cpu_ms = max(0.0, (report.cpu_us - hello.baseline_cpu_us) / 1000.0)
            peak_rss_kb = report.peak_rss_kb
            if exit_code == exit_codes.EXIT_LOCKDOWN_FAILED and error is not None:
                error = f"{error} ({exit_codes.DESCRIPTIONS[exit_code]})"
        elif fork_server.dead.is_set():
            error = f"{error + '; ' if error else ''}the fork server died during the run"
        return ChildOutcome(
            payload=None,
            exit_code=exit_code,
            term_signal=term_signal,
            wall_ms=wall_ms,
            cpu_ms=cpu_ms,
            peak_rss_kb=peak_rss_kb,
            killed_by_watchdog=watchdog,
            protocol_error=error,
            layers=self.layers,
            cpu_limit_ms=self.cpu_limit_ms,
            memory_ceiling_kb=self.memory_ceiling_kb,
            streamed=streamed,
        )


def no_child(limits: ChildLimits, expected: tuple[str, ...], why: str) -> ChildOutcome:
    return ChildOutcome(
        None, None, None, 0.0, None, None, False, why, expected, limits.cpu_s * 1000.0
    )


def open_pidfd(pid: int) -> int | None:
    """A pidfd pins the child's identity: signalling through it can never hit a recycled pid."""
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None  # already gone (and possibly reaped): nothing to kill


def unreaped(pidfd: int | None) -> bool:
    """Whether the child's pid is still its own (alive, or dead and not yet reaped), as its
    pidfd says. Checked just before a setting made by pid (its CPUs), it leaves only the moment
    between the check and the setting for the child to be reaped and its pid taken over: the
    pid space would have to wrap around within it."""
    if pidfd is None:
        return False
    try:
        signal.pidfd_send_signal(pidfd, 0)
    except OSError:
        return False
    return True


def signal_child(pidfd: int | None, pid: int, signum: int) -> None:
    """Send the child (only the child, never its group) a signal other than the kill."""
    with contextlib.suppress(OSError):
        if pidfd is not None:
            signal.pidfd_send_signal(pidfd, signum)
        elif not hasattr(os, "pidfd_open"):
            os.kill(pid, signum)


def kill_child(pidfd: int | None, pid: int) -> None:
    """SIGKILL the child and its process group.

    The group kill is what stops a child that managed to fork in degraded mode. It is sent only
    after the pidfd proved the child unreaped: while the group leader is unreaped (alive or a
    zombie) its pid, and so its group id, cannot have been recycled for someone else.
    """
    if pidfd is not None:
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except ProcessLookupError:
            return  # already reaped: the group id may belong to a stranger now
        except OSError:
            pass
    elif not hasattr(os, "pidfd_open"):
        pass  # no pidfds on this platform: fall through to the group kill
    else:
        return  # pidfd_open failed, i.e. the child was already gone
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
