"""The escape suite's attack snippets, collected read-only from tests/security.

Every string literal in ``tests/security/*.py`` that compiles as a Python program and looks like
one (it calls, reads an attribute, imports or indexes something) is an attack snippet. They are
read with :mod:`ast`, not imported, so the fuzz target never runs the security suite's module code.
"""

from __future__ import annotations

import ast
import functools
import warnings
from pathlib import Path

SECURITY_DIR = Path(__file__).resolve().parent.parent / "security"
_SKIP_FILES = {"test_resource_exhaustion.py"}  # bombs belong to that suite, not to mutation


def _looks_like_a_program(text: str) -> bool:
    if not 6 <= len(text) <= 2000 or "\x00" in text:
        return False
    if not any(marker in text for marker in ("(", ".", "import", "[")):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    # A bare name or constant is a test's expected message, not a program.
    return not (
        len(tree.body) == 1
        and isinstance(tree.body[0], ast.Expr)
        and isinstance(tree.body[0].value, ast.Name | ast.Constant)
    )


@functools.cache
def attack_snippets() -> tuple[str, ...]:
    found: dict[str, None] = {}
    for path in sorted(SECURITY_DIR.glob("test_*.py")):
        if path.name in _SKIP_FILES:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _looks_like_a_program(node.value)
            ):
                found[node.value] = None
    return tuple(found)
