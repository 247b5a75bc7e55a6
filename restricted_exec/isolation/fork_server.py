"""The fork server: a clean interpreter that warms the runtime once and forks children on demand.

Started by ``fork_server_client.ForkServer`` with ``python -I -S`` and an empty environment. It
talks to the host over one SOCK_SEQPACKET control socket:

* host -> fork server ``F`` + id + warm-up flag + one fd (SCM_RIGHTS): fork a child that will
  serve on that fd (and inherit the program of that id, if it is the one the fork server holds);
* host -> fork server ``S`` + one fd: fork a primed fork server (below) whose control socket is
  that fd;
* host -> primed fork server ``P`` + id + program: prepare this program once (decode it, build
  its globals; nothing of it runs) and hand it to every child forked with that id;
* host -> fork server ``Q`` (or EOF): kill every child, reap them, exit;
* fork server -> host ``R``/``E`` once at startup, then ``X`` for every child it reaps (wait4
  status and rusage, so the host can classify children that died without replying).

The fork server never runs untrusted code and never reads a child's socket; it forks, reaps, and
prepares what children start from (the globals of Policy()'s options at start, a primed program
when sent one), running nothing of any program.

Tenants apart: every child is a copy of its fork server's memory, freed memory included, so a
fork server that was ever sent a program (its source, its code object's constants, the control
buffer it arrived in) would hand that program to every child it forks afterwards, whoever runs
there. So the fork server started by the host is kept clean: it never accepts a program. Programs
are sent ahead only to a primed fork server, forked from the clean fork server on the host's request
(``S``) for one trust domain (a tenant), and the host asks a primed fork server for children
only for runs of that domain. Its children are its own: it reaps them and reports their exits on
its own control socket, and dies with the clean fork server.
"""

from __future__ import annotations

import array
import contextlib
import gc
import importlib
import json
import os
import resource
import select
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from restricted_exec.isolation import (
    emptyroot,
    forking,
    landlock,
    layers,
    privileges,
    seccomp,
    syscalls,
    wire,
    wrapt_core,
)
from restricted_exec.isolation.forked_child import (
    ChildContext,
    InheritedProgram,
    child_main,
    close_fds_but,
    install_flush_handlers,
    warm_code_paths,
)
from restricted_exec.isolation.seccomp import FilterProgram

if TYPE_CHECKING:  # the fork server imports wrapt (through the entry) only after wrapt_core
    from restricted_exec.child.executor import ChildLink


# How often children whose exit no pidfd watches are looked for (only after pidfd_open failed).
UNWATCHED_REAP_MS = 50


@dataclass(frozen=True, slots=True)
class _Entry:
    warm_up: Callable[[], None]  # once, in the fork server
    # A run rehearsed through an outlet, in each waiting child (defaults to warm_up, no outlet)
    warm_child: Callable[[ChildLink | None], None]
    # Whether warm_child is the entry's own (the fork server then warms its outlet path)
    own_warm_child: bool
    prepare: Callable[[bytes, object | None], object]  # see ChildContext
    run_prepared: Callable[[object, bytes, ChildLink | None], bytes]
    run_session: Callable[[object, bytes | None, bytes, ChildLink | None], bytes] | None
    # In the fork server, once: the program-independent part of a run's globals, or None (see
    # ChildContext.base). Entries without one: children build everything themselves.
    prepare_base: Callable[[], object | None]
    # In the fork server, for a program it is sent ahead (CTL_PRIME): a prepared program its
    # children may all start from, or None. Entries without one: children prepare it themselves.
    prepare_to_share: Callable[[bytes], object | None]
    # What a warm child calls after each run: drop what the prepared run holds (ChildContext).
    # Entries without one serve no warm children.
    discard: Callable[[object], None] | None


def _no_sharing(program: bytes) -> None:
    return None


def _no_base() -> None:
    return None


