"""Life of one pre-forked child: prepare, lock down, say hello, warm up if idle (and the host
allows it), run one request.

Runs only inside a process freshly forked by the fork server, and never returns: every path ends in
``os._exit`` so that no fork server code (its loop, atexit hooks, finalizers) ever runs in a child.
"""

from __future__ import annotations

import contextvars
import gc
import os
import resource
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from restricted_exec.isolation import (
    exit_codes,
    landlock,
    layers,
    privileges,
    rlimits,
    syscalls,
    wire,
)
from restricted_exec.isolation.seccomp import FilterProgram

if TYPE_CHECKING:  # the fork server imports wrapt (through the entry) only after wrapt_core
    from restricted_exec.child.executor import ChildLink


@dataclass(frozen=True, slots=True)
class ChildContext:
    """Everything a child needs, prepared once in the fork server and inherited through fork."""

    fork_server_pid: int
    workdir: str
    # The entry's rehearsal of a run while the child waits, through the outlet it is given.
    warm_up: Callable[[ChildLink | None], None]
    # The entry's two steps of a run: prepare(program part, base) -> prepared, which runs nothing
    # of the program and may happen ahead of the request; run_prepared(prepared, inputs, outlet)
    # -> payload.
    prepare: Callable[[bytes, object | None], object]
    run_prepared: Callable[[object, bytes, ChildLink | None], bytes]
    # A session child's runs: run_session(prepared, program part or None for the first,
    # inputs, link) -> payload with the program's state. None: the entry serves no sessions.
    run_session: Callable[[object, bytes | None, bytes, ChildLink | None], bytes] | None
    # A warm child's, after each run: discard(prepared) drops everything the run holds (its
    # globals, output, value), so that nothing of it outlives the run, even in objects the fork
    # server froze (gc.freeze), which the collector never walks. None: no warm children.
    discard: Callable[[object], None] | None
    available: frozenset[str]
    seccomp_filter: FilterProgram | None
    landlock_ruleset: landlock.Ruleset | None
    # Wait at the lowest priority; the host raises it back (see _prepare).
    renice_waiting: bool = False
    # Built once in the fork server by the entry (runtime.prepare_base): the program-independent
    # part of a run's globals. Each child's own copy goes to its first prepare, and only to that
    # one.
    base: object | None = None
    # The entry's prepare_base, for a warm child to build its next run's base while it waits.
    prepare_base: Callable[[], object | None] | None = None
    # Whether the fork server handles SIGCHLD (it has no pidfds) and the child must undo that.
    reset_signals: bool = True
    # The fork server entered an empty root (emptyroot.py): a descriptor of the host's /proc kept
    # for memory_footprint, which the child closes before it locks down; -1 if there is none.
    empty_root: bool = False
    proc_fd: int = -1


@dataclass(frozen=True, slots=True)
class InheritedProgram:
    """A program the fork server was sent ahead of time (wire.CTL_PRIME), which the children it
    forks for it inherit instead of being sent it."""

    program: bytes
    # Prepared once in the fork server when the entry allows it (runtime.prepare_to_share); each
    # child then runs its own copy-on-write copy. None: each child prepares the program itself.
    prepared: object | None


def child_main(
    sock_fd: int, ctx: ChildContext, inherited: InheritedProgram | None, warm_up: bool
) -> NoReturn:
    """``warm_up``: whether the child may rehearse a run while it waits (the host says no when
    runs arrive so often that the CPU it takes would only slow them down)."""
    code = exit_codes.EXIT_INTERNAL
    try:
        served = _serve(sock_fd, ctx, inherited, warm_up)
        # A warm child goes on from here, from frames that hold nothing of its first run (its
        # inputs, its reply, a primed program): what one run leaves must not outlive it.
        del inherited
        if isinstance(served, _ServeAgain):
            served = _serve_reused(wire.CHILD_SOCKET_FD, ctx, served.active)
        code = served
    except MemoryError:
        code = exit_codes.EXIT_MEMORY
    except BaseException:
        code = exit_codes.EXIT_INTERNAL
        _report_failure()
    os._exit(code)


