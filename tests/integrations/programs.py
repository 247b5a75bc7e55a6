"""What the integration tests run, and CPython's own answer to compare with."""

from __future__ import annotations

import contextlib
import io

ARTICLE_CODE = (
    "P = 3000 * 12\nr = 0.05\nt = 5\nA = P * ((1 + r)**t - 1) / r\n"
    'print(f"五年后总额约为: {A:.2f} 元")\n'
)


def cpython_prints(code: str) -> str:
    """What CPython prints running ``code`` in a fresh namespace."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})
    return printed.getvalue()
