"""The bytes a parent sends a child to run one program, and how the child reads them.

A run is two parts, so that a waiting child can be sent (and can decode) the
program before the run is asked for, and then only the inputs:

* the *program*: ``len(header) (4 bytes, big-endian) + marshal(header) +
  marshal(code)``. The header, a dict of plain values, carries the policy's run
  options and the source (for traceback lines). Both travel as marshal data
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
from dataclasses import dataclass
from types import CodeType
from typing import Any

__all__ = [
    "DecodedRequest",
    "decode_inputs",
    "decode_program",
    "encode_inputs",
    "encode_program",
]

_LENGTH = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class DecodedRequest:
    """A request as the child sees it."""

    header: dict[str, Any]
    code: CodeType


def encode_program(
    code: CodeType,
    *,
    hoisted: tuple[tuple[str, str], ...],
    modules: frozenset[str],
    preload: tuple[str, ...],
    output_bytes: int,
    max_value_items: int,
    source: str,
    deterministic: bool = False,
) -> bytes:
    """The program part of a restricted run."""
    header = {
        "mode": "restricted",
        "hoisted": [list(pair) for pair in hoisted],
        "modules": sorted(modules),
        "preload": list(preload),
        "output_bytes": output_bytes,
        "max_value_items": max_value_items,
        "source": source,
        "deterministic": deterministic,
    }
    return _frame(header, marshal.dumps(code))


def encode_inputs(inputs: dict[str, Any]) -> bytes:
    """The inputs part of a run (``inputs`` already in tagged JSON)."""
    return json.dumps(inputs, separators=(",", ":")).encode() if inputs else b""


def decode_inputs(data: bytes) -> dict[str, Any]:
    """The tagged-JSON inputs of a run (raises ValueError if malformed)."""
    if not data:
        return {}
    inputs = json.loads(data)
    if not isinstance(inputs, dict):
        raise ValueError("the inputs are not a JSON object")
    return inputs


def _frame(header: dict[str, Any], code: bytes) -> bytes:
    encoded = marshal.dumps(header)
    return _LENGTH.pack(len(encoded)) + encoded + code


def decode_program(request: bytes) -> DecodedRequest:
    """Split a program into its header and code object (raises ValueError if malformed)."""
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
    return DecodedRequest(header, code)


def _unmarshal(data: bytes, what: str) -> object:
    try:
        return marshal.loads(data)
    except (EOFError, ValueError, TypeError) as error:
        raise ValueError(f"request {what} is not marshal data: {error}") from None
