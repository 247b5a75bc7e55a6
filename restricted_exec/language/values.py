"""What a JSON-safe value is, and how values cross the sandbox boundary.

Values travel as *tagged JSON*: plain JSON for JSON types, and a small tagged
object for everything else we accept, so that a Decimal stays a Decimal after a
round trip through JSON::

    Decimal("1.10")            -> {"$type": "decimal", "value": "1.10"}
    an int over ~3,900 digits  -> {"$type": "int", "value": "0x..."} (JSON cannot carry it)
    Fraction(1, 3)             -> {"$type": "fraction", "value": "1/3"}
                                  (hexadecimal "0x../0x.." past ~3,900 digits)
    float("nan")               -> {"$type": "float", "value": "nan"}
    datetime/date/time         -> {"$type": "datetime" | "date" | "time", "value": ISO text}
                                  (and "fold": 1 for the second of two equal local times)
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

import collections
import datetime as _dt
import math
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from restricted_exec.language.text import encodable

__all__ = ["DECODE_MAX_ITEMS", "MAX_DEPTH", "UnsupportedValue", "decode", "encode"]

MAX_DEPTH = 100
"""Containers nested deeper than this are refused (the conversion is iterative-safe)."""

_TAG = "$type"

DECODE_MAX_ITEMS = 10_000_000
"""decode's default item limit (Policy's largest ``max_value_items``)."""

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
        return encodable(value)  # a lone surrogate is escaped (restricted_exec.language.text)
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
        assert isinstance(value, Decimal)
        if value.is_snan():
            raise UnsupportedValue(f"{path}: {_SIGNALLING_NAN}")
        return {_TAG: "decimal", "value": str(value)}
    if kind is Fraction:
        numerator, denominator = _fraction_parts(value, path)
        # Every Fraction the constructor makes is reduced; one built from an int subclass's
        # parts may not be, and the host builds what it reads without a gcd (_decode_fraction).
        # Checked here, in the child, and never in the key checks decode shares.
        if math.gcd(numerator, denominator) != 1:
            raise UnsupportedValue(f"{path}: a Fraction that is not in lowest terms")
        if max(numerator.bit_length(), denominator.bit_length()) <= _PLAIN_INT_BITS:
            return {_TAG: "fraction", "value": str(value)}
        # str() would need int -> str beyond Python's digit limit (and quadratic time).
        return {_TAG: "fraction", "value": f"{hex(numerator)}/{hex(denominator)}"}
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
        text = value.isoformat()
        if not _round_trips(value, text):
            raise UnsupportedValue(
                f"{path}: this {kind.__name__} cannot be returned exactly (isoformat() loses "
                "its time zone's name, or a negative UTC offset under a second); return its "
                "parts instead"
            )
        if getattr(value, "fold", 0):  # isoformat() does not write it
            return {_TAG: kind.__name__, "value": text, "fold": 1}
        return {_TAG: kind.__name__, "value": text}
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
            plain = {
                encodable(k): _encode(v, f"{path}[{_key_label(k)}]", depth + 1, budget, active)
                for k, v in items
            }
            if len(plain) != len(items):
                raise UnsupportedValue(_MERGED_KEYS.format(path=path))
            return plain
        encoded = {
            _TAG: "dict",
            "items": [
                [
                    _encode(k, f"{path}.key", depth + _TAGGED_DICT_LEVELS, budget, active),
                    _encode(v, f"{path}[...]", depth + _TAGGED_DICT_LEVELS, budget, active),
                ]
                for k, v in items
            ],
        }
        _check_keys_survive(path, [k for k, _ in items])
        return encoded
    members = list(value) if kind in (list, tuple) else _sorted_if_possible(value)
    return [
        _encode(item, f"{path}[{index}]", depth + 1, budget, active)
        for index, item in enumerate(members)
    ]


def _check_keys_survive(path: str, keys: list[Any]) -> None:
    """Refuse a dict whose keys would not come back as distinct, cheaply built keys.

    Outside the sandbox a tuple or frozenset key is a tuple (``decode``), so ``(1, 2)`` and
    ``frozenset({1, 2})`` would become one key and a value would be lost; and keys whose
    hashes the host cannot randomize could be made to collide there though they did not here
    (frozensets hash differently from the tuples they become).
    """
    host_keys = [_host_key(key) for key in keys]
    if _may_collide_costly(host_keys):
        _refuse_colliding_keys(host_keys)  # before building a set of them, which would pay it
    if len(set(host_keys)) != len(host_keys):
        raise UnsupportedValue(_MERGED_KEYS.format(path=path))


_MERGED_KEYS = (
    "{path}: two keys would become one outside the sandbox (a tuple and a frozenset with the "
    "same items, two NaNs, or a lone surrogate and its escape); use distinct keys"
)


class _NaNKey:
    """Every NaN as the host will have it: decode gives one shared NaN, so NaN keys merge."""

    __slots__ = ()


_NAN_KEY = _NaNKey()


def _host_key(key: Any) -> Any:
    """The key as decode will rebuild it on the host, for comparing keys for merges."""
    kind = type(key)
    if kind is tuple:
        return tuple(_host_key(item) for item in key)
    if kind is frozenset:
        return tuple(_host_key(item) for item in _sorted_if_possible(key))
    if kind is float and key != key:
        return _NAN_KEY
    if kind is str:
        return encodable(key)
    return key


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


def decode(data: Any, *, max_items: int = DECODE_MAX_ITEMS) -> Any:
    """Turn tagged JSON back into Python values (the inverse of :func:`encode`).

    Tuples and sets come back as lists. The data may come from an untrusted
    child, so this is strict and its cost is bounded: it accepts exactly what
    :func:`encode` can produce (after a JSON round trip) and raises
    UnsupportedValue for anything else - an unknown tag, extra or missing keys,
    a container nested deeper than MAX_DEPTH, more than ``max_items`` items
    (counted as ``encode`` counts them), a tagged number in a form ``encode``
    never writes (a decimal ``int`` tag, a Fraction with an exponent or with
    decimal parts beyond ~4,300 digits), a date out of range, a dict key that
    cannot be hashed, or a tagged dict whose keys collide in hash so much that
    building it would take quadratic time. Every conversion it does is linear
    in the size of its text, so decoding costs time proportional to the data.
    It raises nothing but UnsupportedValue.
    """
    budget = [max_items - 1]
    try:
        if budget[0] < 0:
            raise UnsupportedValue("value: more items than max_value_items")
        return _decode(data, 0, budget)
    except UnsupportedValue:
        raise
    except RecursionError:  # only if the caller was already near the recursion limit
        raise UnsupportedValue("value: nested too deeply to decode") from None
    except Exception as problem:  # a conversion refused its (already checked) text
        raise UnsupportedValue(f"value: {type(problem).__name__}: {problem}"[:300]) from None


DECODE_MAX_ITEMS = 10_000_000
"""decode's default item limit (Policy's largest ``max_value_items``)."""

# The exact text encode writes for tagged ints and Fractions, so that nothing else reaches a
# conversion: int as hex(); Fraction as str(Fraction) or, past _PLAIN_INT_BITS, hex parts.
_HEX_INT = re.compile(r"-?0x[0-9a-f]+")
_FRACTION_PART = r"(?:[0-9]{1,4300}|0x[0-9a-f]+)"
_FRACTION_TEXT = re.compile(rf"(-?)({_FRACTION_PART})(?:/({_FRACTION_PART}))?")
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_ISO_TEXT_CHARS = 64  # the longest isoformat() is 32 characters
_TIMEDELTA_MAX_DAYS = 999_999_999
_TIMEDELTA_KEYS = frozenset({_TAG, "days", "seconds", "microseconds"})
_NESTED = frozenset({list, dict})
# A tagged dict of at least this many keys has its key hashes counted first.
MAX_COLLIDING_PAIRS = 10_000
"""Most item comparisons that keys sharing one hash may cost when a dict is built: each pair
of colliding keys is compared, item by item for tuples, and one item comparison can take a
few microseconds (Fraction == float), so this bounds the cost near 30 ms. Honest dicts have
almost no colliding keys (-1 and -2 share a hash; ints that differ by 2**61 - 1)."""


# Depth counts JSON levels, so that whatever passes MAX_DEPTH also passes every JSON parser and
# serializer on the way (pydantic's stop near 200): a dict with non-string keys travels as
# {"$type": "dict", "items": [[key, value], ...]}, its keys and values three levels down.
_TAGGED_DICT_LEVELS = 3


def _enter_container(depth: int, budget: list[int], items: int) -> None:
    if depth >= MAX_DEPTH:
        raise UnsupportedValue(f"value: containers nested deeper than {MAX_DEPTH} levels")
    budget[0] -= items
    if budget[0] < 0:
        raise UnsupportedValue("value: more items than max_value_items")


def _decode(data: Any, depth: int, budget: list[int]) -> Any:
    # ``data`` was counted against the budget by its container (or by decode). JSON scalars
    # are returned as they are: the parser bounded them (an int's digits by int()'s limit, or
    # by restricted_exec.host.reply's hook where a process lifted it).
    kind = type(data)
    if kind is list:
        _enter_container(depth, budget, len(data))
        depth += 1
        return [_decode(item, depth, budget) if type(item) in _NESTED else item for item in data]
    if kind is not dict:
        return data
    tag = data.get(_TAG)
    if tag is None and _TAG not in data:
        _enter_container(depth, budget, len(data))
        depth += 1
        return {
            key: _decode(item, depth, budget) if type(item) in _NESTED else item
            for key, item in data.items()
        }
    scalar = _SCALAR_TAGS.get(tag) if type(tag) is str else None
    if scalar is not None:
        text = data.get("value")
        if tag in _FOLDING_TAGS and len(data) == 3 and data.get("fold") == 1:
            if type(text) is not str or type(data["fold"]) is not int:
                raise UnsupportedValue(f"value: a {tag!r} tag that is not {{$type, value, fold}}")
            return scalar(text).replace(fold=1)
        if len(data) != 2 or type(text) is not str:
            raise UnsupportedValue(f"value: a {tag!r} tag that is not {{$type, value: str}}")
        return scalar(text)
    if tag == "dict":
        if len(data) != 2 or "items" not in data:
            raise UnsupportedValue("value: a dict tag that is not {$type, items}")
        if depth >= MAX_DEPTH:
            raise UnsupportedValue(f"value: containers nested deeper than {MAX_DEPTH} levels")
        return _decode_dict(data["items"], depth, budget)
    if tag == "timedelta":
        if data.keys() != _TIMEDELTA_KEYS:
            raise UnsupportedValue("value: a timedelta tag with other keys than its fields")
        return _decode_timedelta(data)
    raise UnsupportedValue(f"value: unknown value tag {str(tag)[:40]!r}")


def _decode_int(text: str) -> int:
    if not _HEX_INT.fullmatch(text):
        raise UnsupportedValue("value: an int tag that is not hexadecimal")
    return int(text, 16)  # linear: a power-of-two base


# A signalling NaN raises InvalidOperation when compared, and TypeError when hashed: the
# caller's `result == other` or a cache hit's comparison would raise.
_SIGNALLING_NAN = (
    "a signalling NaN Decimal cannot be returned (comparing or hashing it raises); "
    "return Decimal('NaN') or a string"
)


def _decode_decimal(text: str) -> Decimal:
    # Decimal() reads its text in linear time; what it reads must be what str(Decimal) wrote.
    try:
        value = Decimal(text)
    except ArithmeticError:  # decimal.InvalidOperation
        value = None
    if value is None or str(value) != text:
        raise UnsupportedValue("value: a decimal tag that is not str(Decimal) text")
    if value.is_snan():
        raise UnsupportedValue(f"value: {_SIGNALLING_NAN}")
    return value


def _decode_float(text: str) -> float:
    value = _NON_FINITE.get(text)
    if value is None:
        raise UnsupportedValue("value: a float tag that is not nan, inf or -inf")
    return value


def _round_trips(value: _dt.date | _dt.time, text: str) -> bool:
    """Whether ``fromisoformat(text)`` gives back ``value`` exactly, as the host will decode it."""
    back = type(value).fromisoformat(text)
    if back != value:
        return False
    if isinstance(value, _dt.datetime | _dt.time) and value.tzinfo is not None:
        assert isinstance(back, _dt.datetime | _dt.time)
        return bool(back.utcoffset() == value.utcoffset() and back.tzname() == value.tzname())
    return True


def _iso_decoder(kind: type[_dt.date] | type[_dt.time]) -> Callable[[str], Any]:
    name = kind.__name__

    def decode_iso(text: str) -> Any:
        if len(text) > _ISO_TEXT_CHARS:
            raise UnsupportedValue(f"value: a {name} tag longer than any isoformat()")
        try:
            decoded = kind.fromisoformat(text)
        except ValueError:
            raise UnsupportedValue(f"value: a {name} tag that is not a valid {name}") from None
        if decoded.isoformat() != text:  # what encode wrote round-trips; anything else is forged
            raise UnsupportedValue(f"value: a {name} tag that is not what isoformat() writes")
        return decoded

    return decode_iso


def _decode_dict(items: Any, depth: int, budget: list[int]) -> dict[Any, Any]:
    if type(items) is not list:
        raise UnsupportedValue("value: a dict tag whose items are not a list")
    budget[0] -= 2 * len(items)
    if budget[0] < 0:
        raise UnsupportedValue("value: more items than max_value_items")
    keys: list[Any] = []
    values: list[Any] = []
    depth += _TAGGED_DICT_LEVELS
    for pair in items:
        if type(pair) is not list or len(pair) != 2:
            raise UnsupportedValue("value: a dict tag item that is not a [key, value] pair")
        keys.append(_hashable(_decode(pair[0], depth, budget)))
        values.append(_decode(pair[1], depth, budget))
    try:
        if _may_collide_costly(keys):
            _refuse_colliding_keys(keys)
        return dict(zip(keys, values, strict=True))
    except TypeError:  # a key that cannot be hashed (a dict, a signalling NaN)
        raise UnsupportedValue("value: a dict key that cannot be hashed") from None


def _refuse_colliding_keys(keys: list[Any]) -> None:
    # Hashes of numbers, dates and tuples are not randomized: distinct keys sharing one hash
    # (k * (2**61 - 1) for every k) make building the dict quadratic, and each comparison of
    # two tuple keys walks their items, so the cost is colliding pairs times the keys' size.
    # encode's child paid that cost itself when it built such a dict; a forged reply would not
    # have, and the host pays it again on every result-cache hit.
    # A number too large to compare cheaply may share a hash with no other key: one
    # Decimal == int comparison converts the int, quadratic in its size (1 s at a million bits).
    hashes = [hash(key) for key in keys]
    counts = collections.Counter(hashes)
    widest: dict[int, int] = {}
    for key_hash, key in zip(hashes, keys, strict=True):
        if counts[key_hash] > 1:
            if _costly_to_compare(key):
                raise UnsupportedValue(
                    "value: a dict whose keys share a hash with a number too large to compare "
                    "cheaply"
                )
            widest[key_hash] = max(widest.get(key_hash, 0), _width(key))
    cost = sum(counts[h] * (counts[h] - 1) // 2 * width for h, width in widest.items())
    if cost > MAX_COLLIDING_PAIRS:
        raise UnsupportedValue(f"value: a dict whose keys collide in hash ({cost:,} comparisons)")


_COSTLY_BITS = 256
_COSTLY_DIGITS = 80


def _costly_to_compare(key: Any) -> bool:
    """A key whose comparison with another number costs more than a few machine words."""
    kind = type(key)
    if kind is int:
        return bool(key.bit_length() > _COSTLY_BITS)
    if kind is tuple:
        return any(_costly_to_compare(item) for item in key)
    if kind is Decimal:
        return bool(
            key.is_finite()
            and (
                abs(key.adjusted()) > _COSTLY_DIGITS or len(key.as_tuple().digits) > _COSTLY_DIGITS
            )
        )
    if kind is Fraction:
        numerator, denominator = _fraction_parts(key, "value: a dict key")
        return max(numerator.bit_length(), denominator.bit_length()) > _COSTLY_BITS
    return False


def _fraction_parts(value: Any, path: str) -> tuple[int, int]:
    """The numerator and denominator of an exact Fraction, which must be exact ints.

    Fraction is a Python class whose constructor stores what a duck-typed argument hands it
    (a float subclass's ``as_integer_ratio``, an int subclass's ``numerator``): reading its
    parts as numbers would run the program's methods while the value is encoded, after the
    program has finished (red-team round 9)."""
    numerator, denominator = value._numerator, value._denominator
    if type(numerator) is not int or type(denominator) is not int or denominator <= 0:
        raise UnsupportedValue(f"{path}: a Fraction whose parts are not plain ints")
    return numerator, denominator


def _may_collide_costly(keys: list[Any]) -> bool:
    """Whether the collision check must run: for any two keys or more (a few keys of a
    thousand items each cost as much as many small ones)."""
    return len(keys) > 1


def _width(key: Any) -> int:
    return 1 + sum(_width(item) for item in key) if type(key) is tuple else 1


def _decode_timedelta(data: dict[str, Any]) -> _dt.timedelta:
    days, seconds, microseconds = data["days"], data["seconds"], data["microseconds"]
    # encode writes timedelta's normalized fields, which are always in these ranges.
    if (
        type(days) is not int
        or type(seconds) is not int
        or type(microseconds) is not int
        or not -_TIMEDELTA_MAX_DAYS <= days <= _TIMEDELTA_MAX_DAYS
        or not 0 <= seconds < 86_400
        or not 0 <= microseconds < 1_000_000
    ):
        raise UnsupportedValue("value: a timedelta tag out of timedelta's range")
    return _dt.timedelta(days=days, seconds=seconds, microseconds=microseconds)


def _decode_fraction(text: str) -> Fraction:
    match = _FRACTION_TEXT.fullmatch(text)
    if match is None:
        raise UnsupportedValue("value: a fraction tag that is not 'n/d' or 'n' text")
    sign, numerator_text, denominator_text = match.groups()
    numerator = _fraction_int(numerator_text)
    denominator = 1 if denominator_text is None else _fraction_int(denominator_text)
    if denominator == 0:
        raise UnsupportedValue("value: a fraction tag with a zero denominator")
    if sign:
        numerator = -numerator
    # Reducing costs a gcd, quadratic in the digits (~3 ms at 50,000 bits, and a reply may hold
    # hundreds: seconds of the caller's CPU, again on every result-cache hit). encode writes
    # only fractions in lowest terms: build it as it is, in linear time. (A forged unreduced
    # one is still exactly the number its text says.)
    value = Fraction.__new__(Fraction)
    value._numerator = numerator  # type: ignore[attr-defined]
    value._denominator = denominator  # type: ignore[attr-defined]
    return value


def _fraction_int(text: str) -> int:
    # Decimal parts are at most 4,300 digits (the regex): int() of that is ~0.1 ms.
    return int(text, 16) if text.startswith("0x") else int(text)


def _hashable(key: Any) -> Any:
    # A tuple key was encoded as a list; give it back as a tuple so it can key a dict.
    if type(key) is list:
        return tuple(_hashable(item) for item in key)
    return key


# A datetime or time with fold=1 (the second of two equal local times) carries it apart.
_FOLDING_TAGS = frozenset({"datetime", "time"})

_SCALAR_TAGS: dict[str, Callable[[str], Any]] = {
    "int": _decode_int,
    "decimal": _decode_decimal,
    "fraction": _decode_fraction,
    "float": _decode_float,
    "datetime": _iso_decoder(_dt.datetime),
    "date": _iso_decoder(_dt.date),
    "time": _iso_decoder(_dt.time),
}
