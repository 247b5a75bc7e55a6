"""A str.format that formats plain fields and refuses to walk paths inside them.

``"{0.__class__}".format(x)`` and ``"{0[key]}".format_map(m)`` make CPython read
attributes and items in C, out of reach of the attribute guard; that is how
several RestrictedPython and AccessControl advisories escaped. Programs get
these replacements instead: the template is first parsed with the same C
parser ``str.format`` uses (``_string.formatter_parser``), including the
nested fields of format specs (``{0:{width}}``); if any field has an ``.attr``
or ``[index]`` part, ``ValueError`` is raised before anything is looked up.
Otherwise the real ``str.format`` runs, so output and error messages are
CPython's own.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "bound_format",
    "bound_format_map",
    "check_plain_fields",
    "unbound_format",
    "unbound_format_map",
]

_MAX_SPEC_DEPTH = 2  # CPython itself refuses deeper nesting ("Max string recursion exceeded")


def check_plain_fields(template: str, depth: int = 0) -> None:
    """Raise ValueError if any replacement field of ``template`` walks a path."""
    if depth > _MAX_SPEC_DEPTH:
        return  # str.format raises its own error for this
    for _literal, field_name, format_spec, _conversion in _string.formatter_parser(template):
        if field_name is None:
            continue
        _first, rest = _string.formatter_field_name_split(field_name)
        for _is_attribute, _key in rest:
            raise ValueError(
                f"format field {{{field_name}}} reads an attribute or item inside the field; "
                "restricted_exec formats plain fields only - compute the value first"
            )
        if format_spec:
            check_plain_fields(format_spec, depth + 1)


def _exact(template: str) -> str:
    # The text itself, whatever a str subclass's methods say.
    return str.__str__(template)


def bound_format(template: str) -> Callable[..., str]:
    """The safe replacement for ``template.format``."""

    def format(*args: Any, **kwargs: Any) -> str:
        check_plain_fields(_exact(template))
        return str.format(template, *args, **kwargs)

    return format


def bound_format_map(template: str) -> Callable[[Mapping[str, Any]], str]:
    """The safe replacement for ``template.format_map``."""

    def format_map(mapping: Mapping[str, Any]) -> str:
        check_plain_fields(_exact(template))
        return str.format_map(template, mapping)

    return format_map


def unbound_format(template: str, /, *args: Any, **kwargs: Any) -> str:
    """The safe replacement for ``str.format`` read from the class."""
    if not isinstance(template, str):
        raise TypeError(
            "descriptor 'format' for 'str' objects doesn't apply to a "
            f"'{type(template).__name__}' object"
        )
    return bound_format(template)(*args, **kwargs)


def unbound_format_map(template: str, mapping: Mapping[str, Any], /) -> str:
    """The safe replacement for ``str.format_map`` read from the class."""
    if not isinstance(template, str):
        raise TypeError(
            "descriptor 'format_map' for 'str' objects doesn't apply to a "
            f"'{type(template).__name__}' object"
        )
    return bound_format_map(template)(mapping)
