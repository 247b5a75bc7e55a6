"""Plain, unrestricted Python in a child: what the isolation tests' fork-server entries run.

No import of the host side here (``restricted_exec.isolation.pool`` and what it brings): a fork
server that loads an entry loads this too, and the entry that wraps the production one must
carry no more than production does.
"""

from __future__ import annotations

import contextlib
import io
import json
from types import CodeType
from typing import Any

# The program part of a request of the production-wrapping entry that is plain Python.
PLAIN = b"plain-python\n"


def encode_plain(source: str) -> bytes:
    """A production-wrapping entry's request that runs ``source`` as plain Python."""
    return PLAIN + source.encode("utf-8")


def encode(source: str) -> bytes:
    """The unrestricted entry's request for ``source``."""
    return source.encode("utf-8")


def decode(payload: bytes) -> dict[str, Any]:
    """The reply of a plain run: ``{"stdout": ..., "error": None | {type, message, errno}}``."""
    value = json.loads(payload)
    assert isinstance(value, dict)
    return value


def compile_plain(program: bytes) -> CodeType:
    return compile(program.decode("utf-8"), "<unrestricted-test>", "exec")


def run_plain(request: bytes | CodeType) -> bytes:
    """Exec ``request`` with real builtins; the reply that ``decode`` reads."""
    code = request if isinstance(request, CodeType) else compile_plain(request)
    out = io.StringIO()
    error: dict[str, Any] | None = None
    with contextlib.redirect_stdout(out):
        try:
            exec(code, {"__name__": "__unrestricted__"})
        except BaseException as exc:
            error = {
                "type": type(exc).__name__,
                "message": str(exc),
                "errno": getattr(exc, "errno", None),
            }
    return json.dumps({"stdout": out.getvalue(), "error": error}).encode()
