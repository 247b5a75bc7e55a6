"""Host-side handle on one fork server process: start it, ask it to fork, hear about exits, stop it.

The same handle serves a primed fork server (see fork_server.py), which the clean fork server forks
on request (``ForkServer.spawn_primed``) and which the host then talks to directly."""

from __future__ import annotations

import array
import contextlib
import errno
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from restricted_exec.isolation import wire
from restricted_exec.isolation.errors import IsolationUnavailable
from restricted_exec.isolation.exit_board import ExitBoard, ExitReport

# The fork server's program: put the host's import path in place (-I -S gave it none), then hand
# over.
_BOOTSTRAP = (
    "import sys, json; c = json.loads(sys.argv[1]); sys.path[:0] = c['path']; "
    "from restricted_exec.isolation.fork_server import main; main(c)"
)
STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 5.0


def _import_path() -> list[str]:
    """The directories the fork server needs to import restricted_exec and its dependencies.

    ``-S`` skips site (no site-packages, no .pth processing) and ``-I`` drops the script directory
    and PYTHON* variables, so the fork server sees exactly the host's resolved sys.path, made
    absolute (a relative entry would resolve against the fork server's empty working directory).
    """
    package_root = str(Path(__file__).resolve().parents[2])
    entries = [package_root]
    for entry in sys.path:
        absolute = os.path.abspath(entry or os.curdir)
        if absolute not in entries and os.path.exists(absolute):
            entries.append(absolute)
    return entries


def _minimal_env() -> dict[str, str]:
    """Nothing from the host's environment reaches the fork server (so none reaches a child): no
    secrets, no PATH, no PYTHONHASHSEED/PYTHON* tuning (ignored under -I anyway). ``-X utf8``
    replaces LANG/LC_* for the one thing the runtime needs from the locale: text encoding.

    One variable of our own, read by the dynamic loader when the fork server starts (the fork
    server then clears its environment, so children inherit none): LD_BIND_NOW resolves every
    library call of the interpreter at startup. With lazy binding, the first call of a libc
    function from a child (setsid, prlimit, landlock, ...) resolved the symbol there and wrote the
    result into a global offset table page, a copy-on-write fault in every child
    (docs/performance.md, "Measurements behind the code"). Extension modules are already loaded
    with RTLD_NOW (CPython's default dlopen flags)."""
    return {"LD_BIND_NOW": "1"}


@dataclass(frozen=True, slots=True)
class ForkServerInfo:
    pid: int
    layers: tuple[str, ...]
    missing: dict[str, str]
    # Children wait at the lowest priority; the host restores it when it hands one a request.
    renice_waiting: bool = False


# sendmsg errors that refuse the one message and leave the socket as it was.
_MESSAGE_REFUSED = frozenset({errno.EMSGSIZE, errno.ENOBUFS, errno.ENOMEM})


