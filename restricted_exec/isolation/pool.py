"""ProcessRunner: fresh, single-use, locked-down child processes served by a zygote.

A run takes a pre-forked child's socket from the ready queue, sends it the request and waits for
the reply with the wall-clock deadline; on the deadline it SIGKILLs the child. The caller's thread
talks to its child directly: one wake-up each way, no broker process or thread in between. The
replacement child is asked for after the run, by the thread that hears the zygote reap the used
one (or by the caller itself if it took the last waiting child).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar

from restricted_exec.isolation import channel, exitcodes, frames, layers, rlimits
from restricted_exec.isolation.errors import IsolationUnavailable, QueueFull, RunnerClosed
from restricted_exec.isolation.limits import ChildLimits
from restricted_exec.isolation.outcome import ChildOutcome
from restricted_exec.isolation.zygote_client import Zygote

# How long a checked-out child may take to say hello (fork + warm-up; generous for loaded CI).
CHILD_START_TIMEOUT_S = 30.0
# Attempts to get a working child before the run reports crashed (a child may die in warm-up).
CHILD_START_ATTEMPTS = 3
# How long to wait for the zygote's wait4 report of a child that died without replying. The
# child is SIGKILLed first, so this is only ever reached if the zygote itself is wedged.
EXIT_REPORT_TIMEOUT_S = 5.0
# How long the zygote's reader thread may wait for the runner's lock to top up the ready queue
# before it gives the job to the next run (it must get back to reading the zygote's reports).
REPLENISH_LOCK_WAIT_S = 0.002
# A run spins for its reply only if the runner was idle this long before it (_arrive).
SPIN_AFTER_IDLE_S = 0.001
# A child rehearses a run while it waits (child.py: ~0.3-0.7 ms of CPU that takes ~200 us off
# its run's latency) only while runs arrive on average at least this far apart. Closer together,
# the CPU is what limits throughput and the next request would arrive during the rehearsal.
WARM_UP_MIN_ARRIVAL_GAP_S = 0.002
# Weight of the latest gap in that average (an exponentially weighted moving average), and the
# longest a gap counts for: longer gaps all mean "idle", and a burst after an hour of quiet must
# be recognised within a few runs (from the cap to below the threshold in 8).
ARRIVAL_GAP_WEIGHT = 0.25
ARRIVAL_GAP_CAP_S = 10 * WARM_UP_MIN_ARRIVAL_GAP_S
# Runs of other programs after which the primed program is dropped (children are no longer
# sent it): a few, so a program interleaved with one-off runs stays primed.
PRIME_UNUSED_RUNS = 8
# How long close() lets in-flight runs finish (their children are being killed) before returning.
CLOSE_DRAIN_TIMEOUT_S = 5.0


@dataclass(slots=True)
class _Slot:
    sock: socket.socket
    generation: int
    # The program part this child was sent ahead of its request (see frames.PRIME_MAGIC).
    primed: bytes | None = None


class ProcessRunner:
    """Runs opaque requests in fresh, single-use, locked-down child processes. Thread-safe."""

    # Which child entry point the zygote loads. Only the private test helper overrides it.
    _entry: ClassVar[str] = "production"
    # Whether the zygote may watch child exits through pidfds. Only a test turns it off, to
    # exercise the SIGCHLD path other platforms take.
    _pidfds: ClassVar[bool] = True

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
        # The reader thread gave up a top-up (see _replenish_after_exit): the next run does it.
        self._top_up_missed = False
        self._waiting = 0
        self._closed = False
        self._lock = threading.Lock()  # guards the zygote and the ready queue
        self._ready: collections.deque[_Slot] = collections.deque()
        self._generation = 0
        self._zygote: Zygote | None = None
        # Priming: the children forked next are sent the program part most recently run with
        # expect_again (or run twice in a row) ahead of their request, and decode it while they
        # wait. The frame is prepared once.
        self._last_program: bytes | None = None
        self._prime: tuple[bytes, bytes] | None = None  # (program part, its prime frame)
        # Numbers each new prime, so that the zygote can be sent it once and fork children that
        # inherit it, prepared (see _prime_in_zygote_locked).
        self._prime_id = 0
        self._runs_since_prime_used = 0
        # A private directory for the zygote's empty working directory; removed at close.
        self._tmpdir = tempfile.mkdtemp(prefix="restricted-exec-")
        self._workdir = os.path.join(self._tmpdir, "cwd")
        os.mkdir(self._workdir)
        # Read-only and empty: nothing to read, nowhere to write (root ignores the mode bits,
        # which is why the child also drops root and Landlock/seccomp deny writes).
        os.chmod(self._workdir, 0o555)
        try:
            with self._lock:
                zygote = self._ensure_zygote_locked()
                missing = sorted(layers.REQUIRED - set(zygote.info.layers))
                if missing and not allow_degraded:
                    reasons = "; ".join(
                        f"{name}: {zygote.info.missing.get(name, 'unavailable')}"
                        for name in missing
                    )
                    raise IsolationUnavailable(
                        "required OS isolation layers are unavailable "
                        f"({reasons}); refusing to run untrusted code. Pass "
                        "allow_degraded=True to run with only the layers listed by "
                        "layers_available()."
                    )
                self._replenish_locked(zygote)
        except BaseException:
            self.close()
            raise
        _live_runners.add(self)

    # ----- public API ---------------------------------------------------------------------

    def layers_available(self) -> tuple[str, ...]:
        """The OS layers each child gets on this machine (the zygote probed its kernel)."""
        with self._lock:
            zygote = self._zygote
            return zygote.info.layers if zygote is not None else ()

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
    ) -> ChildOutcome:
        """Run one request in a fresh child and report how it ended.

        ``request`` is the entry's program part and ``inputs`` its inputs part (both opaque
        here). A program part run with ``expect_again`` (or twice in a row) is sent to the next
        pre-forked children ahead of time (at most 64 KiB), so that a child given that program
        again only receives the inputs. The latest such program replaces the previous one.

        Blocks. Never raises for anything the child does. Raises RunnerClosed, QueueFull, or
        IsolationUnavailable (layers missing and ``limits.allow_degraded`` is False, or the zygote
        cannot be restarted).
        """
        spin = self._arrive()
        self._enter()
        try:
            return self._run_admitted(bytes(request), bytes(inputs), limits, expect_again, spin)
        finally:
            self._leave()

    def close(self) -> None:
        """Kill the zygote and every child, reap them, remove the private directory. Idempotent."""
        with self._admission:
            already = self._closed
            self._closed = True
            self._admission.notify_all()
        with self._lock:
            zygote, self._zygote = self._zygote, None
            ready = list(self._ready)
            self._ready.clear()
        for slot in ready:
            slot.sock.close()  # the child sees EOF and exits; the zygote's quit kills it anyway
        if zygote is not None:
            zygote.close()
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

    # ----- zygote and ready queue -------------------------------------------------------------

    def _ensure_zygote_locked(self) -> Zygote:
        zygote = self._zygote
        if zygote is not None and not zygote.dead.is_set():
            return zygote
        if self._closed:
            raise RunnerClosed("the runner is closed")
        if zygote is not None:
            # A dead zygote is replaced transparently; its children died with it (PDEATHSIG).
            zygote.close()
            for slot in self._ready:
                slot.sock.close()
            self._ready.clear()
        self._generation += 1
        # The zygote's reader thread calls back through a weak reference, so that a zygote
        # never keeps its runner alive.
        runner = weakref.ref(self)

        def replace_exited_child(reporting: Zygote) -> None:
            alive = runner()
            if alive is not None:
                alive._replenish_after_exit(reporting)

        self._zygote = Zygote(
            entry=self._entry,
            pidfds=self._pidfds,
            workdir=self._workdir,
            generation=self._generation,
            on_exit=replace_exited_child,
        )
        return self._zygote

    def _children_may_warm_up(self) -> bool:
        """Whether runs arrive far enough apart for a waiting child's rehearsal to pay off
        (WARM_UP_MIN_ARRIVAL_GAP_S). Read without the admission lock: a stale value only
        decides one child's warm-up."""
        return self._arrival_gap_s >= WARM_UP_MIN_ARRIVAL_GAP_S

    def _replenish_locked(self, zygote: Zygote, *, wait: bool = True) -> None:
        while len(self._ready) < self._prefork and not zygote.dead.is_set():
            prime_id = self._prime_in_zygote_locked(zygote, wait=wait)
            try:
                slot = _Slot(
                    zygote.request_child(
                        wait=wait, prime_id=prime_id, warm_up=self._children_may_warm_up()
                    ),
                    zygote.generation,
                )
            except OSError:
                return
            if prime_id:
                assert self._prime is not None
                slot.primed = self._prime[0]  # it inherits the program from the zygote
            elif self._prime is not None and not self._send_prime_locked(slot):
                return
            self._ready.append(slot)

    def _prime_in_zygote_locked(self, zygote: Zygote, *, wait: bool) -> int:
        """The id of the current prime if the zygote holds it, sending it first if need be;
        0 if there is none or the zygote could not be sent it.

        A child forked with it starts with the program prepared in the zygote (decoded, its
        globals built, once for all its children), so that it neither receives the program nor
        prepares it (see runtime.prepare_to_share). A zygote holding a prime no longer current
        is told to forget it."""
        wanted = self._prime_id if self._prime is not None else 0
        if zygote.prime_id != wanted:
            program = self._prime[0] if self._prime is not None else b""
            try:
                zygote.send_prime(wanted, program, wait=wait)
            except OSError:
                return 0
        return wanted

    def _send_prime_locked(self, slot: _Slot) -> bool:
        """Send the current prime to a waiting child that has not had one. False if the child
        is now unusable (its socket is closed)."""
        assert self._prime is not None and slot.primed is None
        program, frame = self._prime
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

    def _note_program(self, program: bytes, expect_again: bool) -> None:
        """Prime waiting and future children with ``program`` if it is expected again; stop
        priming a program that has not run for a while."""
        with self._lock:
            repeated = expect_again or program == self._last_program
            self._last_program = program
            if self._prime is not None and self._prime[0] == program:
                self._runs_since_prime_used = 0
                return
            self._runs_since_prime_used += 1
            if self._runs_since_prime_used > PRIME_UNUSED_RUNS:
                # Every child would decode a program nobody runs: wasted CPU, no gain.
                self._prime = None
            if not repeated or len(program) > frames.MAX_PRIME_BYTES:
                return
            self._runs_since_prime_used = 0
            self._prime = (program, frames.encode_prime(program))
            self._prime_id = self._prime_id % 0xFFFF_FFFF + 1  # a u32 on the wire, never 0
            # Children already waiting unprimed get it too, so the oldest (warmest) waiting
            # child is the one a run of this program takes.
            for slot in [slot for slot in self._ready if slot.primed is None]:
                if not self._send_prime_locked(slot):
                    self._ready.remove(slot)

    def _replenish_after_run(self) -> None:
        """The caller's part in topping up: only if the run took the last waiting child, or
        the reader thread had to give up a top-up."""
        with self._lock:
            zygote = self._zygote
            if (not self._ready or self._top_up_missed) and zygote is not None and not self._closed:
                self._top_up_missed = False
                self._replenish_locked(zygote)

    def _replenish_after_exit(self, zygote: Zygote) -> None:
        """Top up the ready queue once the zygote has reaped a child (on the zygote's reader
        thread). A run's replacement is asked for here rather than by the run's caller, which
        keeps a socketpair and a wake-up of the zygote (~30 us) off the run's path.

        Best effort, and it never waits long: this thread is the only reader of the zygote's
        reports, and the zygote stops reading requests while its reports are not read. So if
        a caller holds the lock for more than a moment (it may be sending a request the zygote
        has no room for, or replacing this very zygote, which joins this thread), or the
        zygote's queue is full, it gives up, and the next run tops up (_replenish_after_run)."""
        if not self._lock.acquire(timeout=REPLENISH_LOCK_WAIT_S):
            self._top_up_missed = True
            return
        try:
            if self._zygote is zygote and not self._closed and not zygote.dead.is_set():
                self._replenish_locked(zygote, wait=False)
                if len(self._ready) < self._prefork:
                    self._top_up_missed = True  # e.g. the zygote had no room for a request
        finally:
            self._lock.release()

    def _take_slot(self, program: bytes) -> tuple[_Slot, Zygote] | None:
        with self._lock:
            zygote = self._ensure_zygote_locked()
            for slot in self._ready:
                if slot.primed == program and slot.generation == zygote.generation:
                    self._ready.remove(slot)
                    return slot, zygote
            while self._ready:
                slot = self._ready.popleft()
                if slot.generation == zygote.generation:
                    return slot, zygote
                slot.sock.close()
            try:
                return _Slot(zygote.request_child(), zygote.generation), zygote
            except OSError:
                return None

    def _checkout(self, program: bytes) -> tuple[_Slot, Zygote, frames.Hello] | None:
        for _ in range(CHILD_START_ATTEMPTS):
            taken = self._take_slot(program)
            if taken is None:
                continue
            slot, zygote = taken
            hello = channel.read_hello(slot.sock, time.monotonic() + CHILD_START_TIMEOUT_S)
            if hello is not None:
                return slot, zygote, hello
            slot.sock.close()
        return None

    # ----- one run ------------------------------------------------------------------------------

    def _run_admitted(
        self, request: bytes, inputs: bytes, limits: ChildLimits, expect_again: bool, spin: bool
    ) -> ChildOutcome:
        expected = self.layers_available()
        if not limits.allow_degraded and not set(expected) >= layers.REQUIRED:
            raise IsolationUnavailable(
                "required OS isolation layers are unavailable and these limits do not allow "
                f"degraded mode (active: {', '.join(expected) or 'none'})"
            )
        cpu_limit_ms = limits.cpu_s * 1000.0
        self._note_program(request, expect_again)
        checked_out = self._checkout(request)
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
        slot, zygote, hello = checked_out
        memory_ceiling_kb = hello.baseline_rss_kb + limits.memory_mb * 1024
        # If the child dies without replying, the layers it reported in its hello were active.
        # (drop_root happens after the hello, once the request has arrived.)
        expected = layers.with_host_layers(hello.layers_mask, drop_root="drop_root" in expected)
        pidfd = _open_pidfd(hello.pid)
        sock = slot.sock
        try:
            flags = frames.FLAG_ALLOW_DEGRADED if limits.allow_degraded else 0
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
                flags |= frames.FLAG_LIMITS_SET_BY_HOST
            if zygote.info.renice_waiting:
                # The child waited at the lowest priority; it serves at normal priority.
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, hello.pid, 0)
            if slot.primed is not None and slot.primed == request:
                # The child already holds (and has decoded) this program: send only the inputs.
                flags |= frames.FLAG_PRIMED
                body, program_length = inputs, 0
            else:
                body, program_length = request + inputs, len(request)
            header = frames.RequestHeader(
                flags, limits.cpu_s, limits.memory_mb, len(body), program_length
            )
            started = time.monotonic()
            deadline = started + limits.wall_s
            error: str | None = None
            watchdog = False
            try:
                channel.send_all(sock, frames.encode_request(header) + body, deadline)
                reply = channel.read_reply(sock, deadline, limits.max_payload_bytes, spin=spin)
            except channel.Deadline:
                watchdog = True
            except channel.Closed:
                error = "the child closed its socket before replying"
            except channel.ProtocolError as exc:
                error = str(exc)
            else:
                wall_ms = (time.monotonic() - started) * 1000.0
                # The child has nothing left to do but exit; make sure it does, right now.
                _kill(pidfd, hello.pid)
                zygote.board.ignore(hello.pid)
                return ChildOutcome(
                    payload=reply.payload,
                    exit_code=None,
                    term_signal=None,
                    wall_ms=wall_ms,
                    cpu_ms=reply.header.cpu_us / 1000.0,
                    peak_rss_kb=reply.header.peak_rss_kb,
                    killed_by_watchdog=False,
                    protocol_error=None,
                    layers=layers.with_host_layers(reply.header.layers_mask),
                    cpu_limit_ms=cpu_limit_ms,
                    memory_ceiling_kb=memory_ceiling_kb,
                )
            _kill(pidfd, hello.pid)
            wall_ms = (time.monotonic() - started) * 1000.0
        finally:
            sock.close()
            if pidfd is not None:
                os.close(pidfd)
            # The child's replacement is normally asked for once the zygote has reaped it (see
            # _replenish_after_exit). Only if no child is left waiting (or that thread had to
            # give up) does the caller ask now, so back-to-back runs never outpace replacements.
            self._replenish_after_run()
        report = zygote.board.wait(hello.pid, EXIT_REPORT_TIMEOUT_S)
        exit_code = term_signal = None
        cpu_ms: float | None = None
        peak_rss_kb: int | None = None
        if report is not None:
            exit_code, term_signal = report.exit_code, report.term_signal
            cpu_ms = max(0.0, (report.cpu_us - hello.baseline_cpu_us) / 1000.0)
            peak_rss_kb = report.peak_rss_kb
            if exit_code == exitcodes.EXIT_LOCKDOWN_FAILED and error is not None:
                error = f"{error} ({exitcodes.DESCRIPTIONS[exit_code]})"
        elif zygote.dead.is_set():
            error = f"{error + '; ' if error else ''}the zygote died during the run"
        return ChildOutcome(
            payload=None,
            exit_code=exit_code,
            term_signal=term_signal,
            wall_ms=wall_ms,
            cpu_ms=cpu_ms,
            peak_rss_kb=peak_rss_kb,
            killed_by_watchdog=watchdog,
            protocol_error=error,
            layers=expected,
            cpu_limit_ms=cpu_limit_ms,
            memory_ceiling_kb=memory_ceiling_kb,
        )


def _open_pidfd(pid: int) -> int | None:
    """A pidfd pins the child's identity: signalling through it can never hit a recycled pid."""
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None  # already gone (and possibly reaped): nothing to kill


def _kill(pidfd: int | None, pid: int) -> None:
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


_live_runners: weakref.WeakSet[ProcessRunner] = weakref.WeakSet()


@atexit.register
def _close_live_runners() -> None:
    """At interpreter exit, stop every runner still open, so no zygote or child outlives us."""
    for runner in list(_live_runners):
        with contextlib.suppress(Exception):
            runner.close()