def _report_failure() -> None:
    """Tell the host why the child's machinery failed (a bug to diagnose, never the program's
    doing: run_prepared handles the program's errors). Best effort; the exit code says the rest."""
    try:
        import sys
        import traceback

        from restricted_exec.language.text import exception_text

        # Not traceback.format_exc(): it calls str() of the exception, which may be a
        # program's and run its code outside the run (red-team round 9).
        problem = sys.exc_info()[1]
        lines = traceback.format_tb(problem.__traceback__) if problem is not None else []
        described = exception_text(problem) if problem is not None else "no exception"
        text = ("".join(lines) + described).encode("utf-8", "replace")
        text = text[-wire.MAX_FAILURE_TEXT :]
        header = wire.ReplyHeader(0, 0, 0, len(text), kind=wire.ChildFrame.FAILURE)
        _send_all(wire.CHILD_SOCKET_FD, wire.encode_reply(header) + text)
    except BaseException:
        pass


def _prepare(sock_fd: int, ctx: ChildContext) -> None:
    # Own session and process group: the host kills the whole group, and the child is detached
    # from any terminal the host may have (no SIGINT from Ctrl-C, no controlling tty to write to).
    os.setsid()
    if "no_new_privs" in ctx.available:  # i.e. Linux
        # If the fork server dies the child dies too, so no child outlives the process that reaps
        # it.
        privileges.die_with_parent(signal.SIGKILL)
        if os.getppid() != ctx.fork_server_pid:
            os._exit(exit_codes.EXIT_ORPHANED)  # the fork server died before prctl took effect
    if ctx.reset_signals:
        # The fork server's SIGCHLD handler and wakeup fd belong to the fork server, not to a child.
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # Keep 0-2 (the fork server's /dev/null) so that no fd the program might create is ever numbered
    # 0-2 and receives stray prints; move the socket to a fixed number; close everything else.
    if sock_fd != wire.CHILD_SOCKET_FD:
        os.dup2(sock_fd, wire.CHILD_SOCKET_FD, inheritable=False)
        os.close(sock_fd)
    close_fds_but(wire.CHILD_SOCKET_FD, ctx.proc_fd)
    # An empty directory that the fork server made read-only: relative paths resolve to nothing.
    os.chdir(ctx.workdir)


# The nice value a pre-forked child waits at (0 is normal, 19 the lowest priority).
WAITING_NICE = 19


def _max_fd() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 65536


def close_fds_but(keep: int, also: int = -1) -> None:
    """Close every fd above 2 except ``keep`` (and ``also``, if it is one)."""
    if keep < also:
        os.closerange(3, keep)
        os.closerange(keep + 1, also)
        os.closerange(also + 1, _max_fd())
    elif also > 2:
        os.closerange(3, also)
        os.closerange(also + 1, keep)
        os.closerange(keep + 1, _max_fd())
    else:
        os.closerange(3, keep)
        os.closerange(keep + 1, _max_fd())


