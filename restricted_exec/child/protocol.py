"""The bytes a parent sends a child to run one program, and how the child reads them.

A run is two parts, so that a waiting child can be sent (and can decode) the
program before the run is asked for, and then only the inputs:

* the *program*: ``len(header) (4 bytes, big-endian) + marshal(header) +
  marshal(code)``. The header, a dict of plain values, carries the hoisted reads and the
  run's :class:`RunOptions` (the source among them, for traceback lines); the child reads it
  back as a :class:`DecodedProgram`. Both travel as marshal data
  because the parent wrote them with the same interpreter the child runs, and
  marshal is the cheapest format for a freshly forked child to read: every
  object it builds lands on a copy-on-write page (JSON's scanner cost about
  half again as much there).
* the *inputs*: the tagged-JSON inputs as JSON text (empty: no inputs).

The isolation layer treats both parts and the payload as opaque bytes.
"""

from __future__ import annotations

import json
import marshal
import struct
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType
from typing import Any, Literal, NotRequired, Protocol, TypedDict

__all__ = [
    "DecodedProgram",
    "ErrorFields",
    "ErrorKind",
    "HostCallFailed",
    "HostCaller",
    "Outlet",
    "RunOptions",
    "RunReport",
    "Status",
    "decode_inputs",
    "decode_program",
    "encode_call_reply",
    "encode_inputs",
    "encode_program",
    "read_call_reply",
]

_LENGTH = struct.Struct(">I")

# How a run ended: the one vocabulary from the child's reply to ExecutionResult.status. A child
# reports ok, error, output_limit, memory_limit or crashed; the host adds the endings only it
# can see (syntax_error and policy_violation before a child, timeout and crashed from how a
# child died, rejected at admission).
Status = Literal[
    "ok",
    "error",
    "syntax_error",
    "policy_violation",
    "timeout",
    "memory_limit",
    "output_limit",
    "crashed",
    "rejected",
]


# What kind of failure an error is (ExecutionResult.error.kind).
ErrorKind = Literal[
    "exception", "syntax", "policy", "timeout", "memory", "output", "crash", "rejected", "value"
]


class ErrorFields(TypedDict):
    """Why a run did not succeed: ExecutionResult.error's fields, as a child reports them."""

    kind: ErrorKind
    type: str
    message: str
    line: int | None
    traceback: str


class RunReport(TypedDict):
    """How a run ended, as the child entry reports it: the RESULT frame's body is this, as
    JSON with exactly the five wire keys (``host/reply.read_reply`` checks them). A typed dict,
    not a class: it is built on the child's critical path, where every object touched costs
    copy-on-write faults, and a dict is what the JSON encoder takes."""

    status: Status
    stdout: str
    stdout_truncated: bool
    value: Any  # tagged JSON (restricted_exec.language.values)
    error: ErrorFields | None
    # Only on endings the host makes itself (a timeout); never on the wire.
    timeout_kind: NotRequired[Literal["wall", "cpu"]]
    # Only from a session's runs: the program's plain-data globals and the names of the others.
    state: NotRequired[dict[str, Any]]


class Outlet(Protocol):
    """Where a run sends its output while it runs, so that what it printed reaches the caller
    promptly and survives the run being killed.

    Process mode's outlet (``isolation/forked_child.py``) sends ``OUTPUT`` frames and calls
    ``flush`` on a timer and when the host asks for it before a kill; inline mode's
    (``host/inline.py``) hands the text to the caller. Text sent is not in the run's reply:
    the host joins the two.
    """

    def open(self, flush: Callable[[], None]) -> Callable[[], None] | None:
        """The run starts; ``flush`` sends whatever was printed and not yet sent. Returns what
        ``print`` calls after each call, if anything (process mode's outlet flushes on a timer
        instead)."""

    def send(self, text: str) -> None:
        """Send one chunk of output (encodable text, in order)."""

    def close(self) -> None:
        """The run is over: no more ``flush`` calls; the reply carries the rest."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What one run needs besides the code and its inputs: the part of a Policy that travels
    to the child (``restricted_exec.host.run_plan`` makes it)."""

    modules: frozenset[str]
    preload: tuple[str, ...]
    output_bytes: int
    max_value_items: int = 100_000
    source: str = ""
    deterministic: bool = False
    host_call_bytes: int = 1_000_000


@dataclass(frozen=True, slots=True)
class DecodedProgram:
    """A program part as the child reads it."""

    code: CodeType
    hoisted: tuple[tuple[str, str], ...]
    options: RunOptions


def encode_program(
    code: CodeType, hoisted: tuple[tuple[str, str], ...], options: RunOptions
) -> bytes:
    """The program part of a run: a compiled program, its hoisted reads and its options."""
    header = {
        "mode": "restricted",
        "hoisted": [list(pair) for pair in hoisted],
        "modules": sorted(options.modules),
        "preload": list(options.preload),
        "output_bytes": options.output_bytes,
        "max_value_items": options.max_value_items,
        "source": options.source,
        "deterministic": options.deterministic,
        "host_call_bytes": options.host_call_bytes,
    }
    return _frame(header, marshal.dumps(code))


