"""The host's reader of a child's reply: a strict schema, at a cost bounded by the reply's size.

A child runs untrusted code, so the host assumes it may be fully hostile and able to write any
bytes to its socket. Its reply (the runtime's payload, as JSON) is therefore checked before
anything of it is used:

* its size against the largest reply an honest child can send under the run's Policy, before
  it is parsed;
* JSON with no ``NaN``/``Infinity`` constants, nesting bounded by the interpreter's recursion
  limit (which makes the parser stop) and, where that limit was raised, by a scan first; ints
  parsed with a digit limit whatever ``sys.set_int_max_str_digits`` says;
* the envelope: exactly the keys the runtime writes, exact types, a status the child may
  report (the host alone decides ``timeout`` and ``rejected``), an error exactly when the run
  did not succeed and of a kind that fits its status, a value only with ``ok``;
* stdout within ``output_bytes``, the value within ``max_value_items`` and decoded by
  :func:`restricted_exec.language.values.decode` (depth, digit and range limits, linear
  conversions);
* before parsing, the reply's structure: no more brackets and commas than a value of
  ``max_value_items`` items is written with, and no number longer than the encoder writes (a
  reply of ``[],[],...`` parsed into ~25 times its size in objects before the item limit saw it);
* the error's type, message and traceback cut to the runtime's caps (ERROR_TYPE_BYTES,
  ERROR_MESSAGE_BYTES, ERROR_TRACEBACK_BYTES), with a note.

Anything off raises :class:`MalformedReply`, which the host reports as a ``crashed`` run. An
honest child's reply always passes: every limit is one the runtime's encoder already keeps.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from restricted_exec.child.executor import (
    ERROR_MESSAGE_BYTES,
    ERROR_TRACEBACK_BYTES,
    ERROR_TYPE_BYTES,
    MAX_VALUE_BYTES,
    SESSION_STATE_BYTES,
)
from restricted_exec.language.text import TRUNCATION_NOTE, capped
from restricted_exec.language.values import MAX_DEPTH, UnsupportedValue, decode
from restricted_exec.result import ErrorInfo

__all__ = [
    "CHILD_STATUSES",
    "MalformedReply",
    "max_reply_bytes",
    "read_child_json",
    "read_reply",
]

REPLY_ENVELOPE_BYTES = 65_536
"""Room in a reply for everything but stdout and the value (keys, error, traceback)."""

_KEYS = frozenset({"status", "stdout", "stdout_truncated", "value", "error"})
_SESSION_KEYS = _KEYS | {"state"}
_ERROR_KEYS = frozenset({"kind", "type", "message", "line", "traceback"})
# The statuses a child's runtime reports, and the error kinds each may carry.
_KINDS_BY_STATUS: dict[str, frozenset[str]] = {
    "ok": frozenset(),
    "error": frozenset({"exception", "value"}),
    "output_limit": frozenset({"output"}),
    "memory_limit": frozenset({"memory"}),
    "crashed": frozenset({"crash"}),
}
CHILD_STATUSES = frozenset(_KINDS_BY_STATUS)
"""The statuses a child may report; every other status is the host's alone."""

# An honest child's error text is at most its cap plus the runtime's note on what it cut.
_NOTE_ROOM = len(TRUNCATION_NOTE.format(omitted=MAX_VALUE_BYTES * 1_000))
# JSON structure (commas, brackets, braces) an honest encoder writes per value item, at most:
# a dict keyed by timedeltas writes 11 for each key and value, [{"$type": "timedelta", "days":
# .., "seconds": .., "microseconds": ..}, {...}], and the comma after it. The envelope and the
# error object add a few more.
_STRUCTURE_PER_ITEM = 6
_ENVELOPE_STRUCTURE = 32
# A float as the encoder writes it (repr: at most 24 characters) never takes more than this;
# a longer run of number characters with a point or exponent is no honest child's.
_LONGEST_FLOAT = 32
# A reply this small parses quickly whatever its shape (most replies: the check is skipped).
_CHEAP_REPLY_BYTES = 65_536
_LONG_NUMBER = re.compile(rb"[-+.eE0-9]{%d,}" % (_LONGEST_FLOAT + 1))
_MAX_LINE = 1 << 31
# Deeper than any honest reply: values.encode counts MAX_DEPTH in JSON levels (a tagged
# dict's three included), and the envelope and a tagged leaf add a few more.
_MAX_JSON_DEPTH = 3 * MAX_DEPTH + 8
# With at most this recursion limit, the JSON parser stops a deep reply with RecursionError
# long before the C stack runs out; above it the reply's depth is measured first.
_PARSER_SAFE_RECURSION_LIMIT = 5_000
# Digits of the longest plain JSON int an honest child writes (13,000 bits, see values.py).
_MAX_INT_DIGITS = 4_300
# Possessive, and an unterminated string runs to the end: a failed attempt at every quote of
# `\"\"\"...` made the old pattern quadratic (3 s for 33 KB).
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class MalformedReply(ValueError):
    """A child's reply that no honest child sends; the message says what is wrong."""


