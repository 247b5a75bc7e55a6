"""Bare RestrictedPython: ``compile_restricted`` + ``exec`` with its own ``safe_globals``.

What a user gets from RestrictedPython alone, with its shipped guards: ``safe_builtins``,
``PrintCollector`` (per-scope: prints inside functions are not part of the module's output),
``safer_getattr``, the default item/iteration guards, ``full_write_guard``, and an import hook
limited to restricted_exec's module catalogue (raw modules: RestrictedPython has no module
proxies). No time or memory limit, no isolation.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any

from benchmarks.backends import CATALOGUE
from benchmarks.core import Outcome

NAME = "RestrictedPython bare"
KIND = "in-process"
LIMITS: frozenset[str] = frozenset()
CONCURRENT = True
NOTES = "compile_restricted + exec every call, safe_globals + shipped guards; no limits"

# compile_restricted warns "Prints, but never reads 'printed'" on every program that prints.
warnings.filterwarnings("ignore", message=".*never reads 'printed'", category=SyntaxWarning)

_ALLOWED_IMPORTS = frozenset(CATALOGUE)

_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


def available() -> str | None:
    try:
        import RestrictedPython  # noqa: F401
    except ImportError:
        return "RestrictedPython is not installed"
    return None


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


def _import(
    name: str,
    globals: Any = None,
    locals: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> Any:
    if name not in _ALLOWED_IMPORTS or level != 0:
        raise ImportError(f"import of {name!r} is not allowed")
    return __import__(name, globals, locals, fromlist, level)


def _globals() -> dict[str, Any]:
    from RestrictedPython import PrintCollector, safe_globals
    from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
    from RestrictedPython.Guards import (
        full_write_guard,
        guarded_iter_unpack_sequence,
        guarded_unpack_sequence,
        safer_getattr,
    )

    builtins = dict(safe_globals["__builtins__"])
    builtins["__import__"] = _import
    return {
        "__builtins__": builtins,
        "__name__": "__main__",
        "__metaclass__": type,
        "_print_": PrintCollector,
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplacevar,
        "_apply_": lambda function, *args, **kwargs: function(*args, **kwargs),
    }


def _printed(namespace: dict[str, Any]) -> str:
    collector = namespace.get("_print")
    return str(collector()) if collector is not None else ""


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    from RestrictedPython import compile_restricted

    try:
        code = compile_restricted(source, "<program>", "exec")
    except SyntaxError as error:
        return Outcome.failure("", f"SyntaxError: {error}", "unsupported")
    namespace = _globals()
    try:
        exec(code, namespace)
    except Exception as error:
        return Outcome.failure(_printed(namespace), type(error).__name__)
    return Outcome.success(_printed(namespace))
