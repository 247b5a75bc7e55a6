"""ProcessRunner: fresh, single-use, locked-down child processes served by a fork server.

A run takes a pre-forked child's socket from the ready queue, sends it the request and waits for
the reply with the wall-clock deadline; on the deadline it SIGKILLs the child. The caller's thread
talks to its child directly: one wake-up each way, no broker process or thread in between. The
replacement child is asked for after the run, by the thread that hears the fork server reap the used
one (or by the caller itself if it took the last waiting child).

Tenants apart: every run belongs to a trust domain (``domain``, the tenant it is for), and no
child ever holds anything of a domain other than its run's. A child holds what its fork server
held when it forked (freed memory included) plus what it was sent ahead of its request. So the
fork server the runner starts stays clean (it is never sent a program); a program sent ahead is sent
to a primed fork server of its domain (one per recently primed domain, forked from the clean
fork_server, at most MAX_PRIMED_SERVERS) or to clean waiting children, and each waiting child is
tagged with the domain it then belongs to. A run takes a clean child or one of its own domain,
never another's.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import enum
import os
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar

from restricted_exec.isolation import channel, cpus, layers, rlimits, wire
from restricted_exec.isolation.child_limits import ChildLimits
from restricted_exec.isolation.conversation import (
    Ending,
    exchange,
    kill_child,
    open_pidfd,
    signal_child,
    unreaped,
)
from restricted_exec.isolation.errors import IsolationUnavailable, QueueFull, RunnerClosed
from restricted_exec.isolation.fork_server_client import ForkServer
from restricted_exec.isolation.outcome import ChildOutcome
from restricted_exec.isolation.session_child import SessionChild
from restricted_exec.isolation.streamed_output import StreamedOutput

# How long a checked-out child may take to say hello (fork + warm-up; generous for loaded CI).
CHILD_START_TIMEOUT_S = 30.0
# Attempts to get a working child before the run reports crashed (a child may die in warm-up).
CHILD_START_ATTEMPTS = 3
# How long the fork server's reader thread may wait for the runner's lock to top up the ready queue
# before it gives the job to the next run (it must get back to reading the fork server's reports).
REPLENISH_LOCK_WAIT_S = 0.002
# A run spins for its reply only if the runner was idle this long before it (_arrive).
SPIN_AFTER_IDLE_S = 0.001
# A child rehearses a run while it waits (forked_child.py: CPU spent to take time off its run's
# latency) only while runs arrive on average at least this many times as far apart as a
# rehearsing child takes CPU to start (fork to hello, rehearsal included, as each one reports in
# its hello): then at most half of one CPU goes to starting children. Closer together, the CPU
# is what limits throughput and the next request would arrive during the rehearsal. Measured,
# not fixed, because what a child's start costs (its copy-on-write faults above all) differs
# two-fold from one host to the next.
WARM_UP_GAP_PER_START_CPU = 2.0
# What a rehearsing child's start is taken to cost until one has reported (as on a 2-core Xeon
# VM: ~0.9 ms), and the weight of each report in the average.
ASSUMED_START_CPU_S = 0.001
START_CPU_WEIGHT = 0.2
# Weight of the latest gap in the arrivals' average (an exponentially weighted moving average),
# and the longest a gap counts for: longer gaps all mean "idle", and a burst after an hour of
# quiet must be recognised within a few runs. The threshold never passes half the cap.
ARRIVAL_GAP_WEIGHT = 0.25
ARRIVAL_GAP_CAP_S = 0.02
# Runs of other programs after which the primed program is dropped (children are no longer
# sent it): a few, so a program interleaved with one-off runs stays primed.
PRIME_UNUSED_RUNS = 8
# How long close() lets in-flight runs finish (their children are being killed) before returning.
CLOSE_DRAIN_TIMEOUT_S = 5.0
# Primed fork servers kept at once (one per trust domain, the most recently primed): tenants that
# take turns each keep theirs, and a spawn (a fork of the fork server) is paid once per domain.
MAX_PRIMED_SERVERS = 2

# A trust domain: the tenant a run is for. None (a run with no tenant) is a domain of its own,
# distinct from every named one.
Domain = str | None


class _Clean(enum.Enum):
    """The tag of a child that holds nothing of any domain (see _Slot.domain)."""

    CLEAN = 0


CLEAN = _Clean.CLEAN


@dataclass(slots=True)
class _Slot:
    sock: socket.socket
    generation: int
    # The fork server that forked this child, and that reports its exit.
    fork_server: ForkServer
    # The domain whose program this child holds or whose primed fork server forked it; CLEAN
    # for a child of the clean fork server that was never sent a program, which may serve any run.
    domain: Domain | _Clean
    # The program part this child was sent ahead of its request (see wire.HostFrame.PRIME).
    primed: bytes | None = None
    # Whether it was asked to rehearse a run while it waits.
    warm_up: bool = False

    def serves(self, domain: Domain | _Clean) -> bool:
        return self.domain is CLEAN or self.domain == domain


@dataclass(frozen=True, slots=True)
class _Prime:
    program: bytes
    frame: bytes  # the prime frame sent to waiting children (wire.encode_prime)
    domain: Domain
    id: int  # a u32 on the wire, never 0: what a primed fork server is told it holds


class ProcessRunner:
    """Runs opaque requests in fresh, single-use, locked-down child processes. Thread-safe."""

    # The module the fork server loads as its children's entry: None is the production entry,
    # restricted_exec.child.executor. Only the isolation tests name another (a module under
    # tests/ that runs plain Python, to prove each OS layer without the language layer).
    _entry: ClassVar[str | None] = None
    # Whether the fork server may watch child exits through pidfds. Only a test turns it off, to
    # exercise the SIGCHLD path other platforms take.
    _pidfds: ClassVar[bool] = True
    # Whether the fork server enters an empty root (emptyroot.py) where it can. Only tests turn it
    # off, to prove another layer against the host's real files.
    _empty_root: ClassVar[bool] = True

    def __init__(
        self,
        *,
        max_concurrency: int | None = None,
        prefork: int = 2,
        queue_limit: int = 256,
        allow_degraded: bool = False,
    ) -> None:
        if max_concurrency is None:
            max_concurrency = os.cpu_count() or 1
        if max_concurrency < 1 or prefork < 0 or queue_limit < 0:
            raise ValueError("max_concurrency must be >= 1, prefork and queue_limit >= 0")
        self._max_concurrency = max_concurrency
        self._prefork = prefork
        self._queue_limit = queue_limit
        self._allow_degraded = allow_degraded
        self._admission = threading.Condition()
        self._active = 0
        self._last_finished = 0.0  # time.monotonic() when the last run left
        # When the last run arrived, and the average gap between arrivals (WARM_UP_...).
        self._last_arrival = time.monotonic()
        self._arrival_gap_s = ARRIVAL_GAP_CAP_S
        # The CPU a rehearsing child takes to start, averaged over their hellos.
        self._start_cpu_s = ASSUMED_START_CPU_S
        # The reader thread gave up a top-up (see _replenish_after_exit): the next run does it.
        self._top_up_missed = False
        self._waiting = 0
        self._closed = False
        self._lock = threading.Lock()  # guards the fork server and the ready queue
        self._ready: collections.deque[_Slot] = collections.deque()
        self._generation = 0
        self._fork_server: ForkServer | None = None
        # Priming: the children forked next are sent the program part most recently run with
        # expect_again (or run twice in a row) ahead of their request, and decode it while they
        # wait. The frame is prepared once.
        self._last_program: tuple[bytes, Domain] | None = None
        self._prime: _Prime | None = None
        # Numbers each new prime, so that a primed fork server can be sent it once and fork
        # children that inherit it, prepared (see _fork_source_locked).
        self._prime_id = 0
        self._runs_since_prime_used = 0
        # Primed fork servers by domain, least recently primed first, and how many children
        # each has serving a run now (a server with some is never retired: they die with it).
        self._primed_servers: collections.OrderedDict[Domain, ForkServer] = (
            collections.OrderedDict()
        )
        # Primed fork servers not given to any domain yet (they hold nothing): spawned with the
        # clean fork server and again whenever one is retired, so that a domain's first prime
        # does not wait for one and the runner holds as many of them (and their sockets) all its
        # life.
        self._blank_servers: list[ForkServer] = []
        # By id(slot): taken under the lock, released without it (a dict's item assignment and
        # pop are atomic), so that a run's end takes no lock for it.
        self._in_flight: dict[int, ForkServer] = {}
        self._sessions: weakref.WeakSet[SessionChild] = weakref.WeakSet()
        # A private directory for the fork server's empty working directory; removed at close.
        self._tmpdir = tempfile.mkdtemp(prefix="restricted-exec-")
        self._workdir = os.path.join(self._tmpdir, "cwd")
        os.mkdir(self._workdir)
        # Read-only and empty: nothing to read, nowhere to write (root ignores the mode bits,
        # which is why the child also drops root and Landlock/seccomp deny writes).
        os.chmod(self._workdir, 0o555)
        try:
            with self._lock:
                fork_server = self._ensure_fork_server_locked()
                missing = sorted(layers.REQUIRED - set(fork_server.info.layers))
                if missing and not allow_degraded:
                    reasons = "; ".join(
                        f"{name}: {fork_server.info.missing.get(name, 'unavailable')}"
                        for name in missing
                    )
                    raise IsolationUnavailable(
                        "required OS isolation layers are unavailable "
                        f"({reasons}); refusing to run untrusted code. Pass "
                        "allow_degraded=True to run with only the layers listed by "
                        "layers_available()."
                    )
                self._replenish_locked(fork_server)
        except BaseException:
            self.close()
            raise
        _live_runners.add(self)

    # ----- public API ---------------------------------------------------------------------

    def layers_available(self) -> tuple[str, ...]:
        """The OS layers each child gets on this machine (the fork server probed its kernel)."""
        with self._lock:
            fork_server = self._fork_server
            return fork_server.info.layers if fork_server is not None else ()

    def require_layers(self, limits: ChildLimits) -> tuple[str, ...]:
        """The layers a child gets here (layers_available); raise IsolationUnavailable if
        ``limits`` do not allow degraded mode and one that is required is missing: before any
        child is taken for the run."""
        expected = self.layers_available()
        if not limits.allow_degraded and not set(expected) >= layers.REQUIRED:
            raise IsolationUnavailable(
                "required OS isolation layers are unavailable and these limits do not allow "
                f"degraded mode (active: {', '.join(expected) or 'none'})"
            )
        return expected

    @property
    def generation(self) -> int:
        """Counts fork servers started; children of one share its hash seed."""
        return self._generation

    def run(
        self,
        request: bytes,
        limits: ChildLimits,
        *,
        inputs: bytes = b"",
        expect_again: bool = False,
        domain: Domain = None,
        on_output: Callable[[str], None] | None = None,
        host_calls: channel.HostCalls | None = None,
    ) -> ChildOutcome:
        """Run one request in a fresh child and report how it ended.

        ``request`` is the entry's program part and ``inputs`` its inputs part (both opaque
        here). A program part run with ``expect_again`` (or twice in a row) is sent to the next
        pre-forked children ahead of time (at most 64 KiB), so that a child given that program
        again only receives the inputs. The latest such program replaces the previous one.
        ``domain`` is the run's trust domain (its tenant; None is a domain of its own): the
        child that runs it holds nothing of any other domain's runs, primed programs included.
        ``on_output`` is handed each chunk of output as it arrives (in the caller's thread);
        the outcome's ``streamed`` holds them all, however the child ended. ``host_calls``
        answers the program's calls of host functions (in the caller's thread).

        Blocks. Never raises for anything the child does. Raises RunnerClosed, QueueFull, or
        IsolationUnavailable (layers missing and ``limits.allow_degraded`` is False, or the fork
        server cannot be restarted), OutputCallbackFailed if ``on_output`` raised, and what
        ``host_calls`` raises to stop the run (the child is killed first).
        """
        spin = self._arrive()
        self._enter()
        try:
            return self._run_admitted(
                bytes(request),
                bytes(inputs),
                limits,
                expect_again,
                spin,
                domain,
                StreamedOutput(limits.output_bytes, on_output),
                host_calls,
            )
        finally:
            self._leave()

    def open_session(
        self,
        domain: Domain = None,
        *,
        cpu_budget_s: float,
        reuse: bool = False,
        clean_only: bool = False,
    ) -> SessionChild:
        """A child of its own for one session (of trust domain ``domain``): it serves that
        session's runs one after another, keeping the program's globals, and nothing else; it
        never goes back to the waiting children. ``cpu_budget_s``: the CPU its whole life may
        take. ``reuse``: a warm child instead, whose runs each have globals of their own (see
        isolation.warm_children). ``clean_only``: never a child primed with a program of
        ``domain``. Raises RunnerClosed; a child that cannot be started gives a SessionChild
        whose runs report it."""
        with self._admission:
            if self._closed:
                raise RunnerClosed("the runner is closed")
        checked_out = self._checkout(b"", CLEAN if clean_only else domain)
        session = SessionChild(self, checked_out, cpu_budget_s, reuse=reuse)
        if checked_out is not None:
            self._release_slot(checked_out[0])  # between runs it takes no run slot
            self._replenish_after_run()
        self._sessions.add(session)
        return session

    def close(self) -> None:
        """Kill the fork server and every child, reap them, remove the private directory.
        Idempotent."""
        with self._admission:
            already = self._closed
            self._closed = True
            self._admission.notify_all()
        with self._lock:
            fork_server, self._fork_server = self._fork_server, None
            ready = list(self._ready)
            self._ready.clear()
            servers = self._fork_servers()
            self._primed_servers.clear()
            self._blank_servers.clear()
        for slot in ready:
            # The child sees EOF and exits; the fork server's quit kills it anyway.
            slot.sock.close()
        for session in list(self._sessions):
            session.close()
        for server in servers:
            server.close()
        if fork_server is not None:
            fork_server.close()
        if not already:
            # In-flight runs see their children die; let them finish so no fd outlives close().
            with self._admission:
                deadline = time.monotonic() + CLOSE_DRAIN_TIMEOUT_S
                while self._active and time.monotonic() < deadline:
                    self._admission.wait(0.05)
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            _live_runners.discard(self)

    def __enter__(self) -> ProcessRunner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----- admission ------------------------------------------------------------------------

    def _enter(self) -> None:
        with self._admission:
            if self._closed:
                raise RunnerClosed("the runner is closed")
            if self._active < self._max_concurrency:
                self._active += 1
                return
            if self._waiting >= self._queue_limit:
                raise QueueFull(
                    f"all {self._max_concurrency} child slots are busy and "
                    f"{self._waiting} runs are already queued"
                )
            self._waiting += 1
            try:
                while self._active >= self._max_concurrency and not self._closed:
                    self._admission.wait()
                if self._closed:
                    raise RunnerClosed("the runner was closed while this run was queued")
                self._active += 1
            finally:
                self._waiting -= 1

    def _leave(self) -> None:
        with self._admission:
            self._active -= 1
            self._last_finished = time.monotonic()
            self._admission.notify_all()

    def _arrive(self) -> bool:
        """Note a run's arrival (for _children_may_warm_up); return whether it may spin for its
        reply (channel.SPIN_S): only when no run is in flight and none finished in the last
        SPIN_AFTER_IDLE_S. Under load (concurrent or back-to-back runs) the CPU a spin takes
        belongs to the children being forked and run, and the wake-up it saves is cheap
        anyway, as no CPU went idle."""
        with self._admission:
            now = time.monotonic()
            gap = min(now - self._last_arrival, ARRIVAL_GAP_CAP_S)
            self._last_arrival = now
            self._arrival_gap_s += ARRIVAL_GAP_WEIGHT * (gap - self._arrival_gap_s)
            idle_for = now - self._last_finished
            return self._active == 0 and idle_for > SPIN_AFTER_IDLE_S

    def idle(self) -> bool:
        """Whether no run is in flight (advisory: a read of one int, without the lock)."""
        return self._active == 0

    def _running_alone(self) -> bool:
        """Whether the one run in flight is the caller's (a session's run may then spin for its
        reply: no other run's child wants the CPU)."""
        return self._active == 1  # advisory: a read of one int, without the lock

    # ----- fork servers and ready queue ---------------------------------------------------------

    def _ensure_fork_server_locked(self) -> ForkServer:
        fork_server = self._fork_server
        if fork_server is not None and not fork_server.dead.is_set():
            return fork_server
        if self._closed:
            raise RunnerClosed("the runner is closed")
        if fork_server is not None:
            # A dead fork server is replaced transparently; its children and primed fork servers
            # died with it (PDEATHSIG).
            fork_server.close()
            for server in self._fork_servers():
                server.close()
            self._primed_servers.clear()
            self._blank_servers.clear()
            for slot in self._ready:
                slot.sock.close()
            self._ready.clear()
        self._generation += 1
        self._fork_server = ForkServer(
            entry=self._entry,
            pidfds=self._pidfds,
            empty_root=self._empty_root,
            workdir=self._workdir,
            generation=self._generation,
            on_exit=self._exit_callback(),
        )
        for _ in range(MAX_PRIMED_SERVERS):
            self._spawn_blank_locked(self._fork_server, wait=True)
        return self._fork_server

    def _fork_servers(self) -> list[ForkServer]:
        """Every primed fork server, given to a domain or blank."""
        return [*self._primed_servers.values(), *self._blank_servers]

    def _spawn_blank_locked(self, fork_server: ForkServer, *, wait: bool) -> None:
        if len(self._primed_servers) + len(self._blank_servers) >= MAX_PRIMED_SERVERS:
            return
        # Without one, a domain's first prime spawns its server (or primes clean children).
        with contextlib.suppress(OSError):
            self._blank_servers.append(
                fork_server.spawn_primed(on_exit=self._exit_callback(), wait=wait)
            )

    def _exit_callback(self) -> Callable[[ForkServer], None]:
        # A fork server's reader thread calls back through a weak reference, so that a fork
        # server never keeps its runner alive.
        runner = weakref.ref(self)

        def replace_exited_child(reporting: ForkServer) -> None:
            alive = runner()
            if alive is not None:
                alive._replenish_after_exit(reporting)

        return replace_exited_child

    def warm_up_gap_s(self) -> float:
        """How far apart runs must arrive, on average, for waiting children to rehearse
        (WARM_UP_GAP_PER_START_CPU)."""
        return min(WARM_UP_GAP_PER_START_CPU * self._start_cpu_s, ARRIVAL_GAP_CAP_S / 2)

    def _children_may_warm_up(self) -> bool:
        """Whether runs arrive far enough apart for a waiting child's rehearsal to pay off.
        Read without the admission lock: a stale value only decides one child's warm-up."""
        return self._arrival_gap_s >= self.warm_up_gap_s()

    def _note_start(self, slot: _Slot, hello: wire.Hello) -> None:
        """Count a rehearsing child's start in the average (see WARM_UP_GAP_PER_START_CPU).
        Its hello's word, but a fresh child has run nothing untrusted yet; capped all the same.
        Unlocked: a lost update only delays the average by one child."""
        if slot.warm_up:
            cpu_s = min(hello.baseline_cpu_us / 1e6, ARRIVAL_GAP_CAP_S)
            self._start_cpu_s += START_CPU_WEIGHT * (cpu_s - self._start_cpu_s)

    def _wanted_domain_locked(self) -> Domain | _Clean:
        """The domain the waiting children are kept for: the current prime's (CLEAN if none)."""
        return self._prime.domain if self._prime is not None else CLEAN

    def _replenish_locked(self, fork_server: ForkServer, *, wait: bool = True) -> None:
        wanted = self._wanted_domain_locked()
        while (
            sum(1 for slot in self._ready if slot.serves(wanted)) < self._prefork
            and not fork_server.dead.is_set()
        ):
            source, prime_id = self._fork_source_locked(fork_server, wait=wait)
            prime = self._prime
            warm_up = self._children_may_warm_up()
            try:
                slot = _Slot(
                    source.request_child(wait=wait, prime_id=prime_id, warm_up=warm_up),
                    fork_server.generation,
                    source,
                    CLEAN if source is fork_server or prime is None else prime.domain,
                    warm_up=warm_up,
                )
            except OSError:
                return
            if prime_id:
                assert prime is not None
                slot.primed = prime.program  # it inherits the program from its fork server
            elif prime is not None and not self._send_prime_locked(slot):
                return
            self._ready.append(slot)
        # Children kept for other domains' next runs: no more than the prefork again.
        while len(self._ready) > 2 * self._prefork:
            extra = next(slot for slot in self._ready if not slot.serves(wanted))
            self._ready.remove(extra)
            extra.sock.close()

    def _fork_source_locked(self, fork_server: ForkServer, *, wait: bool) -> tuple[ForkServer, int]:
        """Where the next waiting child is forked: the primed fork server of the current prime's
        domain and the prime's id if it holds the prime (sending it first if need be), else the
        clean fork server and 0 (the host then sends the child the prime itself, if there is one).

        A child forked with the id starts with the program prepared in its fork server
        (decoded, its globals built, once for all its children), so that it neither receives
        the program nor prepares it (see runtime.prepare_to_share)."""
        prime = self._prime
        if prime is None:
            return fork_server, 0
        server = self._primed_server_locked(fork_server, prime.domain, wait=wait)
        if server is None:
            return fork_server, 0
        if server.prime_id != prime.id:
            try:
                server.send_prime(prime.id, prime.program, wait=wait)
            except OSError:
                return fork_server, 0
        return server, prime.id

    def _primed_server_locked(
        self, fork_server: ForkServer, domain: Domain, *, wait: bool
    ) -> ForkServer | None:
        """The primed fork server of ``domain``, spawned from the clean fork server if need be. None
        if there is none and none can be had: too many busy ones, or the spawn failed."""
        servers = self._primed_servers
        server = servers.get(domain)
        if server is not None and not server.dead.is_set():
            servers.move_to_end(domain)
            return server
        if server is not None:
            self._retire_locked(domain)
        if len(servers) >= MAX_PRIMED_SERVERS:
            busy = self._busy_servers()
            idle = [name for name, held in servers.items() if held not in busy]
            if not idle:
                return None
            self._retire_locked(idle[0])
        while self._blank_servers:
            server = self._blank_servers.pop(0)
            if not server.dead.is_set():
                break
            server.close()
        else:
            try:
                server = fork_server.spawn_primed(on_exit=self._exit_callback(), wait=wait)
            except OSError:
                return None
        servers[domain] = server
        return server

    def _retire_locked(self, domain: Domain) -> None:
        """Stop the primed fork server of ``domain`` (none of its children is running) and drop
        its waiting children, which die with it."""
        server = self._primed_servers.pop(domain)
        for slot in [slot for slot in self._ready if slot.fork_server is server]:
            self._ready.remove(slot)
            slot.sock.close()
        server.close()
        fork_server = self._fork_server
        if fork_server is not None and not fork_server.dead.is_set():
            self._spawn_blank_locked(fork_server, wait=False)

    def _send_prime_locked(self, slot: _Slot) -> bool:
        """Send the current prime to a waiting clean child, which then belongs to the prime's
        domain. False if the child is now unusable (its socket is closed)."""
        assert self._prime is not None and slot.primed is None and slot.domain is CLEAN
        program, frame = self._prime.program, self._prime.frame
        slot.domain = self._prime.domain  # whether or not the whole frame got there
        # Nothing was sent on this socket yet and the frame is smaller than its buffer, so the
        # send completes at once; if it does not, the child would read half a frame: drop it.
        try:
            sent = slot.sock.send(frame)
        except OSError:
            sent = -1
        if sent != len(frame):
            slot.sock.close()
            return False
        slot.primed = program
        return True

    def _note_program(self, program: bytes, expect_again: bool, domain: Domain) -> None:
        """Prime waiting and future children with ``program`` (for ``domain``) if it is expected
        again; stop priming a program that has not run for a while."""
        with self._lock:
            repeated = expect_again or (program, domain) == self._last_program
            self._last_program = (program, domain)
            prime = self._prime
            if prime is not None and prime.program == program and prime.domain == domain:
                self._runs_since_prime_used = 0
                return
            self._runs_since_prime_used += 1
            if self._runs_since_prime_used > PRIME_UNUSED_RUNS and self._prime is not None:
                # Every child would decode a program nobody runs: wasted CPU, no gain. Nothing
                # is primed any more, so primed fork servers with no child running go too.
                self._prime = None
                busy = self._busy_servers()
                for name, server in list(self._primed_servers.items()):
                    if server not in busy:
                        self._retire_locked(name)
            if not repeated or len(program) > wire.MAX_PRIME_BYTES:
                return
            self._runs_since_prime_used = 0
            self._prime_id = self._prime_id % 0xFFFF_FFFF + 1
            self._prime = _Prime(program, wire.encode_prime(program), domain, self._prime_id)
            # Clean children already waiting get it too, so the oldest (warmest) waiting
            # child is the one a run of this program takes.
            for slot in [slot for slot in self._ready if slot.domain is CLEAN]:
                if not self._send_prime_locked(slot):
                    self._ready.remove(slot)

    def _replenish_after_run(self) -> None:
        """The caller's part in topping up: only if the run took the last waiting child (of the
        domain children are kept for), or the reader thread had to give up a top-up."""
        with self._lock:
            fork_server = self._fork_server
            wanted = self._wanted_domain_locked()
            if (
                (self._top_up_missed or not any(slot.serves(wanted) for slot in self._ready))
                and fork_server is not None
                and not self._closed
            ):
                self._top_up_missed = False
                self._replenish_locked(fork_server)

    def _replenish_after_exit(self, fork_server: ForkServer) -> None:
        """Top up the ready queue once the fork server has reaped a child (on the fork server's
        reader thread). A run's replacement is asked for here rather than by the run's caller, which
        keeps a socketpair and a wake-up of the fork server off the run's path.

        Best effort, and it never waits long: this thread is the only reader of the fork server's
        reports, and the fork server stops reading requests while its reports are not read. So if
        a caller holds the lock for more than a moment (it may be sending a request the fork server
        has no room for, or replacing this very fork server, which joins this thread), or the
        fork server's queue is full, it gives up, and the next run tops up
        (_replenish_after_run)."""
        if not self._lock.acquire(timeout=REPLENISH_LOCK_WAIT_S):
            self._top_up_missed = True
            return
        try:
            base = self._fork_server
            ours = fork_server is base or fork_server in self._fork_servers()
            if ours and base is not None and not self._closed and not base.dead.is_set():
                self._replenish_locked(base, wait=False)
                if len(self._ready) < self._prefork:
                    self._top_up_missed = True  # e.g. the fork server had no room for a request
        finally:
            self._lock.release()

    def _take_slot(self, program: bytes, domain: Domain | _Clean) -> _Slot | None:
        """A waiting child that may serve ``domain`` (one primed with ``program`` first), else
        a new clean one; CLEAN: a clean one only. Counted in flight for its fork server until
        _release_slot."""
        with self._lock:
            fork_server = self._ensure_fork_server_locked()
            chosen: _Slot | None = None
            for slot in list(self._ready):
                if slot.generation != fork_server.generation or slot.fork_server.dead.is_set():
                    self._ready.remove(slot)
                    slot.sock.close()
                elif (slot.domain is CLEAN if domain is CLEAN else slot.serves(domain)) and (
                    chosen is None or (chosen.primed != program and slot.primed == program)
                ):
                    chosen = slot
            if chosen is not None:
                self._ready.remove(chosen)
            else:
                try:
                    # (No rehearsal: its run is waiting for it.)
                    chosen = _Slot(
                        fork_server.request_child(warm_up=False),
                        fork_server.generation,
                        fork_server,
                        CLEAN,
                    )
                except OSError:
                    return None
            self._in_flight[id(chosen)] = chosen.fork_server
            return chosen

    def _release_slot(self, slot: _Slot) -> None:
        self._in_flight.pop(id(slot), None)

    def _busy_servers(self) -> list[ForkServer]:
        """The fork servers with a child serving a run now."""
        return list(self._in_flight.values())

    def _checkout(self, program: bytes, domain: Domain | _Clean) -> tuple[_Slot, wire.Hello] | None:
        for _ in range(CHILD_START_ATTEMPTS):
            slot = self._take_slot(program, domain)
            if slot is None:
                continue
            hello = channel.read_hello(slot.sock, time.monotonic() + CHILD_START_TIMEOUT_S)
            if hello is not None:
                self._note_start(slot, hello)
                return slot, hello
            slot.sock.close()
            self._release_slot(slot)
        return None

    # ----- one run ------------------------------------------------------------------------------

    def _run_admitted(
        self,
        request: bytes,
        inputs: bytes,
        limits: ChildLimits,
        expect_again: bool,
        spin: bool,
        domain: Domain,
        output: StreamedOutput,
        host_calls: channel.HostCalls | None,
    ) -> ChildOutcome:
        expected = self.require_layers(limits)
        cpu_limit_ms = limits.cpu_s * 1000.0
        self._note_program(request, expect_again, domain)
        checked_out = self._checkout(request, domain)
        if checked_out is None:
            return ChildOutcome(
                None,
                None,
                None,
                0.0,
                None,
                None,
                False,
                "no child process could be started",
                expected,
                cpu_limit_ms,
            )
        slot, hello = checked_out
        try:
            return self._run_child(
                slot, hello, request, inputs, limits, spin, expected, output, host_calls
            )
        finally:
            self._release_slot(slot)

    def _run_child(
        self,
        slot: _Slot,
        hello: wire.Hello,
        request: bytes,
        inputs: bytes,
        limits: ChildLimits,
        spin: bool,
        expected: tuple[str, ...],
        output: StreamedOutput,
        host_calls: channel.HostCalls | None,
    ) -> ChildOutcome:
        """One run in the child ``slot`` holds: hand it over, exchange request and reply, and
        report how it ended (the reply, or the fork server's report of its death)."""
        fork_server = slot.fork_server
        ending = Ending(
            cpu_limit_ms=limits.cpu_s * 1000.0,
            memory_ceiling_kb=hello.baseline_rss_kb + limits.memory_mb * 1024,
            # If the child dies without replying, the layers it reported in its hello were
            # active. (drop_root happens after the hello, once the request has arrived.)
            layers=layers.with_host_layers(hello.layers_mask, drop_root="drop_root" in expected),
        )
        pidfd = open_pidfd(hello.pid)
        left_behind = False
        try:
            flags = self._hand_over(slot, hello, limits)
            # This thread spins for the reply (not so with host functions, whose conversation
            # another thread holds, nor with streamed output, which waits in poll at once): the
            # child runs off its CPU until it sleeps (isolation/cpus.py).
            own_cpus = (
                cpus.keep_off_caller(hello.pid)
                if spin and host_calls is None and not output.streaming and unreaped(pidfd)
                else None
            )

            def let_back() -> None:
                if own_cpus is not None and unreaped(pidfd):
                    cpus.let_back(hello.pid, own_cpus)

            frame = _request_frame(slot, request, inputs, limits, flags)
            started = time.monotonic()
            request_flush = (
                (lambda: signal_child(pidfd, hello.pid, wire.FLUSH_SIGNAL))
                if output.streaming
                else None
            )
            reply, watchdog, error, left_behind = exchange(
                slot.sock,
                frame,
                started + limits.wall_s,
                limits.max_payload_bytes,
                spin,
                output,
                request_flush,
                host_calls,
                let_back if own_cpus is not None else None,
            )
            if watchdog and not left_behind:
                # What the program printed since the child's last flush is still in the child:
                # ask for it, briefly, before the kill.
                signal_child(pidfd, hello.pid, wire.FLUSH_SIGNAL)
                channel.collect_flushed_output(
                    slot.sock, time.monotonic() + wire.FLUSH_GRACE_S, output
                )
            wall_ms = (time.monotonic() - started) * 1000.0
        finally:
            # Replied or not (or the caller's output callback raised), the child has nothing
            # left to do: make sure it ends, right now.
            kill_child(pidfd, hello.pid)
            if not left_behind:
                slot.sock.close()
            if pidfd is not None:
                os.close(pidfd)
            # The child's replacement is normally asked for once the fork server has reaped it
            # (see _replenish_after_exit). Only if no child is left waiting (or that thread had
            # to give up) does the caller ask now, so back-to-back runs never outpace them.
            self._replenish_after_run()
        if reply is not None:
            fork_server.board.ignore(hello.pid)
            return ending.replied(reply, wall_ms, output.text())
        return ending.died(fork_server, hello, wall_ms, watchdog, error, output.text())

    def _hand_over(self, slot: _Slot, hello: wire.Hello, limits: ChildLimits) -> int:
        """Make the waiting child ready for its request; return the request's flags."""
        flags = wire.FLAG_ALLOW_DEGRADED if limits.allow_degraded else 0
        # Set the per-request limits on the waiting child from here, which lets its seccomp
        # filter forbid every limit change from inside. The child is blocked in recv waiting
        # for this request, so the pid is still the child's.
        request_limits = rlimits.request_limits(
            cpu_s=limits.cpu_s,
            memory_mb=limits.memory_mb,
            baseline_vm_bytes=hello.baseline_vm_kb * 1024,
            baseline_cpu_s=hello.baseline_cpu_us / 1e6,
        )
        if rlimits.set_on_child(hello.pid, request_limits):
            flags |= wire.FLAG_LIMITS_SET_BY_HOST
        if slot.fork_server.info.renice_waiting:
            # The child waited at the lowest priority; it serves at normal priority.
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, hello.pid, 0)
        return flags


def _request_frame(
    slot: _Slot, request: bytes, inputs: bytes, limits: ChildLimits, flags: int
) -> bytes:
    """The REQUEST frame for this child: only the inputs if it holds the program already."""
    if slot.primed is not None and slot.primed == request:
        # The child already holds (and has decoded) this program: send only the inputs.
        flags |= wire.FLAG_PRIMED
        body, program_length = inputs, 0
    else:
        body, program_length = request + inputs, len(request)
    header = wire.RequestHeader(flags, limits.cpu_s, limits.memory_mb, len(body), program_length)
    return wire.encode_request(header) + body


_live_runners: weakref.WeakSet[ProcessRunner] = weakref.WeakSet()


@atexit.register
def _close_live_runners() -> None:
    """At interpreter exit, stop every runner still open, so no fork server or child outlives us."""
    for runner in list(_live_runners):
        with contextlib.suppress(Exception):
            runner.close()