def _recv_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _send_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class _SocketLink:
    """The run's link to its host (child.executor.ChildLink) over the child's socket: host
    function calls (HOST_CALL, answered by CALL_REPLY) and output (OUTPUT frames, flushed every
    FLUSH_INTERVAL_S of the child's CPU time (a SIGPROF timer) and whenever the host sends
    FLUSH_SIGNAL: while the caller streams the output, and before a kill.

    The flushes run in signal handlers, between any two bytecodes of the program (or of the
    child's own code): a handler never raises into them, and does nothing while a frame is half
    written (the next tick sends what it would have). Nothing of this is on a run's path: the
    handlers are installed once, in the fork server (``install_flush_handlers``), and every child
    inherits them with this one outlet (a child that installed them itself paid ~0.2 ms of page
    faults); the timer is armed before the child says hello (``arm_flush_timer``), and counts
    CPU time, so a waiting child, which uses none, is never woken by it."""

    __slots__ = ("_flush", "_sending")

    def __init__(self) -> None:
        self._flush: Callable[[], None] | None = None
        self._sending = False

    def open(self, flush: Callable[[], None]) -> None:
        self._flush = flush

    def send(self, text: str) -> None:
        body = text.encode("utf-8")
        header = wire.ReplyHeader(0, 0, 0, len(body), kind=wire.ChildFrame.OUTPUT)
        self._sending = True
        try:
            _send_all(wire.CHILD_SOCKET_FD, wire.encode_reply(header) + body)
        finally:
            self._sending = False

    def close(self) -> None:
        # A tick or a flush request from now on finds nothing to send: the reply carries it.
        self._flush = None

    def call(self, body: bytes) -> bytes:
        header = wire.ReplyHeader(0, 0, 0, len(body), kind=wire.ChildFrame.HOST_CALL)
        self._sending = True
        try:
            _send_all(wire.CHILD_SOCKET_FD, wire.encode_reply(header) + body)
        finally:
            self._sending = False
        # A flush request may come while this waits: its handler sends whole OUTPUT frames,
        # never inside this call's frame.
        raw = _recv_exactly(wire.CHILD_SOCKET_FD, wire.REQUEST.size)
        reply = wire.decode_request(raw) if raw is not None else None
        if reply is None or reply.kind != wire.HostFrame.CALL_REPLY:
            raise ConnectionError("the host did not answer the call")
        answer = _recv_exactly(wire.CHILD_SOCKET_FD, reply.length) if reply.length else b""
        if answer is None:
            raise ConnectionError("the host did not answer the call")
        return answer

    def on_tick(self, signum: int, frame: FrameType | None) -> None:
        flush = self._flush
        if flush is None or self._sending:
            return
        # Nothing may raise into the program from here; the next tick retries. (A try
        # statement, not contextlib.suppress: fewer objects for a signal handler to make.)
        try:  # noqa: SIM105
            flush()
        except BaseException:
            pass

    def on_flush_request(self, signum: int, frame: FrameType | None) -> None:
        flush = self._flush
        if flush is None or self._sending:
            return
        try:
            flush()
            self.send("")  # everything printed so far is sent
        except BaseException:  # the host kills the child next either way
            pass


_LINK = _SocketLink()


def install_flush_handlers() -> None:
    """For the fork server, before it forks: the handlers of the children's flushes (see
    _SocketLink). In the fork server itself no outlet is open, and they do nothing."""
    signal.signal(signal.SIGPROF, _LINK.on_tick)
    signal.signal(wire.FLUSH_SIGNAL, _LINK.on_flush_request)


def arm_flush_timer() -> None:
    """Start the child's flush ticks: every FLUSH_INTERVAL_S of CPU time from now on."""
    signal.setitimer(signal.ITIMER_PROF, wire.FLUSH_INTERVAL_S, wire.FLUSH_INTERVAL_S)


def _no_output() -> None:
    return None


def _request_pending(fd: int) -> bool:
    readable, _, _ = select.select([fd], [], [], 0)
    return bool(readable)


def _rehearse() -> None:
    """Walk the post-request path once with harmless values, so that its copy-on-write faults and
    cold caches are paid while waiting rather than on the request's critical path."""
    resource.getrusage(resource.RUSAGE_SELF)
    wire.decode_request(wire.encode_request(wire.RequestHeader(0, 1.0, 1, 0, 0)))
    wire.encode_reply(wire.ReplyHeader(layers.to_mask(layers.ALL), 0, 0, 0))
    _LINK.close()  # (it is closed: this only writes its page, as the run's open will)


