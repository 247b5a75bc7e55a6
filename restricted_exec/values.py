"""What a JSON-safe value is, and how values cross the sandbox boundary.

Values travel as *tagged JSON*: plain JSON for JSON types, and a small tagged
object for everything else we accept, so that a Decimal stays a Decimal after a
round trip through JSON::

    Decimal("1.10")            -> {"$type": "decimal", "value": "1.10"}
    an int over ~3,900 digits  -> {"$type": "int", "value": "0x..."} (JSON cannot carry it)
    Fraction(1, 3)             -> {"$type": "fraction", "value": "1/3"}
    float("nan")               -> {"$type": "float", "value": "nan"}
    datetime/date/time         -> {"$type": "datetime" | "date" | "time", "value": ISO text}
    timedelta                  -> {"$type": "timedelta", "days": d, "seconds": s,
                                   "microseconds": us}
    tuple, set, frozenset      -> JSON list (sets sorted when their items allow it)
    dict with non-str keys, or
    with a "$type" key         -> {"$type": "dict", "items": [[key, value], ...]}

Conversion checks exact types (``type(x) is int``, never ``isinstance``), so a
subclass defined by a program (an ``int`` with a custom ``__repr__``) is refused
instead of being trusted: no code the sandbox defined runs while a value is
converted. This module is used on both sides of the boundary and imports
nothing but the standard library.
"""

from __future__ import annotations

import datetime as _dt
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from restricted_exec.text import encodable

__all__ = ["MAX_DEPTH", "UnsupportedValue", "decode", "encode"]

MAX_DEPTH = 100
"""Containers nested deeper than this are refused (the conversion is iterative-safe)."""

_TAG = "$type"
_PLAIN_INT_BITS = 13_000  # about 3,900 decimal digits: under sys.int_info's default limit


class UnsupportedValue(ValueError):
    """A value that cannot cross the boundary; the message names its type and path."""


def _type_name(value: object) -> str:
    # type(value).__name__ reads a slot of the type object: no program code runs.
    return type(value).__name__


def encode(value: object, *, max_items: int = 1_000_000) -> Any:
    """Turn a value into tagged JSON, or raise UnsupportedValue.

    Args:
        value: the value to convert.
        max_items: how many scalars and containers the value may hold in all.

    Raises:
        UnsupportedValue: for any type not listed in this module's docstring, a
            container nested deeper than MAX_DEPTH, a cycle, or more than
            ``max_items`` items.
    """
    budget = [max_items]
    return _encode(value, "value", 0, budget, set())