def _load_entry(name: str | None) -> _Entry:
    """The children's entry: ``restricted_exec.child.executor``, or, when the host that started
    this fork server named one (only the isolation tests do, see ``ProcessRunner._entry``), that
    module. The name comes from the host's command line, never from a child."""
    module: ModuleType
    if name is None:
        from restricted_exec.child import executor as module
    else:
        module = importlib.import_module(name)
    warm_up = cast(Callable[[], None], module.warm_up)
    return _Entry(
        warm_up=warm_up,
        warm_child=cast(
            "Callable[[ChildLink | None], None]",
            getattr(module, "warm_child", lambda link: warm_up()),
        ),
        own_warm_child=hasattr(module, "warm_child"),
        prepare=cast(Callable[[bytes, object | None], object], module.prepare),
        run_prepared=cast(
            "Callable[[object, bytes, ChildLink | None], bytes]", module.run_prepared
        ),
        run_session=cast(
            "Callable[[object, bytes | None, bytes, ChildLink | None], bytes] | None",
            getattr(module, "run_session", None),
        ),
        prepare_base=cast(Callable[[], object | None], getattr(module, "prepare_base", _no_base)),
        prepare_to_share=cast(
            Callable[[bytes], object | None], getattr(module, "prepare_to_share", _no_sharing)
        ),
        discard=cast("Callable[[object], None] | None", getattr(module, "discard", None)),
    )


def _pidfds_work() -> bool:
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


