"""Text that crosses the sandbox's boundary: always encodable, and capped with a visible note.

A program can make strings that no encoder accepts: a lone surrogate
(``chr(0xD800)``) is a valid ``str`` but not valid UTF-8, JSON (for pydantic) or
SQLite text. Such text is escaped once, where the run's text is made (the
runtime's payload: stdout, error type, message and traceback; and every string
of the final value), with Python's ``backslashreplace`` spelling: each lone
surrogate becomes the six characters ``\\udXXX``. Every ExecutionResult therefore
holds text that serialises as is - a cache hit equals the run it came from, and
the audit log, the CLI and a caller's own ``json.dumps`` see the same
characters. The serialising boundaries (result cache, audit log, CLI) apply the
same helper again, which changes nothing on text that is already encodable, so
a result from anywhere else (a misbehaving child) cannot break them either.

This module imports only the standard library: the child uses it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "TRUNCATION_NOTE",
    "capped",
    "encodable",
    "encodable_data",
    "exact",
    "exception_text",
    "json_for_terminal",
    "printable",
]

TRUNCATION_NOTE = " ... [truncated: {omitted:,} more bytes]"
"""Appended to text cut at a cap, so no cut is silent."""


def exact(text: str) -> str:
    """``text`` as an exact ``str``: a program's ``str`` subclass could answer ``isascii()``,
    ``__len__`` or ``encode()`` with whatever it likes (a 5 MB string of length 0)."""
    return text if type(text) is str else str.__str__(text)


def encodable(text: str) -> str:
    """``text`` with each lone surrogate written as ``\\udXXX``; unchanged if it has none."""
    text = exact(text)
    # isascii() reads a flag of the str object: the common case costs no scan.
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def encodable_data(data: Any) -> Any:
    """JSON-shaped ``data`` (dicts, lists, tuples, scalars) with every string encodable."""
    kind = type(data)
    if kind is str:
        return encodable(data)
    if kind is list or kind is tuple:
        return [encodable_data(item) for item in data]
    if kind is dict:
        return {
            encodable(key) if type(key) is str else key: encodable_data(item)
            for key, item in data.items()
        }
    return data


def capped(text: str, limit: int) -> tuple[str, bool]:
    """``text`` (made encodable) cut to at most ``limit`` bytes of UTF-8 plus a note saying
    how much was cut; the flag is True if it was cut."""
    text = encodable(text)
    if len(text) * 4 <= limit:  # no str of n characters is longer than 4n bytes
        return text, False
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text, False
    # Cut on a character boundary: drop a partial UTF-8 sequence at the end.
    head = encoded[:limit].decode("utf-8", "ignore")
    omitted = len(encoded) - len(head.encode("utf-8"))
    return head + TRUNCATION_NOTE.format(omitted=omitted), True


# What a terminal would act on instead of showing: C0 and C1 controls and DEL (escape
# sequences, carriage returns, bells) and the bidirectional overrides that reorder
# what is shown (a "Trojan Source" line). Each is shown as its Python escape.
_TERMINAL_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), 0x200E, 0x200F]
_TERMINAL_CONTROLS += [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_SHOWN = {code: ascii(chr(code))[1:-1] for code in _TERMINAL_CONTROLS}
_SHOWN_KEEPING_LINES = {code: shown for code, shown in _SHOWN.items() if chr(code) not in "\n\t"}


def printable(text: str, *, keep_lines: bool = False) -> str:
    """``text`` safe to print on a terminal: controls (escape sequences included) and
    bidirectional overrides shown as escapes (``\\x1b``), lone surrogates too;
    ``keep_lines`` leaves newlines and tabs as they are (for multi-line blocks)."""
    return encodable(text).translate(_SHOWN_KEEPING_LINES if keep_lines else _SHOWN)


# JSON escapes C0 controls itself; DEL, C1 and the bidirectional overrides it writes raw.
_JSON_ESCAPED = {code: f"\\u{code:04x}" for code in _TERMINAL_CONTROLS if code >= 0x7F}


def json_for_terminal(json_text: str) -> str:
    """JSON text with what a terminal would act on inside its strings (C1 controls such as
    CSI, DEL, bidirectional overrides) written as ``\\uXXXX`` escapes: the same JSON to a
    parser, inert on a screen. Outside strings JSON holds none of these characters."""
    return json_text.translate(_JSON_ESCAPED)


_PLAIN_ARGUMENT_TYPES = frozenset({str, int, float, bool, type(None)})
# __str__ methods that format only the exception's arguments.
_ARGUMENTS_ONLY = (BaseException.__str__, KeyError.__str__)
_ARGUMENTS = BaseException.__dict__["args"]


def exception_text(problem: BaseException) -> str:
    """``Type: message`` of an exception that may be a program's, made without running any
    of its code. ``str()`` of an exception calls its class's ``__str__`` and its arguments'
    ``__str__``/``__repr__``: after a run, or in the host, that would be program code outside
    the run's guards (red-team round 9 escaped that way). The message is kept only when
    the class formats nothing but plain arguments; otherwise just the type is named."""
    kind = type(problem)
    name = exact(kind.__name__)
    arguments = _ARGUMENTS.__get__(problem)
    if getattr(kind, "__str__", None) in _ARGUMENTS_ONLY and all(
        type(argument) in _PLAIN_ARGUMENT_TYPES for argument in arguments
    ):
        return f"{name}: {problem}"
    return f"{name} (its message is not shown: it could run the program's code)"