class ForkServer:
    """One running fork server. Thread-safe: forks may be requested from any thread."""

    # The fork server's process; None for a primed fork server (the fork server's child, see
    # spawn_primed), which exits when its control socket closes and is reaped by the fork server.
    _proc: subprocess.Popen[bytes] | None

    def __init__(
        self,
        *,
        entry: str | None,
        workdir: str,
        generation: int,
        on_exit: Callable[[ForkServer], None] | None = None,
        pidfds: bool = True,
        empty_root: bool = True,
    ) -> None:
        """``on_exit(fork_server)`` is called on the reader thread after each reaped child's report
        is posted; it must not wait for this fork server's reports. ``pidfds=False`` makes the fork
        server watch exits through SIGCHLD even where pidfds work (to test that path)."""
        self._init_state(generation, on_exit)
        host_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._ctl = host_end
        config = {
            "path": _import_path(),
            "entry": entry,
            "workdir": workdir,
            "control_fd": server_end.fileno(),
            "pidfds": pidfds,
            "empty_root": empty_root,
        }
        try:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    "-B",
                    "-X",
                    "utf8",
                    "-c",
                    _BOOTSTRAP,
                    json.dumps(config),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                close_fds=True,  # only the control socket crosses over
                pass_fds=(server_end.fileno(),),
                cwd=workdir,
                env=_minimal_env(),
                # Own session: a Ctrl-C aimed at the host's terminal group does not reach it.
                start_new_session=True,
            )
        except OSError as exc:
            host_end.close()
            raise IsolationUnavailable(f"could not start the fork server: {exc}") from exc
        finally:
            server_end.close()
        try:
            self.info = self._await_ready()
        except BaseException:
            self._kill_and_wait()
            self._ctl.close()
            raise
        self._start_reader()

    def _init_state(self, generation: int, on_exit: Callable[[ForkServer], None] | None) -> None:
        self.generation = generation
        # The id of the program the fork server holds for its children (see send_prime); 0: none.
        self.prime_id = 0
        self._on_exit = on_exit
        self.board = ExitBoard()
        self.dead = threading.Event()
        self._proc = None

    def _start_reader(self) -> None:
        self._reader = threading.Thread(
            target=self._read_reports,
            name=f"restricted-exec-fork-server-{self.generation}",
            daemon=True,
        )
        self._reader.start()

    def spawn_primed(
        self, on_exit: Callable[[ForkServer], None] | None = None, *, wait: bool = True
    ) -> ForkServer:
        """Have this (clean) fork server fork a primed fork server: one that may be sent programs
        (``send_prime``) and forks children holding them. It has this fork server's generation and
        dies with it. Nothing waits for it to start: what is sent to it meanwhile waits in its
        socket, and its hello (its pid) is the first thing its reader thread reads. If it fails
        to start, its socket reports EOF and it is dead. Raises like ``request_child``."""
        host_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._send_control(
                wire.CTL_SPAWN,
                wait=wait,
                fds=(
                    (socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [server_end.fileno()])),
                ),
            )
        except OSError:
            host_end.close()
            raise
        finally:
            server_end.close()
        server = ForkServer.__new__(ForkServer)
        server._init_state(self.generation, on_exit)
        server._ctl = host_end
        server.info = replace(self.info, pid=0)  # its pid once its hello has arrived
        server._start_reader()
        return server

    @property
    def pid(self) -> int:
        return self.info.pid if self._proc is None else self._proc.pid

    def _await_ready(self) -> ForkServerInfo:
        assert self._proc is not None
        stderr = self._proc.stderr
        assert stderr is not None
        self._ctl.settimeout(STARTUP_TIMEOUT_S)
        try:
            msg = self._ctl.recv(wire.CTL_MAX_MESSAGE)
        except TimeoutError:
            msg = b""
        finally:
            self._ctl.settimeout(None)
        if msg[:1] == wire.CTL_READY:
            stderr.close()
            data = json.loads(msg[1:])
            return ForkServerInfo(
                int(data["pid"]),
                tuple(data["layers"]),
                dict(data["missing"]),
                data.get("renice_waiting") is True,
            )
        if msg[:1] == wire.CTL_ERROR:
            why = msg[1:].decode("utf-8", "replace")
        else:
            self._kill_and_wait()
            why = stderr.read().decode("utf-8", "replace")[-3000:] or "no output"
        stderr.close()
        raise IsolationUnavailable(f"the fork server failed to start:\n{why}")

    def _read_reports(self) -> None:
        while True:
            try:
                msg = self._ctl.recv(wire.CTL_MAX_MESSAGE)
            except OSError:
                msg = b""
            if not msg:
                break
            if msg[:1] == wire.CTL_READY and self._proc is None and not self.info.pid:
                self._primed_server_started(msg[1:])
            elif msg[:1] == wire.CTL_EXIT and len(msg) == 1 + wire.EXIT.size:
                pid, status, cpu_us, rss = wire.EXIT.unpack(msg[1:])
                self.board.post(pid, ExitReport(status, cpu_us, rss))
                if self._on_exit is not None:
                    # Best effort (it tops up the ready queue, which callers also do when it is
                    # empty): a failure there must never stop the exit reports runs wait for.
                    with contextlib.suppress(Exception):
                        self._on_exit(self)
        self.dead.set()
        self.board.close()
        # Reap the fork server itself as soon as it is gone, so it never lingers as a zombie.
        self._kill_and_wait()

    def _primed_server_started(self, hello: bytes) -> None:
        try:
            pid = int(json.loads(hello)["pid"])
        except (ValueError, KeyError, TypeError):
            return
        self.info = replace(self.info, pid=pid)

    def request_child(
        self, *, wait: bool = True, prime_id: int = 0, warm_up: bool = True
    ) -> socket.socket:
        """Ask for one new child; returns the host's end of its socket (non-blocking).

        The child inherits the program last sent with ``send_prime`` if ``prime_id`` is its id,
        and rehearses a run while it waits (see child.py) if ``warm_up``.
        With ``wait=False`` the request is not sent if the fork server's queue is full (it is
        busy, e.g. blocked reporting exits): BlockingIOError, and the fork server is not marked
        dead. The reader thread asks this way, because the fork server only drains its queue once
        that thread has read its reports. Raises OSError if the fork server is gone.
        """
        host_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._send_control(
                wire.CTL_FORK + wire.FORK.pack(prime_id, warm_up),
                wait=wait,
                fds=(
                    (socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [child_end.fileno()])),
                ),
            )
        except OSError:
            host_end.close()
            raise
        finally:
            child_end.close()
        host_end.setblocking(False)
        return host_end

    def send_prime(self, prime_id: int, program: bytes, *, wait: bool = True) -> None:
        """Send the fork server a program part (at most wire.MAX_PRIME_BYTES) to prepare once and
        hand to the children requested with ``prime_id``; ``(0, b"")`` makes it forget it.
        ``prime_id`` records what it holds. Raises like ``request_child``."""
        # Until a send succeeds, children are asked for without a program (id 0).
        self.prime_id = 0
        self._send_control(wire.CTL_PRIME + wire.PRIME_ID.pack(prime_id) + program, wait=wait)
        self.prime_id = prime_id

    def _send_control(
        self, message: bytes, *, wait: bool, fds: tuple[tuple[int, int, array.array[int]], ...] = ()
    ) -> None:
        try:
            # sendmsg, not socket.send_fds: Python 3.11's send_fds ignores its flags argument.
            self._ctl.sendmsg([message], fds, 0 if wait else socket.MSG_DONTWAIT)
        except BlockingIOError:
            raise
        except OSError as error:
            # A message this socket cannot take (a prime larger than a small net.core.wmem_max
            # allows) says nothing about the fork server; anything else means it is gone.
            if error.errno not in _MESSAGE_REFUSED:
                self.dead.set()
            raise

    def _kill_and_wait(self) -> None:
        if self._proc is None:
            # A primed fork server: closing its control socket (close) makes it exit, and the
            # fork server reaps it (and kills it if it ever stops itself).
            return
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(SHUTDOWN_TIMEOUT_S)

    def close(self) -> None:
        """Stop the fork server (it SIGKILLs and reaps every child it has), reap it, join the
        reader."""
        with contextlib.suppress(OSError):
            self._ctl.send(wire.CTL_QUIT)
        if self._proc is None:
            # A primed fork server closes its end as it exits: the reader then sees EOF.
            if self._reader is not threading.current_thread():
                self._reader.join(SHUTDOWN_TIMEOUT_S)
        else:
            try:
                self._proc.wait(SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill_and_wait()
        # The fork server's end is closed now, so the reader sees EOF; shutdown also covers a fork
        # server that somehow left a duplicate of its end open.
        with contextlib.suppress(OSError):
            self._ctl.shutdown(socket.SHUT_RDWR)
        if self._reader is not threading.current_thread():
            self._reader.join(SHUTDOWN_TIMEOUT_S)
        self._ctl.close()
        self.dead.set()
        self.board.close()