# The outlet a rehearsed run is given: a link of the run's own type, so that the run's outlet
# path (and CPython's caches of it, which are per type) is the one rehearsed, but not the
# child's link: a flush tick during a rehearsal finds that one closed, and nothing reaches the
# host. Nothing calls this one's send: only the signal handlers flush, and they flush _LINK.
_REHEARSAL_LINK: _SocketLink | None = None


def _rehearsal_link() -> _SocketLink:
    global _REHEARSAL_LINK
    if _REHEARSAL_LINK is None:
        _REHEARSAL_LINK = _SocketLink()
    return _REHEARSAL_LINK


# See runtime.CODE_WARM_UP_RUNS.
CODE_WARM_UP_RUNS = 64


def warm_code_paths(
    available: frozenset[str], warm_child: Callable[[ChildLink | None], None] | None
) -> None:
    """For the fork server: run the side-effect-free steps of a child's life often enough for
    CPython to finish warming up their code (see runtime.warm_up), so that every child inherits
    those code objects finished instead of copy-on-write faulting their pages. That includes a
    rehearsed run through an outlet of the child's link type (the entry's own warm-up has none),
    if the entry has a ``warm_child``, in a context of its own: a run turns the guards on for
    good in its context."""
    hello = wire.Hello(0, 0, 0, 0, 0)
    link = _rehearsal_link()
    for _ in range(CODE_WARM_UP_RUNS):
        if warm_child is not None:
            contextvars.copy_context().run(warm_child, link)
        _rehearse()
        _LINK.open(_no_output)
        _LINK.on_tick(signal.SIGPROF, None)
        _LINK.close()
        wire.encode_hello(hello)
        rlimits.memory_footprint()
        rlimits.cpu_seconds()
        if "no_new_privs" in available:  # a harmless query through the prctl wrapper
            syscalls.prctl(syscalls.PR_GET_NO_NEW_PRIVS)


def _lock_down(ctx: ChildContext) -> set[str]:
    """Apply every OS layer, while the child waits for its request. Returns the active layers.

    Nothing untrusted has run yet, so doing this before the request arrives is as safe as doing
    it after, and it takes the costly steps (Landlock, the seccomp filter) off the critical path.
    The per-request limits (address space, CPU) are set on this process by the host with
    prlimit(2) before it sends the request, so the filter can forbid every limit change.
    Order matters: rlimits, renicing and dropping root need syscalls the filter denies; Landlock
    and seccomp need no_new_privs (root's CAP_SYS_ADMIN is gone once root is dropped); seccomp
    goes last. A layer that fails is left out of the result; the request decides whether the
    child may run without it.
    """
    active = {"setsid", "closed_fds", "empty_cwd"}
    if ctx.empty_root:
        active.add("empty_root")

    def attempt(name: str, step: Callable[[], object]) -> None:
        if name not in ctx.available:
            return
        try:
            step()
        except (OSError, ValueError):
            pass
        else:
            active.add(name)

    def no_new_privs() -> None:
        privileges.set_not_dumpable()
        privileges.set_no_new_privs()

    attempt("rlimits", lambda: rlimits.apply_static(highest_fd=wire.CHILD_SOCKET_FD))
    attempt("no_new_privs", no_new_privs)
    ruleset = ctx.landlock_ruleset
    if ruleset is not None:
        attempt("landlock", ruleset.restrict_self)
    if ctx.renice_waiting:
        # From here on (seccomp, then the wait: warm-up, decoding a primed program) the child
        # runs at the lowest priority, so that where the kernel compares nice values across
        # sessions it takes only CPU that no running program or its caller wants. (With
        # autogroup scheduling and the root cpu cgroup, each session is its own group and
        # this changes nothing; see docs/design/isolation.md.) The host restores normal
        # priority when it hands the child its request (it has CAP_SYS_NICE, which the fork server
        # checked). The lock-down before this point runs at normal priority, so a busy host
        # cannot hold back a child's hello for long. Last before seccomp, which denies
        # setpriority. (A try statement, not contextlib.suppress: that is five more objects
        # for a child to touch.)
        try:  # noqa: SIM105
            os.setpriority(os.PRIO_PROCESS, 0, WAITING_NICE)
        except OSError:
            pass
    seccomp_filter = ctx.seccomp_filter
    if seccomp_filter is not None:
        attempt("seccomp", lambda: seccomp_filter.install(os.getpid()))
    return active


