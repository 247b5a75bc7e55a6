"""asteval: an AST evaluator for expressions and simple scripts, in the caller's process.

asteval has no classes and refuses ``import`` unless told to allow every module, so
restricted_exec's module catalogue is put in its symbol table and plain ``import X`` lines
of those modules are taken out of the program ("where the workload fits"). Programs with
other imports or a class are reported as unsupported. No time or memory limit.
"""

from __future__ import annotations

import ast
import importlib
import io
from typing import Any

from benchmarks.backends import CATALOGUE
from benchmarks.core import Outcome

NAME = "asteval"
KIND = "in-process"
LIMITS: frozenset[str] = frozenset()
CONCURRENT = True
NOTES = "fresh Interpreter per run; catalogue modules in its symtable; no classes"

_PRELOADED = frozenset(CATALOGUE)


def available() -> str | None:
    try:
        import asteval  # noqa: F401
    except ImportError:
        return "asteval is not installed (pip install asteval)"
    return None


def _strip_imports(source: str) -> str | None:
    """The program without its ``import math``-style lines, or None if it does not fit."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    drop: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            return None
        if isinstance(node, ast.ImportFrom):
            return None
        if isinstance(node, ast.Import):
            if any(a.name not in _PRELOADED or a.asname for a in node.names):
                return None
            if node not in tree.body or node.end_lineno != node.lineno:
                return None
            drop.add(node.lineno)
    lines = source.splitlines(keepends=True)
    return "".join("\n" if i + 1 in drop else line for i, line in enumerate(lines))


def fits(source: str) -> str | None:
    if _strip_imports(source) is None:
        return "uses a class or an import asteval cannot serve"
    return None


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    from asteval import Interpreter

    program = _strip_imports(source)
    if program is None:
        return Outcome.failure("", "unsupported by asteval", "unsupported")
    out = io.StringIO()
    errors = io.StringIO()
    symbols: dict[str, Any] = {name: importlib.import_module(name) for name in _PRELOADED}
    interpreter = Interpreter(user_symbols=symbols, writer=out, err_writer=errors, use_numpy=False)
    interpreter.eval(program, show_errors=False, raise_errors=False)
    if interpreter.error:
        exc = interpreter.error[0].exc
        name = exc.__name__ if isinstance(exc, type) else type(exc).__name__
        return Outcome.failure(out.getvalue(), name)
    return Outcome.success(out.getvalue())
