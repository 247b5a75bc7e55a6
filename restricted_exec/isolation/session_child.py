"""A child of its own for one session or one trust domain: it serves runs one after another,
in one namespace (a session's) or each in fresh globals (a warm child's, Sandbox child_reuse)."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from restricted_exec.isolation import channel, cpus, layers, rlimits, wire
from restricted_exec.isolation.child_limits import ChildLimits
from restricted_exec.isolation.conversation import (
    Ending,
    exchange,
    kill_child,
    no_child,
    open_pidfd,
    signal_child,
    unreaped,
)
from restricted_exec.isolation.outcome import ChildOutcome
from restricted_exec.isolation.streamed_output import StreamedOutput

if TYPE_CHECKING:
    from restricted_exec.isolation.pool import ProcessRunner, _Slot

__all__ = ["SessionChild"]


class SessionChild:
    """One session's child (``ProcessRunner.open_session``): each ``run`` sends it the next
    program, which runs in the globals the earlier ones left (``child.executor.run_session``);
    or, with ``reuse``, a warm child, whose runs each have fresh globals
    (isolation.warm_children).
    A run that ends the child (a timeout, the memory limit, a crash) leaves it ``dead``; the
    session then opens another. Runs of one SessionChild must not overlap.

    Limits: the host sets the child's rlimits once, before its first run, while the child still
    has the host's uid (it drops to nobody on its first request, and after that only
    CAP_SYS_RESOURCE could change them): the address space for ``memory_mb`` (the session's
    memory) and the CPU for the whole session (``cpu_budget_s``). Each run ends at its wall
    deadline, ``min(wall_s, cpu_s)``: a child has one thread, so that also bounds its CPU."""

    def __init__(
        self,
        runner: ProcessRunner,
        checked_out: tuple[_Slot, wire.Hello] | None,
        cpu_budget_s: float,
        *,
        reuse: bool = False,
    ) -> None:
        # reuse: a warm child's (wire.FLAG_REUSE): each run in globals of its own, not the
        # session's namespace, and its reply carries no state.
        self._mode_flag = wire.FLAG_REUSE if reuse else wire.FLAG_SESSION
        self._runner = runner
        self._checked_out = checked_out
        self._cpu_budget_s = cpu_budget_s
        self._limits_set = False
        self._cpu_before_us = checked_out[1].baseline_cpu_us if checked_out is not None else 0
        self._pidfd = open_pidfd(checked_out[1].pid) if checked_out is not None else None
        self._ending: Ending | None = None  # set by the first run (_first_run)
        self._lock = threading.Lock()
        self.dead = checked_out is None
        # Runs it replied to, and the peak RSS its last reply reported (the child's word: it
        # only decides when a warm child is retired early).
        self.runs = 0
        self.peak_rss_kb = 0
        # The CPU the child is kept off (expect_request) until its caller sleeps (after a run
        # that replied while its caller spun it stays off it: the next READY from that CPU then
        # needs no syscall), the CPUs it may use otherwise, and when it was last told READY.
        self._kept_off: int | None = None
        self._cpus: frozenset[int] | None = None
        self._told_ready_at = -math.inf

    def run(
        self,
        request: bytes,
        limits: ChildLimits,
        *,
        inputs: bytes = b"",
        on_output: Callable[[str], None] | None = None,
        host_calls: channel.HostCalls | None = None,
    ) -> ChildOutcome:
        """Run one program in the session's child; how it ended (as ``ProcessRunner.run``).
        Never raises for anything the child does; raises RunnerClosed, QueueFull, and what
        ``on_output`` or ``host_calls`` raise to stop the run (the child is killed first)."""
        runner = self._runner
        runner._enter()
        try:
            with self._lock:
                return self._run(
                    request,
                    inputs,
                    limits,
                    StreamedOutput(limits.output_bytes, on_output),
                    host_calls,
                )
        finally:
            runner._leave()

    def _run(
        self,
        request: bytes,
        inputs: bytes,
        limits: ChildLimits,
        output: StreamedOutput,
        host_calls: channel.HostCalls | None,
    ) -> ChildOutcome:
        checked_out = self._checked_out
        if self.dead or checked_out is None:
            why = "the child is gone" if self._checked_out is not None else "no child could start"
            return no_child(limits, self._runner.layers_available(), why)
        slot, hello = checked_out
        if self._ending is None:
            self._ending = self._first_run(slot, hello, limits)
        ending = self._ending
        flags = self._mode_flag | (wire.FLAG_ALLOW_DEGRADED if limits.allow_degraded else 0)
        if self._limits_set:
            flags |= wire.FLAG_LIMITS_SET_BY_HOST
        body = request + inputs
        header = wire.RequestHeader(flags, limits.cpu_s, limits.memory_mb, len(body), len(request))
        started = time.monotonic()
        deadline = started + min(limits.wall_s, limits.cpu_s)
        left_behind = False
        replied = False

        self._told_ready_at = -math.inf  # this request ends any look for it

        def let_back() -> None:  # the caller sleeps now: all its CPUs are the child's again
            if self._kept_off is not None and self._cpus is not None:
                self._kept_off = None
                if unreaped(self._pidfd):
                    cpus.let_back(hello.pid, self._cpus)

        try:
            request_flush = (
                (lambda: signal_child(self._pidfd, hello.pid, wire.FLUSH_SIGNAL))
                if output.streaming
                else None
            )
            reply, watchdog, error, left_behind = exchange(
                slot.sock,
                wire.encode_request(header) + body,
                deadline,
                limits.max_payload_bytes,
                self._runner._running_alone(),
                output,
                request_flush,
                host_calls,
                let_back,
            )
            if watchdog and not left_behind:
                signal_child(self._pidfd, hello.pid, wire.FLUSH_SIGNAL)
                channel.collect_flushed_output(
                    slot.sock, time.monotonic() + wire.FLUSH_GRACE_S, output
                )
            wall_ms = (time.monotonic() - started) * 1000.0
            replied = reply is not None
        finally:
            if not replied:
                self._end(close_socket=not left_behind)
        if reply is not None:
            self.runs += 1
            self.peak_rss_kb = reply.header.peak_rss_kb
            # (Its own word, bounded like any reply's: it only shifts this child's accounting.)
            self._cpu_before_us += min(reply.header.cpu_us, int(limits.wall_s * 1e6) + 1)
            return ending.replied(reply, wall_ms, output.text())
        # What the child used before this run (its earlier runs, as their replies said), so
        # that a death's CPU (from wait4) is reported for this run alone.
        baseline = dataclasses.replace(hello, baseline_cpu_us=self._cpu_before_us)
        return ending.died(slot.fork_server, baseline, wall_ms, watchdog, error, output.text())

    def _first_run(self, slot: _Slot, hello: wire.Hello, limits: ChildLimits) -> Ending:
        """Before the child's first run: set its limits for the whole session (see the class's
        docstring); what every run of it records of its ending."""
        expected = self._runner.layers_available()
        session_limits = rlimits.request_limits(
            cpu_s=self._cpu_budget_s,
            memory_mb=limits.memory_mb,
            baseline_vm_bytes=hello.baseline_vm_kb * 1024,
            baseline_cpu_s=hello.baseline_cpu_us / 1e6,
        )
        self._limits_set = rlimits.set_on_child(hello.pid, session_limits)
        if slot.fork_server.info.renice_waiting:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, hello.pid, 0)
        return Ending(
            cpu_limit_ms=self._cpu_budget_s * 1000.0,
            memory_ceiling_kb=hello.baseline_rss_kb + limits.memory_mb * 1024,
            layers=layers.with_host_layers(hello.layers_mask, drop_root="drop_root" in expected),
        )

    @property
    def baseline_rss_kb(self) -> int:
        """The child's RSS when it said hello, before any run."""
        return self._checked_out[1].baseline_rss_kb if self._checked_out is not None else 0

    @property
    def limits_set(self) -> bool:
        """Whether the host set the child's rlimits itself (prlimit): a later request needs
        it, since a locked-down child cannot set them."""
        return self._limits_set

    def expect_request(self) -> None:
        """Tell the child (between runs) that its next request comes within
        wire.READY_SPIN_S, from this thread: it looks for it without sleeping, kept off this
        thread's CPU until this thread sleeps in that run (see isolation.cpus). Only for a run
        whose conversation this thread holds (no host functions, no streamed output). Best
        effort: without a CPU to keep it off, nothing is sent."""
        checked_out = self._checked_out
        now = time.monotonic()
        if checked_out is None or self.dead or not self.runs:
            return
        if now - self._told_ready_at < wire.READY_SPIN_S:
            return  # still looking
        cpu = cpus.current_cpu()
        if cpu is None:
            return
        slot, hello = checked_out
        if cpu != self._kept_off:
            if not unreaped(self._pidfd):
                return
            if self._cpus is None:
                self._cpus = cpus.affinity(hello.pid)
            if self._cpus is None or not cpus.keep_off(hello.pid, cpu, self._cpus):
                return
            self._kept_off = cpu
        try:
            sent = slot.sock.send(wire.READY_FRAME)
        except OSError:
            return  # a full or broken socket: the run finds out
        if sent != len(wire.READY_FRAME):  # (an idle child's buffer is empty: never)
            self.close()
            return
        self._told_ready_at = now

    def pause(self) -> None:
        """Stop the child (SIGSTOP) while it waits between a warm child's runs: whatever it
        would do then, it does on no CPU. ``resume`` before its next run."""
        if self._checked_out is not None and not self.dead:
            signal_child(self._pidfd, self._checked_out[1].pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused child go on (SIGCONT)."""
        if self._checked_out is not None and not self.dead:
            signal_child(self._pidfd, self._checked_out[1].pid, signal.SIGCONT)

    def sound_while_idle(self) -> bool:
        """Whether the child, between runs, is still there and silent: a child that died (its
        socket reads EOF) or sends anything unasked (a taken-over one) is not. Never blocks."""
        if self.dead or self._checked_out is None:
            return False
        try:  # (the host's end is non-blocking: nothing to read raises)
            self._checked_out[0].sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return True
        except OSError:  # the socket is closed, or reset by a child that died
            return False
        return False  # EOF, or bytes nobody asked for

    def close(self) -> None:
        """End the session's child. Idempotent."""
        if self._checked_out is not None and not self.dead:
            self._end(close_socket=True)
            self._checked_out[0].fork_server.board.ignore(self._checked_out[1].pid)

    def _end(self, *, close_socket: bool) -> None:
        self.dead = True
        checked_out = self._checked_out
        if checked_out is None:
            return
        slot, hello = checked_out
        kill_child(self._pidfd, hello.pid)
        if close_socket:
            slot.sock.close()
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None
