"""A str.format that formats plain fields and refuses to walk paths inside them.

``"{0.__class__}".format(x)`` and ``"{0[key]}".format_map(m)`` make CPython read
attributes and items in C, out of reach of the attribute guard; that is how
several RestrictedPython advisories escaped. Programs get this formatter
instead: ``{}``, ``{0}``, ``{name}``, conversions (``!r``, ``!s``, ``!a``) and
format specs work as in CPython, while a field with ``.attr`` or ``[index]``
raises ``ValueError`` before anything is looked up.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["bound_format", "bound_format_map", "safe_format"]


class _PlainFieldFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        first, rest = _split_field(field_name)
        if any(True for _ in rest):
            raise ValueError(
                f"format field {{{field_name}}} reads an attribute or item inside the field; "
                "restricted_exec formats plain fields only - compute the value first"
            )
        return self.get_value(first, args, kwargs), first

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, int):
            return args[key]
        return kwargs[key]


def _split_field(field_name: str) -> tuple[int | str, Any]:
    # _string is the C helper string.Formatter itself uses to parse fields.
    import _string  # type: ignore[import-not-found]

    first, rest = _string.formatter_field_name_split(field_name)
    return first, rest


_FORMATTER = _PlainFieldFormatter()


def safe_format(template: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """Format like ``template.format(*args, **kwargs)``, for plain fields only."""
    return _FORMATTER.vformat(str.__str__(template), args, kwargs)


def bound_format(template: str) -> Callable[..., str]:
    """The safe replacement for ``template.format``."""

    def format(*args: Any, **kwargs: Any) -> str:
        return safe_format(template, args, kwargs)

    return format


def bound_format_map(template: str) -> Callable[[Mapping[str, Any]], str]:
    """The safe replacement for ``template.format_map``."""

    def format_map(mapping: Mapping[str, Any]) -> str:
        return _FORMATTER.vformat(str.__str__(template), (), _MappingView(mapping))

    return format_map


class _MappingView(Mapping[str, Any]):
    """Lets format_map look keys up lazily, like CPython (a defaultdict works)."""

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self._mapping = mapping

    def __getitem__(self, key: str) -> Any:
        return self._mapping[key]

    def __iter__(self) -> Any:
        return iter(self._mapping)

    def __len__(self) -> int:
        return len(self._mapping)


def unbound_format(template: str, /, *args: Any, **kwargs: Any) -> str:
    """The safe replacement for ``str.format`` read from the class."""
    if not isinstance(template, str):
        raise TypeError(
            "descriptor 'format' for 'str' objects doesn't apply to a '"
            + type(template).__name__
            + "' object"
        )
    return safe_format(template, args, kwargs)


def unbound_format_map(template: str, mapping: Mapping[str, Any], /) -> str:
    """The safe replacement for ``str.format_map`` read from the class."""
    if not isinstance(template, str):
        raise TypeError("descriptor 'format_map' for 'str' objects doesn't apply")
    return bound_format_map(template)(mapping)