def _receive_request(
    fd: int, ctx: ChildContext, inherited: InheritedProgram | None, warm_up: bool
) -> tuple[wire.RequestHeader, object, bytes] | int:
    """Wait for the request, preparing a primed program and warming up meanwhile.

    Returns the request's header, its prepared program and its inputs part, or an exit code.
    """
    prepared: object = None
    # Taken out of the context, the child's own copy (a frozen dataclass, hence setattr): the
    # base becomes the first program's globals, and a warm child's later runs must find no
    # reference to them left (they would stay alive, and with them all the run kept).
    base = ctx.base
    object.__setattr__(ctx, "base", None)

    def prepare(program: bytes) -> object:
        nonlocal base
        used, base = base, None  # a second prepare must not share the first one's globals
        return ctx.prepare(program, used)

    if inherited is not None:
        # Primed by the fork server: prepared there already, or prepared here (as a prime sent by
        # the host would be) because its globals must be this child's own.
        prepared = inherited.prepared
        if prepared is None:
            prepared = prepare(inherited.program)
    warmed = not warm_up
    while True:
        if not warmed and not _request_pending(fd):
            # Idle: warm up while waiting. Touching the runtime's pages now takes the
            # copy-on-write faults off the request's critical path. Under load a request (or a
            # prime) is already waiting, and warming up first would only delay it (the run pays
            # those faults either way). It runs after the lockdown, so it needs nothing the
            # layers deny (it is in-memory work), as does prepare.
            ctx.warm_up(_rehearsal_link())
            warmed = True
        raw = _recv_exactly(fd, wire.REQUEST.size)
        if raw is None:
            return exit_codes.EXIT_NO_REQUEST
        header = wire.decode_request(raw)
        if header is None:
            return exit_codes.EXIT_INTERNAL
        body = _recv_exactly(fd, header.length) if header.length else b""
        if body is None:
            return exit_codes.EXIT_NO_REQUEST
        if header.kind != wire.HostFrame.REQUEST and header.kind != wire.HostFrame.PRIME:
            return exit_codes.EXIT_INTERNAL  # no call was made, no run ran: the host is confused
        if not header.prime:
            break
        if prepared is not None:
            return exit_codes.EXIT_INTERNAL  # the host primes a child at most once
        # The host sent the program ahead of the request: decode it and build its globals now.
        prepared = prepare(body)
    if header.flags & wire.FLAG_PRIMED:
        if prepared is None:
            return exit_codes.EXIT_INTERNAL
        return header, prepared, body
    split = header.program_length
    return header, prepare(body[:split]), body[split:]


@dataclass(frozen=True, slots=True)
class _ServeAgain:
    """What ``_serve`` returns for a warm child: serve the next requests (``_serve_reused``)."""

    active: set[str]