def encode_inputs(inputs: dict[str, Any], functions: tuple[str, ...] = ()) -> bytes:
    """The inputs part of a run: ``inputs`` (already in tagged JSON) and the names of the host
    functions the program may call. Empty when there are neither (most runs)."""
    if not inputs and not functions:
        return b""
    return json.dumps([inputs, list(functions)], separators=(",", ":")).encode()


def decode_inputs(data: bytes) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The tagged-JSON inputs of a run and its host functions' names (raises ValueError if
    malformed)."""
    if not data:
        return {}, ()
    decoded = json.loads(data)
    if not (isinstance(decoded, list) and len(decoded) == 2):
        raise ValueError("the inputs part is not [inputs, functions]")
    inputs, functions = decoded
    if not isinstance(inputs, dict):
        raise ValueError("the inputs are not a JSON object")
    if not (isinstance(functions, list) and all(isinstance(name, str) for name in functions)):
        raise ValueError("the host functions are not a list of names")
    return inputs, tuple(functions)


class HostCaller(Protocol):
    """How a run calls the host's functions: process mode's sends a ``HOST_CALL`` frame and
    waits for the ``CALL_REPLY``; inline mode's calls the host's handler directly. Both carry
    the same bytes (``encode_call`` / ``read_call_reply``)."""

    def call(self, body: bytes) -> bytes:
        """Send one encoded call; the encoded reply."""


class HostCallFailed(Exception):
    """What a host call's reply says went wrong: the exception's type name, its message, and
    its arguments as tagged JSON (None if they were not plain data)."""

    def __init__(self, type_name: str, message: str, arguments: Any) -> None:
        super().__init__(type_name, message)
        self.type_name = type_name
        self.message = message
        self.arguments = arguments


def encode_call_reply(value: Any = None, error: tuple[str, str, Any] | None = None) -> bytes:
    """A ``CALL_REPLY`` body: the host function's result (tagged JSON) or its exception's type
    name, message and arguments (tagged JSON, or None)."""
    if error is not None:
        type_name, message, arguments = error
        reply: dict[str, Any] = {
            "error": {"type": type_name, "message": message, "args": arguments}
        }
    else:
        reply = {"value": value}
    return json.dumps(reply, separators=(",", ":"), allow_nan=False).encode()


def read_call_reply(body: bytes) -> Any:
    """The tagged-JSON value of a ``CALL_REPLY`` body; raises HostCallFailed for an error reply
    and ValueError for one that is malformed (the host wrote it: that would be our bug)."""
    reply = json.loads(body)
    if isinstance(reply, dict) and reply.keys() == {"value"}:
        return reply["value"]
    if isinstance(reply, dict) and reply.keys() == {"error"}:
        error = reply["error"]
        if isinstance(error, dict) and error.keys() == {"type", "message", "args"}:
            raise HostCallFailed(str(error["type"]), str(error["message"]), error["args"])
    raise ValueError("a malformed host-call reply")


def _frame(header: dict[str, Any], code: bytes) -> bytes:
    encoded = marshal.dumps(header)
    return _LENGTH.pack(len(encoded)) + encoded + code


def decode_program(request: bytes) -> DecodedProgram:
    """Read a program part back (raises ValueError if it is malformed)."""
    if len(request) < _LENGTH.size:
        raise ValueError("request too short")
    (length,) = _LENGTH.unpack_from(request)
    end = _LENGTH.size + length
    if end > len(request):
        raise ValueError("request header truncated")
    header = _unmarshal(request[_LENGTH.size : end], "header")
    if not isinstance(header, dict):
        raise ValueError("request header is not a dict")
    # The one mode there is: a child runs nothing but a compiled, restricted program.
    mode = header.get("mode")
    if mode != "restricted":
        raise ValueError(f"unknown request mode {mode!r}")
    code = _unmarshal(request[end:], "code")
    if not isinstance(code, CodeType):
        raise ValueError("request does not carry a code object")
    try:
        options = RunOptions(
            modules=frozenset(header["modules"]),
            preload=tuple(header["preload"]),
            output_bytes=int(header["output_bytes"]),
            max_value_items=int(header["max_value_items"]),
            source=str(header["source"]),
            deterministic=header["deterministic"] is True,
            host_call_bytes=int(header["host_call_bytes"]),
        )
        hoisted = tuple((str(module), str(name)) for module, name in header["hoisted"])
    except (KeyError, TypeError, ValueError) as problem:
        raise ValueError(f"request header is malformed: {problem!r}") from None
    return DecodedProgram(code, hoisted, options)


def _unmarshal(data: bytes, what: str) -> object:
    try:
        return marshal.loads(data)
    except (EOFError, ValueError, TypeError) as error:
        raise ValueError(f"request {what} is not marshal data: {error}") from None