def max_reply_bytes(output_bytes: int, *, session: bool = False) -> int:
    """The largest reply an honest child sends: stdout JSON-escaped at worst (6 bytes a byte),
    the largest value, and the envelope; a session child's adds its state (its data, and the
    names of at most as many other globals again)."""
    state = 2 * SESSION_STATE_BYTES + REPLY_ENVELOPE_BYTES if session else 0
    return 6 * output_bytes + MAX_VALUE_BYTES + REPLY_ENVELOPE_BYTES + state


def read_reply(
    data: bytes, *, output_bytes: int, max_value_items: int, session: bool = False
) -> dict[str, Any]:
    """The fields of an ExecutionResult from a child's reply bytes, checked and decoded.

    Returns a dict with ``status``, ``stdout``, ``stdout_truncated``, ``value`` (decoded) and
    ``error`` (an ErrorInfo or None); a session child's reply also has ``state`` (raw: its
    reader, ``host/session_state``, checks it). Raises MalformedReply, and nothing else, for
    anything an honest child under these limits does not send. Costs time linear in
    ``len(data)``.
    """
    try:
        return _read(data, output_bytes, max_value_items, session)
    except MalformedReply:
        raise
    except UnsupportedValue as problem:
        raise MalformedReply(str(problem)) from None
    except RecursionError:
        raise MalformedReply("JSON nested too deeply") from None
    except Exception as problem:  # json's own errors, MemoryError, anything unforeseen
        raise MalformedReply(f"{type(problem).__name__}: {str(problem)[:200]}") from None


def _read(data: bytes, output_bytes: int, max_value_items: int, session: bool) -> dict[str, Any]:
    if type(data) is not bytes:
        raise MalformedReply("not bytes")
    limit = max_reply_bytes(output_bytes, session=session)
    if len(data) > limit:
        raise MalformedReply(f"{len(data):,} bytes; an honest reply is at most {limit:,}")
    payload = _parse(data, max_value_items)
    if type(payload) is not dict or payload.keys() != (_SESSION_KEYS if session else _KEYS):
        raise MalformedReply("not an object with exactly the payload's keys")
    status = payload["status"]
    if type(status) is not str or status not in _KINDS_BY_STATUS:
        raise MalformedReply(f"status {str(status)[:40]!r} is not one a child may report")
    stdout = payload["stdout"]
    if type(stdout) is not str:
        raise MalformedReply("stdout is not a string")
    if _utf8_size(stdout) > output_bytes:
        raise MalformedReply(f"more stdout than output_bytes ({output_bytes:,})")
    truncated = payload["stdout_truncated"]
    if type(truncated) is not bool:
        raise MalformedReply("stdout_truncated is not a boolean")
    error = _error(payload["error"], status)
    raw_value = payload["value"]
    if raw_value is not None and status != "ok":
        raise MalformedReply(f"a value with status {status!r}")
    value = None if raw_value is None else decode(raw_value, max_items=max_value_items)
    fields = {
        "status": status,
        "stdout": stdout,
        "stdout_truncated": truncated,
        "value": value,
        "error": error,
    }
    if session:
        fields["state"] = payload["state"]
    return fields


def read_child_json(data: bytes, *, max_items: int) -> Any:
    """JSON a child wrote (a host-function call's body), parsed at a cost bounded by its
    size, with the checks every reply gets (see the module's docstring); the caller bounds
    its size first and checks its shape after. Raises MalformedReply, and nothing else."""
    try:
        return _parse(data, max_items)
    except MalformedReply:
        raise
    except RecursionError:
        raise MalformedReply("JSON nested too deeply") from None
    except Exception as problem:
        raise MalformedReply(f"{type(problem).__name__}: {str(problem)[:200]}") from None