class _ForkServer:
    def __init__(
        self,
        ctl: socket.socket,
        ctx: ChildContext,
        prepare_to_share: Callable[[bytes], object | None],
        *,
        primed: bool = False,
    ) -> None:
        self.ctl = ctl
        self.ctx = ctx
        self.prepare_to_share = prepare_to_share
        # A primed fork server accepts programs (CTL_PRIME) and spawns nothing; the clean one
        # spawns primed fork servers and never accepts a program (see the module doc).
        self.primed = primed
        # The program the host sent ahead (CTL_PRIME), by its id: children forked with that id
        # inherit it. One at a time, like the host's prime.
        self.prime: tuple[int, InheritedProgram] | None = None
        self._buffer = bytearray(wire.CTL_MAX_MESSAGE)
        self.children: set[int] = set()
        self.poller = select.poll()
        self.poller.register(self.ctl.fileno(), select.POLLIN)
        # Each child's exit is watched through a pidfd, which becomes readable when the child
        # exits: no SIGCHLD handler, so there is nothing for a child to undo after the fork (it
        # inherits SIGCHLD's default) and no signal to handle in here per exit. Every polled fd
        # other than the control socket and the wakeup pipe is such a pidfd.
        # The child each pidfd watches, so that its exit is reaped with one wait4 for that pid.
        self.watched: dict[int, int] = {}
        # Children forked when pidfd_open failed (e.g. out of fds): reaped on a poll timeout.
        self.unwatched: set[int] = set()
        self.wake_r = -1
        if not ctx.reset_signals:
            return
        # Without pidfds (not Linux, or a kernel before 5.3): SIGCHLD only writes a byte to this
        # pipe; reaping happens in the main loop, never inside a signal handler, so a child exit
        # cannot interrupt a fork half-way. Children reset both (child._prepare).
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.poller.register(self.wake_r, select.POLLIN)

    def serve(self) -> None:
        ctl = self.ctl.fileno()
        while True:
            ready = self.poller.poll(UNWATCHED_REAP_MS if self.unwatched else None)
            if not ready:
                self._reap()
            for fd, _ in ready:
                if fd == ctl:
                    if not self._handle_control():
                        self._shutdown()
                        return
                elif fd == self.wake_r:
                    self._drain_wakeups()
                    self._reap()
                else:  # a child's pidfd: it exited
                    self.poller.unregister(fd)
                    os.close(fd)
                    pid = self.watched.pop(fd, None)
                    if pid is None:
                        self._reap()
                    else:
                        self._reap_child(pid)

    def _handle_control(self) -> bool:
        try:
            msg, fds = self._receive_control()
        except OSError:
            return False
        if not msg or msg[:1] == wire.CTL_QUIT:
            for fd in fds:
                os.close(fd)
            return False
        kind, body = msg[:1], msg[1:]
        if kind == wire.CTL_FORK and len(fds) == 1 and len(body) == wire.FORK.size:
            prime_id, warm_up = wire.FORK.unpack(body)
            held = self.prime
            inherited = held[1] if held is not None and held[0] == prime_id else None
            self._fork(fds[0], inherited, warm_up)
            return True
        if kind == wire.CTL_SPAWN and len(fds) == 1 and not body and not self.primed:
            self._spawn(fds[0])
            return True
        for fd in fds:
            os.close(fd)
        if kind == wire.CTL_PRIME and len(body) >= wire.PRIME_ID.size and self.primed:
            self._hold_prime(body)
        return True

    def _receive_control(self) -> tuple[bytes, list[int]]:
        """One control message and the fds that came with it.

        Into one buffer allocated once: a fresh buffer of CTL_MAX_MESSAGE for every message
        (socket.recv_fds) would be new heap pages to fault in after every fork."""
        size, ancillary, _, _ = self.ctl.recvmsg_into(
            [self._buffer], socket.CMSG_SPACE(array.array("i").itemsize)
        )
        fds = array.array("i")
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
        return bytes(self._buffer[:size]), list(fds)

    def _hold_prime(self, body: bytes) -> None:
        (prime_id,) = wire.PRIME_ID.unpack_from(body)
        program = body[wire.PRIME_ID.size :]
        # The children forked for the previous program already have their copies.
        self.prime = None
        if prime_id and program:
            try:
                prepared = self.prepare_to_share(program)
            except Exception:
                prepared = None  # each child prepares it, and reports what goes wrong
            self.prime = (prime_id, InheritedProgram(program, prepared))
        # Collect the previous program's globals (they hold reference cycles) and move the new
        # ones out of the youngest generation, so that a child's first collections do not walk
        # (and copy-on-write-fault) them.
        gc.collect()

    def _fork(self, sock_fd: int, inherited: InheritedProgram | None, warm_up: bool) -> None:
        try:
            pid = forking.fork()
        except OSError:
            # Closing our copy makes the host see EOF on this child's socket, which it treats as
            # a child that failed to start and replaces.
            os.close(sock_fd)
            return
        if pid == 0:
            child_main(sock_fd, self.ctx, inherited, warm_up)  # never returns
        self._watch(pid, sock_fd)

    def _spawn(self, ctl_fd: int) -> None:
        """Fork a primed fork server that serves the control socket ``ctl_fd``."""
        try:
            pid = forking.fork()
        except OSError:
            os.close(ctl_fd)  # the host sees EOF where it waits for the new server's hello
            return
        if pid == 0:
            code = 1
            try:
                self._serve_primed(ctl_fd)
                code = 0
            finally:
                os._exit(code)  # never back into this (the clean) server's loop
        self._watch(pid, ctl_fd)

    def _serve_primed(self, ctl_fd: int) -> None:
        """In a freshly forked primed fork server: let go of everything of the clean server's
        (its control socket, its children's pidfds, its wakeup pipe), then serve ``ctl_fd``."""
        if "no_new_privs" in self.ctx.available:  # i.e. Linux
            privileges.die_with_parent(signal.SIGKILL)
            if os.getppid() != self.ctx.fork_server_pid:
                return
        # Detached, so that no object of the clean server's ever closes a reused fd number.
        self.ctl.detach()
        close_fds_but(ctl_fd, self.ctx.proc_fd)
        if self.ctx.reset_signals:
            signal.set_wakeup_fd(-1)
        ctx = replace(self.ctx, fork_server_pid=os.getpid())
        server = _ForkServer(socket.socket(fileno=ctl_fd), ctx, self.prepare_to_share, primed=True)
        # As in main: what exists now is every child's, and their collections never walk it.
        gc.collect()
        gc.freeze()
        server.ctl.send(wire.CTL_READY + json.dumps({"pid": os.getpid()}).encode())
        server.serve()

    def _watch(self, pid: int, fd: int) -> None:
        """Record a forked process (closing the parent's copy of its socket) and watch its exit."""
        os.close(fd)
        self.children.add(pid)
        if self.ctx.reset_signals:
            return  # SIGCHLD wakes the loop
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            self.unwatched.add(pid)
            return
        self.watched[pidfd] = pid
        self.poller.register(pidfd, select.POLLIN)

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self.wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def _reap(self, *, block: bool = False) -> None:
        """Reap every child that has exited (all of them, waiting, with ``block``)."""
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            self._report_exit(pid, status, usage)

    def _reap_child(self, pid: int) -> None:
        """Reap the child whose pidfd became readable: one wait4 for its pid, where _reap makes
        a second that finds nothing (each wait4 also imports the resource module afresh for its
        struct_rusage, copy-on-write faults in the fork server after every fork)."""
        try:
            reaped, status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            self.children.discard(pid)
            return
        if reaped == pid:
            self._report_exit(pid, status, usage)
        else:  # not yet waitable after all: look again when anything else wakes the loop
            self.unwatched.add(pid)

    def _report_exit(self, pid: int, status: int, usage: resource.struct_rusage) -> None:
        self.children.discard(pid)
        self.unwatched.discard(pid)
        cpu_us = int((usage.ru_utime + usage.ru_stime) * 1e6)
        report = wire.CTL_EXIT + wire.EXIT.pack(pid, status, cpu_us, usage.ru_maxrss)
        # If the host is gone the send fails; keep reaping anyway so no zombie remains. (A try
        # statement: contextlib.suppress is five more objects to touch after every fork.)
        try:  # noqa: SIM105
            self.ctl.send(report)
        except OSError:
            pass

    def _shutdown(self) -> None:
        for pid in list(self.children):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self._reap(block=True)


