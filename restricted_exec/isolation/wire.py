"""Wire formats between the host, the zygote and the children.

Fixed-size little-endian headers with a magic tag: the host validates every header it reads from
a child (which may be running hostile code), so a wrong tag or an absurd length is recognised as
garbage immediately and never drives an allocation.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# The fd number the child's socket is moved to, so the child's fd table is the same every time.
CHILD_SOCKET_FD = 3

# child -> host, once the child has warmed up and is ready for its one request.
# magic, pid, baseline address space kb, baseline rss kb, baseline cpu us, active layers mask
HELLO = struct.Struct("<4sIQQQQ")
HELLO_MAGIC = b"RXhi"

# host -> child: the one request, whose body is the program part then the inputs part (the
# runtime's two opaque parts, see restricted_exec.child.protocol).
# magic, flags, cpu_s, memory_mb, body length, program part length
REQUEST = struct.Struct("<4sIdQQQ")
REQUEST_MAGIC = b"RXrq"
FLAG_ALLOW_DEGRADED = 1
# The host already set the per-request rlimits on the child with prlimit(2).
FLAG_LIMITS_SET_BY_HOST = 2
# The body is only the inputs: run the program this child was primed with.
FLAG_PRIMED = 4
# host -> child, at most once and before the request: the same header with this tag and a body
# that is a program part. The child prepares it (decodes it, builds its globals) while it waits.
PRIME_MAGIC = b"RXpr"
# The largest program the host primes children with (it must fit a fresh socket's buffer).
MAX_PRIME_BYTES = 64 * 1024

# child -> host: the one reply.
REPLY = struct.Struct("<4sIQQQ")  # magic, layers mask, cpu us (this request), peak rss kb, length
REPLY_MAGIC = b"RXok"
# child -> host instead of a reply, when the child's own machinery (not the program) failed: the
# REPLY header with this tag and a short UTF-8 traceback as the payload, for diagnosis.
FAILURE_MAGIC = b"RXer"
MAX_FAILURE_TEXT = 4000

# zygote -> host on the control socket
CTL_READY = b"R"  # + JSON {"pid", "layers", "missing"}
CTL_ERROR = b"E"  # + UTF-8 text: the zygote could not start
CTL_EXIT = b"X"  # + EXIT: a child was reaped
EXIT = struct.Struct("<iiQQ")  # pid, raw wait status, cpu us (user + system), peak rss kb
# host -> zygote on the control socket
CTL_FORK = b"F"  # + FORK, with one fd (SCM_RIGHTS): the child's end of its socketpair
# prime id (see CTL_PRIME), and whether the child may warm up while it waits
FORK = struct.Struct("<I?")
# + PRIME_ID + a program part (at most MAX_PRIME_BYTES): the zygote prepares it once and every
# child forked with that id starts with it prepared. Id 0 with no program: forget it.
CTL_PRIME = b"P"
PRIME_ID = struct.Struct("<I")
# + one fd (SCM_RIGHTS): fork a primed fork server that serves its own control socket on that fd
# (see zygote.py). Only the clean fork server obeys it.
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
    flags: int
    cpu_s: float
    memory_mb: int
    length: int
    program_length: int
    prime: bool = False  # PRIME_MAGIC: the body is a program to prepare, not a request


def encode_request(header: RequestHeader) -> bytes:
    magic = PRIME_MAGIC if header.prime else REQUEST_MAGIC
    return REQUEST.pack(
        magic, header.flags, header.cpu_s, header.memory_mb, header.length, header.program_length
    )


def encode_prime(program: bytes) -> bytes:
    """The whole prime frame (header and body) for ``program``."""
    header = RequestHeader(0, 0.0, 0, len(program), len(program), prime=True)
    return encode_request(header) + program


def decode_request(data: bytes) -> RequestHeader | None:
    magic, flags, cpu_s, memory_mb, length, program_length = REQUEST.unpack(data)
    if magic not in (REQUEST_MAGIC, PRIME_MAGIC) or program_length > length:
        return None
    return RequestHeader(
        flags, cpu_s, memory_mb, length, program_length, prime=magic == PRIME_MAGIC
    )


@dataclass(frozen=True, slots=True)
class ReplyHeader:
    layers_mask: int
    cpu_us: int
    peak_rss_kb: int
    length: int

    failure: bool = False  # FAILURE_MAGIC: the payload is the child's internal error text


def encode_reply(header: ReplyHeader) -> bytes:
    magic = FAILURE_MAGIC if header.failure else REPLY_MAGIC
    return REPLY.pack(magic, header.layers_mask, header.cpu_us, header.peak_rss_kb, header.length)


def decode_reply(data: bytes | bytearray | memoryview) -> ReplyHeader | None:
    magic, mask, cpu_us, rss, length = REPLY.unpack(data)
    if magic == REPLY_MAGIC:
        return ReplyHeader(mask, cpu_us, rss, length)
    if magic == FAILURE_MAGIC and length <= MAX_FAILURE_TEXT:
        return ReplyHeader(mask, cpu_us, rss, length, failure=True)
    return None