def _parse(data: bytes, max_items: int) -> Any:
    if sys.getrecursionlimit() > _PARSER_SAFE_RECURSION_LIMIT and _nesting(data) > _MAX_JSON_DEPTH:
        raise MalformedReply("JSON nested too deeply")
    _refuse_costly_structure(data, max_items)
    digits = sys.get_int_max_str_digits()
    decoder = _BOUNDED_INTS if digits == 0 or digits > _MAX_INT_DIGITS else _PLAIN
    # An honest child's text holds no lone surrogate (it escapes them where the text is made,
    # restricted_exec.language.text), and its encoder writes \u escapes only for control characters:
    # surrogates, raw or escaped, would put text in the result that cannot be serialised.
    if b"\\u" in data and _SURROGATE_ESCAPE.search(data) is not None:
        raise MalformedReply("a surrogate escape, which an honest child never writes")
    return decoder.decode(data.decode("utf-8"))


def _error(error: Any, status: str) -> ErrorInfo | None:
    kinds = _KINDS_BY_STATUS[status]
    if error is None:
        if kinds:
            raise MalformedReply(f"status {status!r} without an error")
        return None
    if type(error) is not dict or error.keys() != _ERROR_KEYS:
        raise MalformedReply("an error that is not an object with exactly ErrorInfo's keys")
    kind, type_name, message = error["kind"], error["type"], error["message"]
    line, traceback = error["line"], error["traceback"]
    if type(kind) is not str or kind not in kinds:
        raise MalformedReply(f"error kind {str(kind)[:40]!r} with status {status!r}")
    if type(type_name) is not str or type(message) is not str or type(traceback) is not str:
        raise MalformedReply("an error whose type, message or traceback is not a string")
    if line is not None and (type(line) is not int or not 0 <= line < _MAX_LINE):
        raise MalformedReply("an error line that is not a line number")
    return ErrorInfo(
        kind=kind,  # type: ignore[arg-type]  # one of _KINDS_BY_STATUS's, all ErrorKinds
        type=_cut(type_name, ERROR_TYPE_BYTES),
        message=_cut(message, ERROR_MESSAGE_BYTES),
        line=line,
        traceback=_cut(traceback, ERROR_TRACEBACK_BYTES),
    )


def _cut(text: str, limit: int) -> str:
    if _utf8_size(text) <= limit + _NOTE_ROOM:
        return text
    return capped(text, limit)[0]


def _refuse_costly_structure(data: bytes, max_value_items: int) -> None:
    """Refuse, in linear time and before parsing, a reply whose parse would cost more than any
    honest reply under ``max_value_items``: more structure than its items are written with, or
    a float literal longer than the encoder writes."""
    if len(data) <= _CHEAP_REPLY_BYTES:
        return
    most = _STRUCTURE_PER_ITEM * max_value_items + _ENVELOPE_STRUCTURE
    structure = data.count(b",") + data.count(b"[") + data.count(b"{")
    if structure <= most and _LONG_NUMBER.search(data) is None:
        return
    # Strings may hold any of these bytes; only what lies outside them is structure.
    bare = _JSON_STRING.sub(b"", data)
    structure = bare.count(b",") + bare.count(b"[") + bare.count(b"{")
    if structure > most:
        raise MalformedReply(
            f"{structure:,} JSON commas and brackets; a value of at most {max_value_items:,} "
            "items (max_value_items) is written with fewer"
        )
    for number in _LONG_NUMBER.finditer(bare):
        if any(mark in number[0] for mark in (b".", b"e", b"E")):
            raise MalformedReply("a JSON number longer than the encoder writes a float")


def _utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8, as the child counted them against output_bytes (a lone
    surrogate it escaped counts as the six characters it became)."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


# A JSON \u escape of a surrogate (U+D800-DFFF) not itself escaped by a backslash before it.
_SURROGATE_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> Any:
    raise MalformedReply(f"the JSON constant {name}")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise MalformedReply("a JSON int with more digits than an honest reply has")
    return int(text)


# Made once (json.loads with options builds a decoder per call). Both hooks are called only
# where they matter: parse_constant for NaN/Infinity (which json.dumps never writes here),
# parse_int only if the process lifted int's digit limit, which bounds int()'s quadratic cost.
_PLAIN = json.JSONDecoder(parse_constant=_refuse_constant)
_BOUNDED_INTS = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_bounded_int)


def _nesting(data: bytes) -> int:
    """How deep the brackets of JSON text nest (strings skipped); linear time."""
    brackets = data.translate(None, _NOT_BRACKETS)
    if len(brackets) <= _MAX_JSON_DEPTH:
        return len(brackets)
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > _MAX_JSON_DEPTH:
                break
        else:
            depth -= 1
    return deepest
