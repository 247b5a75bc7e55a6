"""Wire formats between the host, the fork server and the children.

A child says hello once, then the host and the child exchange *frames*: a fixed-size
little-endian header that starts with a four-byte tag naming the frame's kind and ends with the
length of the body that follows. The host validates every header it reads from a child (which
may be running hostile code), so an unknown tag or an absurd length is recognised as garbage
immediately and never drives an allocation. docs/design/protocol.md describes the whole
conversation, including the frames reserved for streamed output, host-function calls and
session children.
"""

from __future__ import annotations

import signal
import struct
from dataclasses import dataclass

# The fd number the child's socket is moved to, so the child's fd table is the same every time.
CHILD_SOCKET_FD = 3

# child -> host, once the child has warmed up and is ready for its one request.
# magic, pid, baseline address space kb, baseline rss kb, baseline cpu us, active layers mask
HELLO = struct.Struct("<4sIQQQQ")
HELLO_MAGIC = b"RXhi"


class HostFrame:
    """The kinds of frame a host sends a child after its hello: each is the tag that opens the
    frame's header. (Plain bytes, not an Enum: a child touches them on its run's critical path,
    and every object a forked child touches costs it copy-on-write faults.)"""

    # The run: its body is the program part then the inputs part (the child entry's two
    # opaque parts, see restricted_exec.child.protocol).
    REQUEST = b"RXrq"
    # Before the request, at most once: a program part the child prepares while it waits.
    PRIME = b"RXpr"
    # The answer to a HOST_CALL frame: the host function's result or error.
    CALL_REPLY = b"RXcr"
    # Between a session's or a warm child's runs, no body: the next request comes within
    # READY_SPIN_S; look for it without sleeping until then (see SessionChild.expect_request).
    READY = b"RXrd"


# host -> child: tag, flags, cpu_s, memory_mb, body length, program part length
REQUEST = struct.Struct("<4sIdQQQ")
FLAG_ALLOW_DEGRADED = 1
# The host already set the per-request rlimits on the child with prlimit(2).
FLAG_LIMITS_SET_BY_HOST = 2
# The body is only the inputs: run the program this child was primed with.
FLAG_PRIMED = 4
# A session's request: the child serves request after request, keeping the program's globals,
# and each reply carries the program's state (see child.executor.run_session).
FLAG_SESSION = 8
# A warm child's request (Sandbox child_reuse): the child serves request after request of one
# trust domain, each program in globals of its own, and clears what a run left before it replies.
FLAG_REUSE = 16
# The largest program the host primes children with (it must fit a fresh socket's buffer).
MAX_PRIME_BYTES = 64 * 1024
# How long a child told READY looks for its request before it sleeps in read again: a caller
# sends READY before it compiles new source (~0.1-0.2 ms) or prepares a run (~0.04 ms).
READY_SPIN_S = 0.0003


class ChildFrame:
    """The kinds of frame a child sends after its hello (tags, as HostFrame's). A run ends with
    RESULT or FAILURE."""

    # The run's payload (the child entry's reply), with the layers that stayed active and the
    # CPU and peak memory the run took.
    RESULT = b"RXok"
    # The child's own machinery (not the program) failed: a short UTF-8 traceback.
    FAILURE = b"RXer"
    # A chunk of the program's stdout (UTF-8), sent while it runs; an empty one answers
    # FLUSH_SIGNAL.
    OUTPUT = b"RXou"
    # The program calls a host function; the host answers with CALL_REPLY.
    HOST_CALL = b"RXca"


# Each kind's name, for messages.
FRAME_NAMES: dict[bytes, str] = {
    getattr(kinds, name): name
    for kinds in (HostFrame, ChildFrame)
    for name in vars(kinds)
    if name.isupper()
}
_CHILD_FRAMES = frozenset(
    (ChildFrame.RESULT, ChildFrame.FAILURE, ChildFrame.OUTPUT, ChildFrame.HOST_CALL)
)

# The host sends a child this signal before it kills it: the child sends what its program
# printed and not yet sent, then an empty OUTPUT frame.
FLUSH_SIGNAL = signal.SIGUSR1
# How often a child sends what its program printed: every this much of its CPU time (so a kill
# loses nothing older), and, while the caller streams the output, every this much wall-clock
# time at the host's request (a sleeping program uses no CPU).
FLUSH_INTERVAL_S = 0.025
# How long the host waits for a child's answer to FLUSH_SIGNAL before it kills it anyway (a
# child inside one long C call cannot answer).
FLUSH_GRACE_S = 0.02

# child -> host: tag, layers mask, cpu us (this request), peak rss kb, body length. The three
# numbers are RESULT's and FAILURE's; other kinds send zeros.
REPLY = struct.Struct("<4sIQQQ")
MAX_FAILURE_TEXT = 4000