def main(config: dict[str, Any]) -> None:
    """Entry point, called by the bootstrap one-liner the host passes to ``python -c``."""
    ctl = socket.socket(fileno=int(config["control_fd"]))
    # The host passed an empty environment; CPython's locale coercion may still have added
    # LC_CTYPE. Children inherit this environment, and it should hold nothing at all.
    os.environ.clear()
    try:
        # Before the entry imports wrapt: the fork server should carry only what children use.
        wrapt_core.install()
        entry = _load_entry(config["entry"])
        # The runtime is imported and warmed once here; every child inherits it through fork.
        entry.warm_up()
        syscalls.load()
        privileges.drop_supplementary_groups()
        available, missing = layers.probe()
        abi = landlock.abi_version()
        has_seccomp = "seccomp" in available
        renice_waiting = privileges.can_raise_priority()
        ctx = ChildContext(
            fork_server_pid=os.getpid(),
            workdir=str(config["workdir"]),
            warm_up=entry.warm_child,
            prepare=entry.prepare,
            run_prepared=entry.run_prepared,
            run_session=entry.run_session,
            discard=entry.discard,
            prepare_base=entry.prepare_base,
            available=frozenset(available),
            seccomp_filter=(
                FilterProgram(seccomp.rules(privileges.NOBODY)) if has_seccomp else None
            ),
            landlock_ruleset=landlock.Ruleset(abi) if "landlock" in available else None,
            renice_waiting=renice_waiting,
            base=entry.prepare_base(),
            reset_signals=not (config.get("pidfds", True) and _pidfds_work()),
        )
        install_flush_handlers()
        warm_code_paths(ctx.available, entry.warm_child if entry.own_warm_child else None)
        # The one after-fork hook of CPython's that forking.fork skips and a child needs.
        forking.seed_shared_random_on_first_draw()
        # Opened now: from here on the host's filesystem may be out of sight.
        devnull = os.open(os.devnull, os.O_WRONLY)
        # Last: everything above may still read files (imports, /proc, /dev/null).
        if config.get("empty_root", True):
            proc_fd, why = emptyroot.enter(ctx.workdir)
        else:
            proc_fd, why = None, "turned off for this runner"
        if why:
            missing["empty_root"] = why
        else:
            available = layers.ordered([*available, "empty_root"])
            ctx = replace(
                ctx,
                workdir="/",
                available=frozenset(available),
                empty_root=True,
                proc_fd=-1 if proc_fd is None else proc_fd,
            )
        server = _ForkServer(ctl, ctx, entry.prepare_to_share)
    except BaseException:
        ctl.send(wire.CTL_ERROR + traceback.format_exc().encode("utf-8", "replace")[-3000:])
        raise
    # Move every object that exists now into the permanent generation: the garbage collector in a
    # child then never walks (and so never copy-on-write-faults) the inherited heap.
    gc.collect()
    gc.freeze()
    ready = {
        "pid": os.getpid(),
        "layers": list(available),
        "missing": missing,
        "abi": abi,
        "renice_waiting": ctx.renice_waiting,
    }
    ctl.send(wire.CTL_READY + json.dumps(ready).encode())
    # From now on nothing should be written to stderr (the host stops reading it): point it at
    # /dev/null so that a stray warning cannot block or break on a closed pipe.
    os.dup2(devnull, 2)
    os.close(devnull)
    server.serve()
    sys.exit(0)