def _serve(
    sock_fd: int, ctx: ChildContext, inherited: InheritedProgram | None, warm_up: bool
) -> int | _ServeAgain:
    _prepare(sock_fd, ctx)
    fd = wire.CHILD_SOCKET_FD
    if warm_up:
        # Under load (no warm-up) the request is probably waiting already, and the rehearsal's
        # own work would only be added to it.
        _rehearse()
    # Address space and RSS are read before Landlock, which makes /proc unreadable.
    if ctx.proc_fd >= 0:
        vm_bytes, rss_kb = rlimits.memory_footprint(ctx.proc_fd)
        os.close(ctx.proc_fd)  # nothing of the host's filesystem stays open
    else:
        vm_bytes, rss_kb = rlimits.memory_footprint()
    active = _lock_down(ctx)
    # CPU is read after the lockdown so that the program's CPU budget starts from here.
    cpu_s = rlimits.cpu_seconds()
    arm_flush_timer()
    hello = wire.Hello(
        os.getpid(), vm_bytes // 1024, rss_kb, int(cpu_s * 1e6), layers.to_mask(active)
    )
    _send_all(fd, wire.encode_hello(hello))
    received = _receive_request(fd, ctx, inherited, warm_up)
    if isinstance(received, int):
        return received
    header, prepared, inputs = received
    # The run's CPU is counted from here: the warm-up and a primed program's decoding happened
    # while the child waited, and are no part of this run.
    run_started_cpu_s = rlimits.cpu_seconds()
    if not header.flags & wire.FLAG_LIMITS_SET_BY_HOST:
        # The host could not prlimit this process (not Linux, or not permitted): set the limits
        # here. With seccomp active this is refused, and the run then fails closed below.
        try:
            for which, (soft, hard) in rlimits.request_limits(
                cpu_s=header.cpu_s,
                memory_mb=header.memory_mb,
                baseline_vm_bytes=vm_bytes,
                baseline_cpu_s=cpu_s,
            ):
                resource.setrlimit(which, (soft, hard))
        except (OSError, ValueError):
            active.discard("rlimits")
    if "drop_root" in ctx.available:
        try:
            if privileges.drop_root():
                active.add("drop_root")
                # Changing credentials clears the parent-death signal (set in _prepare): set it
                # again, or a child whose fork server dies would run on, reparented to init.
                privileges.die_with_parent(signal.SIGKILL)
                if os.getppid() != ctx.fork_server_pid:
                    return exit_codes.EXIT_ORPHANED
        except OSError:
            pass
    if not header.flags & wire.FLAG_ALLOW_DEGRADED and not active >= layers.REQUIRED:
        return exit_codes.EXIT_LOCKDOWN_FAILED

    session = bool(header.flags & wire.FLAG_SESSION)
    reuse = bool(header.flags & wire.FLAG_REUSE)
    if (session and ctx.run_session is None) or (reuse and (session or ctx.discard is None)):
        return exit_codes.EXIT_INTERNAL

    # ---- untrusted code runs below this line ----
    if session:
        assert ctx.run_session is not None
        payload = ctx.run_session(prepared, None, inputs, _LINK)
    else:
        payload = ctx.run_prepared(prepared, inputs, _LINK)
    if not isinstance(payload, bytes):
        return exit_codes.EXIT_INTERNAL
    if reuse:
        del received
        _clear_after_run(ctx, prepared)
        del prepared
    _reply(fd, payload, active, run_started_cpu_s)
    if session:
        return _serve_session(fd, ctx, prepared, active)
    if reuse:
        return _ServeAgain(active)
    return exit_codes.EXIT_OK


