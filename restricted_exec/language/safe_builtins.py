"""The builtins a program sees, and the ones it does not, with the reasons.

The table is data: :data:`ALLOWED` names what is passed through unchanged,
:data:`DENIED` names what is absent and why (the compiler repeats the reason
when a program uses one), and :func:`build_builtins` adds the few that are
bound to a run (``getattr``, ``print``, ``__import__``, ...).

Builtins that iterate in C (``sorted``, ``tuple``, ``zip``, ``map``...) are the
real ones. RestrictedPython 9.0 removed them from its own safe_builtins because
in Zope ``_getiter_`` checks each item; restricted_exec's iteration guard is
``iter`` itself (no per-item rule: every value a program can reach is one it
may hold), so C iteration skips no check. ``tests/security`` pins
``_getiter_ is iter`` so that adding a per-item rule forces revisiting this.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from restricted_exec.language.guards import safe_type

__all__ = ["ALLOWED", "DENIED", "build_builtins"]

ALLOWED: frozenset[str] = frozenset(
    [
        "abs",
        "all",
        "any",
        "ascii",
        "bin",
        "bool",
        "bytearray",
        "bytes",
        "callable",
        "chr",
        "classmethod",
        "complex",
        "dict",
        "divmod",
        "enumerate",
        "filter",
        "float",
        "format",
        "frozenset",
        "hash",
        "hex",
        "id",
        "int",
        "isinstance",
        "issubclass",
        "iter",
        "len",
        "list",
        "map",
        "max",
        "min",
        "next",
        "object",
        "oct",
        "ord",
        "pow",
        "property",
        "range",
        "repr",
        "reversed",
        "round",
        "set",
        "slice",
        "sorted",
        "staticmethod",
        "str",
        "sum",
        "super",
        "tuple",
        "zip",
        "None",
        "True",
        "False",
        "Ellipsis",
        "NotImplemented",
        "__build_class__",
    ]
)

_DENIED_EXCEPTIONS = {
    "BaseExceptionGroup": "except* is not allowed (CVE-2025-22153); exception groups are unused",
    "ExceptionGroup": "except* is not allowed (CVE-2025-22153); exception groups are unused",
}

EXCEPTIONS: frozenset[str] = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type)
    and issubclass(value, BaseException)
    and name not in _DENIED_EXCEPTIONS
)

DENIED: dict[str, str] = {
    "open": "programs have no file access",
    "exec": "programs cannot create code",
    "eval": "programs cannot create code",
    "compile": "programs cannot create code",
    "__import__": "use an import statement",
    "globals": "programs cannot inspect namespaces",
    "locals": "programs cannot inspect namespaces",
    "vars": "programs cannot inspect namespaces",
    "dir": "programs cannot inspect objects' namespaces",
    "input": "programs have no standard input; pass values with inputs=",
    "breakpoint": "there is no debugger in the sandbox",
    "help": "there is no interactive help in the sandbox",
    "memoryview": "memoryview exposes raw buffers",
    "exit": "programs end by finishing; raise an exception to fail",
    "quit": "programs end by finishing; raise an exception to fail",
    "copyright": "not available",
    "credits": "not available",
    "license": "not available",
    "aiter": "async code is not allowed",
    "anext": "async code is not allowed",
    **_DENIED_EXCEPTIONS,
}


def build_builtins(run_bound: dict[str, Callable[..., Any]]) -> dict[str, Any]:
    """The ``__builtins__`` of one run: the allowed table plus the run's own hooks.

    Args:
        run_bound: ``getattr``, ``hasattr``, ``setattr``, ``delattr``, ``print``
            and ``__import__`` bound to the run.
    """
    table = dict(_BASE)
    table.update(run_bound)
    return table


_BASE: dict[str, Any] = {name: getattr(builtins, name) for name in ALLOWED | EXCEPTIONS}
_BASE["type"] = safe_type