def _encode(value: object, path: str, depth: int, budget: list[int], active: set[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise UnsupportedValue(f"{path}: the value holds too many items to return")
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is str:
        assert isinstance(value, str)
        return encodable(value)  # a lone surrogate is escaped (restricted_exec.text)
    if kind is int:
        assert isinstance(value, int)
        if value.bit_length() <= _PLAIN_INT_BITS:
            return value
        # Beyond ~4,300 decimal digits Python refuses int <-> str conversion
        # (CVE-2020-10735); hexadecimal has no such limit and is exact.
        return {_TAG: "int", "value": hex(value)}
    if kind is float:
        assert isinstance(value, float)
        if math.isfinite(value):
            return value
        return {_TAG: "float", "value": repr(value)}
    if kind is Decimal:
        return {_TAG: "decimal", "value": str(value)}
    if kind is Fraction:
        return {_TAG: "fraction", "value": str(value)}
    if kind is _dt.datetime or kind is _dt.date or kind is _dt.time:
        assert isinstance(value, _dt.date | _dt.time)
        if (
            isinstance(value, _dt.datetime | _dt.time)
            and value.tzinfo is not None
            and type(value.tzinfo) is not _dt.timezone
        ):
            raise UnsupportedValue(
                f"{path}: only datetime.timezone offsets can be returned, "
                f"not tzinfo of type {_type_name(value.tzinfo)}"
            )
        return {_TAG: kind.__name__, "value": value.isoformat()}
    if kind is _dt.timedelta:
        assert isinstance(value, _dt.timedelta)
        return {
            _TAG: "timedelta",
            "days": value.days,
            "seconds": value.seconds,
            "microseconds": value.microseconds,
        }
    if kind in (list, tuple, set, frozenset, dict):
        if depth >= MAX_DEPTH:
            raise UnsupportedValue(f"{path}: containers nested deeper than {MAX_DEPTH} levels")
        marker = id(value)
        if marker in active:
            raise UnsupportedValue(f"{path}: the value contains itself (a cycle)")
        active.add(marker)
        try:
            return _encode_container(value, kind, path, depth, budget, active)
        finally:
            active.discard(marker)
    raise UnsupportedValue(
        f"{path}: a value of type {_type_name(value)!r} cannot leave the sandbox; "
        "return plain data (numbers, strings, lists, dicts, Decimal, Fraction, dates)"
    )


def _encode_container(
    value: Any, kind: type, path: str, depth: int, budget: list[int], active: set[int]
) -> Any:
    if kind is dict:
        items = list(dict.items(value))
        plain_keys = all(type(k) is str for k, _ in items) and _TAG not in value
        if plain_keys:
            return {
                encodable(k): _encode(v, f"{path}[{_key_label(k)}]", depth + 1, budget, active)
                for k, v in items
            }
        return {
            _TAG: "dict",
            "items": [
                [
                    _encode(k, f"{path}.key", depth + 1, budget, active),
                    _encode(v, f"{path}[...]", depth + 1, budget, active),
                ]
                for k, v in items
            ],
        }
    members = list(value) if kind in (list, tuple) else _sorted_if_possible(value)
    return [
        _encode(item, f"{path}[{index}]", depth + 1, budget, active)
        for index, item in enumerate(members)
    ]


def _key_label(key: str) -> str:
    # The path names every key on the way down: a long key's full repr at each level
    # would make the paths of a deep value grow with depth times key length.
    return repr(key) if len(key) <= 40 else f"{key[:40]!r}..."


def _sorted_if_possible(members: set[object] | frozenset[object]) -> list[object]:
    # Sets have no order; sort plain scalars so equal sets encode equally. Only
    # exact builtin scalar types are compared, so no program-defined __lt__ runs.
    items = list(members)
    kinds = {type(item) for item in items}
    if kinds and (kinds <= {int, float} or kinds == {str}):
        return sorted(items)  # type: ignore[type-var]
    return items


def decode(data: Any) -> Any:
    """Turn tagged JSON back into Python values (the inverse of :func:`encode`).

    Tuples and sets come back as lists. Raises UnsupportedValue on an unknown tag.
    """
    kind = type(data)
    if kind is list:
        return [decode(item) for item in data]
    if kind is not dict:
        return data
    tag = data.get(_TAG)
    if tag is None:
        return {key: decode(item) for key, item in data.items()}
    if tag == "float":
        return float(data["value"])
    if tag == "int":
        return int(data["value"], 16)
    if tag == "decimal":
        return Decimal(data["value"])
    if tag == "fraction":
        return Fraction(data["value"])
    if tag == "datetime":
        return _dt.datetime.fromisoformat(data["value"])
    if tag == "date":
        return _dt.date.fromisoformat(data["value"])
    if tag == "time":
        return _dt.time.fromisoformat(data["value"])
    if tag == "timedelta":
        return _dt.timedelta(
            days=data["days"], seconds=data["seconds"], microseconds=data["microseconds"]
        )
    if tag == "dict":
        return {_hashable(decode(k)): decode(v) for k, v in data["items"]}
    raise UnsupportedValue(f"unknown value tag {tag!r}")


def _hashable(key: Any) -> Any:
    # A tuple key was encoded as a list; give it back as a tuple so it can key a dict.
    if type(key) is list:
        return tuple(_hashable(item) for item in key)
    return key