def _reply(fd: int, payload: bytes, active: set[str], run_started_cpu_s: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_us = max(0, int((usage.ru_utime + usage.ru_stime - run_started_cpu_s) * 1e6))
    reply = wire.ReplyHeader(layers.to_mask(active), cpu_us, usage.ru_maxrss, len(payload))
    _send_all(fd, wire.encode_reply(reply) + payload)


def _serve_session(fd: int, ctx: ChildContext, prepared: object, active: set[str]) -> int:
    """A session child's later runs: each request brings the next program, which runs in the
    first one's globals. The host sets each request's limits from outside (prlimit), as for
    the first: the filter forbids the child to. Ends when the host closes the socket (or
    kills the child)."""
    assert ctx.run_session is not None
    while True:
        received = _next_request(fd)
        if isinstance(received, int):
            return received  # EXIT_OK: the session is over
        header, body = received
        if header.flags & wire.FLAG_REUSE:
            return exit_codes.EXIT_INTERNAL
        run_started_cpu_s = rlimits.cpu_seconds()
        split = header.program_length
        payload = ctx.run_session(prepared, body[:split], body[split:], _LINK)
        if not isinstance(payload, bytes):
            return exit_codes.EXIT_INTERNAL
        _reply(fd, payload, active, run_started_cpu_s)


def _serve_reused(fd: int, ctx: ChildContext, active: set[str]) -> int:
    """A warm child's later runs (FLAG_REUSE): each request brings a program, prepared in
    globals of its own as a fresh child's would be, and what it leaves is cleared before the
    reply. The host sets the limits from outside, as for a session. Ends when the host closes
    the socket (or kills the child)."""
    while True:
        code = _serve_one_reused(fd, ctx, active)
        if code is not None:
            return code


def _serve_one_reused(fd: int, ctx: ChildContext, active: set[str]) -> int | None:
    """One run of a warm child, in a frame of its own, so that nothing of the run (its request,
    its reply) outlives the call; None when it replied, else the exit code."""
    # While no request waits: the next run's globals, built ahead as the fork server built the
    # first one's (a fresh base each time: a base is used up by the run it goes to).
    base = ctx.prepare_base() if ctx.prepare_base is not None else None
    received = _next_request(fd)
    if isinstance(received, int):
        return received
    header, body = received
    if not header.flags & wire.FLAG_REUSE:
        return exit_codes.EXIT_INTERNAL
    run_started_cpu_s = rlimits.cpu_seconds()
    split = header.program_length
    prepared = ctx.prepare(body[:split], base)
    del base
    payload = ctx.run_prepared(prepared, body[split:], _LINK)
    if not isinstance(payload, bytes):
        return exit_codes.EXIT_INTERNAL
    _clear_after_run(ctx, prepared)
    del prepared
    _reply(fd, payload, active, run_started_cpu_s)
    return None


def _await_request(fd: int) -> None:
    """After READY: look for the request's first bytes for up to wire.READY_SPIN_S without
    sleeping, so that it finds this process running rather than paying the wake-up of an idle
    CPU (the caller keeps it off its own CPU meanwhile: SessionChild.expect_request)."""
    until = time.monotonic() + wire.READY_SPIN_S
    while time.monotonic() < until:
        if _request_pending(fd):
            return


def _next_request(fd: int) -> tuple[wire.RequestHeader, bytes] | int:
    """A session's or a warm child's next request (its limits set by the host), or the exit
    code when there is none (EXIT_OK: the host closed the socket, the child is done)."""
    raw = _recv_exactly(fd, wire.REQUEST.size)
    if raw is None:
        return exit_codes.EXIT_OK
    header = wire.decode_request(raw)
    while header is not None and header.kind == wire.HostFrame.READY:
        if header.length:
            return exit_codes.EXIT_INTERNAL  # READY has no body
        _await_request(fd)
        raw = _recv_exactly(fd, wire.REQUEST.size)
        if raw is None:
            return exit_codes.EXIT_OK
        header = wire.decode_request(raw)
    if header is None or header.kind != wire.HostFrame.REQUEST:
        return exit_codes.EXIT_INTERNAL
    body = _recv_exactly(fd, header.length) if header.length else b""
    if body is None:
        return exit_codes.EXIT_NO_REQUEST
    if not header.flags & wire.FLAG_LIMITS_SET_BY_HOST:
        return exit_codes.EXIT_LOCKDOWN_FAILED
    return header, body


def _clear_after_run(ctx: ChildContext, prepared: object) -> None:
    """Drop and collect what the run left, before its reply: what freeing it costs, or a crash
    it causes (a deep chain of objects whose deallocation overflows the C stack), is the run's
    own, inside its deadline and CPU, never the next run's. Its code cannot run any more (a
    finalizer the collection sets off refuses: every program function checks that its own run
    is on, see compiler.RUN_HOOK). The fork server froze its own objects (gc.freeze), so the
    collection walks only what the child made."""
    assert ctx.discard is not None  # (checked before the first run)
    ctx.discard(prepared)
    gc.collect()