# fork server -> host on the control socket
CTL_READY = b"R"  # + JSON {"pid", "layers", "missing"}
CTL_ERROR = b"E"  # + UTF-8 text: the fork server could not start
CTL_EXIT = b"X"  # + EXIT: a child was reaped
EXIT = struct.Struct("<iiQQ")  # pid, raw wait status, cpu us (user + system), peak rss kb
# host -> fork server on the control socket
CTL_FORK = b"F"  # + FORK, with one fd (SCM_RIGHTS): the child's end of its socketpair
# prime id (see CTL_PRIME), and whether the child may warm up while it waits
FORK = struct.Struct("<I?")
# + PRIME_ID + a program part (at most MAX_PRIME_BYTES): the fork server prepares it once and every
# child forked with that id starts with it prepared. Id 0 with no program: forget it.
CTL_PRIME = b"P"
PRIME_ID = struct.Struct("<I")
# + one fd (SCM_RIGHTS): fork a primed fork server that serves its own control socket on that fd
# (see fork_server.py). Only the clean fork server obeys it.
CTL_SPAWN = b"S"
CTL_QUIT = b"Q"
CTL_MAX_MESSAGE = 1 + PRIME_ID.size + MAX_PRIME_BYTES


@dataclass(frozen=True, slots=True)
class Hello:
    pid: int
    baseline_vm_kb: int
    baseline_rss_kb: int
    baseline_cpu_us: int
    layers_mask: int


def encode_hello(hello: Hello) -> bytes:
    return HELLO.pack(
        HELLO_MAGIC,
        hello.pid,
        hello.baseline_vm_kb,
        hello.baseline_rss_kb,
        hello.baseline_cpu_us,
        hello.layers_mask,
    )


def decode_hello(data: bytes | bytearray | memoryview) -> Hello | None:
    magic, pid, vm_kb, rss_kb, cpu_us, mask = HELLO.unpack(data)
    if magic != HELLO_MAGIC or pid <= 1:
        return None
    return Hello(pid, vm_kb, rss_kb, cpu_us, mask)


@dataclass(frozen=True, slots=True)
class RequestHeader:
    """The header of a frame the host sends a child (REQUEST's fields; PRIME uses only the
    lengths)."""

    flags: int
    cpu_s: float
    memory_mb: int
    length: int
    program_length: int
    kind: bytes = HostFrame.REQUEST

    @property
    def prime(self) -> bool:
        return self.kind == HostFrame.PRIME


READY_FRAME = REQUEST.pack(HostFrame.READY, 0, 0.0, 0, 0, 0)


def encode_request(header: RequestHeader) -> bytes:
    return REQUEST.pack(
        header.kind,
        header.flags,
        header.cpu_s,
        header.memory_mb,
        header.length,
        header.program_length,
    )


def encode_call_reply(body: bytes) -> bytes:
    """The whole CALL_REPLY frame (header and body)."""
    return encode_request(RequestHeader(0, 0.0, 0, len(body), 0, kind=HostFrame.CALL_REPLY)) + body


def encode_prime(program: bytes) -> bytes:
    """The whole prime frame (header and body) for ``program``."""
    header = RequestHeader(0, 0.0, 0, len(program), len(program), kind=HostFrame.PRIME)
    return encode_request(header) + program


def decode_request(data: bytes) -> RequestHeader | None:
    """A host frame's header as a child reads it; None for garbage."""
    tag, flags, cpu_s, memory_mb, length, program_length = REQUEST.unpack(data)
    if (
        tag != HostFrame.REQUEST
        and tag != HostFrame.PRIME
        and tag != HostFrame.CALL_REPLY
        and tag != HostFrame.READY
    ) or program_length > length:
        return None
    return RequestHeader(flags, cpu_s, memory_mb, length, program_length, kind=tag)


@dataclass(frozen=True, slots=True)
class ReplyHeader:
    """The header of a frame a child sends after its hello."""

    layers_mask: int
    cpu_us: int
    peak_rss_kb: int
    length: int
    kind: bytes = ChildFrame.RESULT

    @property
    def failure(self) -> bool:
        return self.kind == ChildFrame.FAILURE


def encode_reply(header: ReplyHeader) -> bytes:
    return REPLY.pack(
        header.kind, header.layers_mask, header.cpu_us, header.peak_rss_kb, header.length
    )


def decode_reply(data: bytes | bytearray | memoryview) -> ReplyHeader | None:
    """A child frame's header, or None for garbage: an unknown tag, or failure text longer
    than a child's machinery writes. The body's length is the caller's to bound."""
    tag, mask, cpu_us, rss, length = REPLY.unpack(data)
    if tag not in _CHILD_FRAMES or (tag == ChildFrame.FAILURE and length > MAX_FAILURE_TEXT):
        return None
    return ReplyHeader(mask, cpu_us, rss, length, kind=tag)
