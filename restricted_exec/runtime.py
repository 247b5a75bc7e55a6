"""The child side: build a program's globals, run it, and describe how it ended.

This module runs wherever untrusted code runs - a forked child in process mode,
the caller's thread in inline mode - and imports only the standard library,
RestrictedPython and wrapt (never pydantic, never the parent side). It returns
a *payload*: a plain dict of JSON types that the parent turns into an
:class:`~restricted_exec.result.ExecutionResult`.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType
from typing import Any

from restricted_exec.compiler import (
    CHECK_HOOK,
    PROGRAM_FILENAME,
    VALUE_HOOK,
    hoisted_global_name,
)
from restricted_exec.guards import RunGuards
from restricted_exec.modules import ModuleTable
from restricted_exec.safe_builtins import build_builtins
from restricted_exec.values import UnsupportedValue, encode

__all__ = [
    "ExecutionInterrupted",
    "OutputLimitReached",
    "RunOptions",
    "execute",
]

Payload = dict[str, Any]


class OutputLimitReached(BaseException):
    """Raised into the program when its stdout reaches the output limit."""


class ExecutionInterrupted(BaseException):
    """Raised into the program when inline mode's deadline passes."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What one run needs besides the code and its inputs."""

    modules: frozenset[str]
    preload: tuple[str, ...]
    output_bytes: int
    max_value_items: int = 100_000
    source: str = ""


class _Stdout:
    """The program's one stdout; keeps at most ``limit`` bytes of UTF-8."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.parts: list[str] = []
        self.truncated = False

    def write(self, text: str) -> int:
        if self.truncated:
            raise OutputLimitReached
        size = len(text.encode("utf-8", "surrogatepass"))
        if self.used + size <= self.limit:
            self.parts.append(text)
            self.used += size
            return len(text)
        room = self.limit - self.used
        head = text.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
        self.parts.append(head)
        self.used += len(head.encode("utf-8", "surrogatepass"))
        self.truncated = True
        raise OutputLimitReached

    def flush(self) -> None:
        return None

    def text(self) -> str:
        return "".join(self.parts)


def _make_print(stream: _Stdout) -> Callable[..., None]:
    real_print = print

    def print_(*args: Any, sep: Any = " ", end: Any = "\n", file: Any = None, flush: Any = False) -> None:
        if file is not None:
            raise ValueError("print(file=...) is not supported: programs have one stdout")
        real_print(*args, sep=sep, end=end, file=stream)

    return print_


class _RunState:
    def __init__(self, interrupt: Callable[[], None] | None) -> None:
        self.value: Any = None
        self.interrupt = interrupt

    def capture_value(self, value: Any) -> None:
        self.value = value

    def check(self) -> None:
        if self.interrupt is not None:
            self.interrupt()


def build_globals(
    hoisted: tuple[tuple[str, str], ...],
    inputs: dict[str, Any],
    options: RunOptions,
    stream: _Stdout,
    state: _RunState,
) -> dict[str, Any]:
    """The globals dict of one run: hooks, builtins, preloaded proxies, inputs."""
    program_globals: dict[str, Any] = {"__name__": "__main__"}
    guards = RunGuards(program_globals)
    table = ModuleTable(options.modules)
    program_globals["__builtins__"] = build_builtins(
        {
            "getattr": guards.safe_getattr,
            "hasattr": guards.safe_hasattr,
            "setattr": guards.safe_setattr,
            "delattr": guards.safe_delattr,
            "print": _make_print(stream),
            "__import__": table.import_hook(),
        }
    )
    program_globals.update(guards.hooks())
    program_globals[VALUE_HOOK] = state.capture_value
    program_globals[CHECK_HOOK] = state.check
    for name in options.preload:
        program_globals[name] = table.get(name)
    for module, attribute in hoisted:
        program_globals[hoisted_global_name(module, attribute)] = getattr(
            table.get(module), attribute
        )
    program_globals.update(inputs)
    return program_globals


def execute(
    code: CodeType,
    hoisted: tuple[tuple[str, str], ...],
    inputs: dict[str, Any],
    options: RunOptions,
    *,
    interrupt: Callable[[], None] | None = None,
) -> Payload:
    """Run a compiled program once and describe how it ended.

    Args:
        code: a code object made by :func:`restricted_exec.compiler.compile_source`.
        hoisted: the compile outcome's hoisted ``(module, attribute)`` reads.
        inputs: decoded input values, bound as globals.
        options: modules, preloads and limits of the run.
        interrupt: inline mode's deadline check, called at the start of every
            ``except`` block so that a handler cannot swallow the timeout.

    Returns:
        The payload dict (JSON types only). Never raises for anything the
        program does, except ExecutionInterrupted, which the inline runner owns.
    """
    stream = _Stdout(options.output_bytes)
    state = _RunState(interrupt)
    try:
        program_globals = build_globals(hoisted, inputs, options, stream, state)
        # Each run computes in a fresh decimal context: a program's
        # getcontext().prec = 5 must not leak into the next run or the host.
        with decimal.localcontext(decimal.Context()):
            exec(code, program_globals)
    except OutputLimitReached:
        return _payload("output_limit", stream, error=_limit_error("output", stream))
    except MemoryError:
        return _payload("memory_limit", stream, error=_memory_error())
    except ExecutionInterrupted:
        raise
    except BaseException as error:  # noqa: BLE001 - every program failure becomes data
        if stream.truncated:
            return _payload("output_limit", stream, error=_limit_error("output", stream))
        return _payload("error", stream, error=describe_exception(error, options.source))
    if stream.truncated:
        return _payload("output_limit", stream, error=_limit_error("output", stream))
    try:
        value = encode(state.value, max_items=options.max_value_items)
    except UnsupportedValue as problem:
        return _payload(
            "error",
            stream,
            error={
                "kind": "value",
                "type": "UnsupportedValue",
                "message": str(problem),
                "line": None,
                "traceback": "",
            },
        )
    except RecursionError:
        return _payload(
            "error",
            stream,
            error={
                "kind": "value",
                "type": "UnsupportedValue",
                "message": "value: nested too deeply to return",
                "line": None,
                "traceback": "",
            },
        )
    return _payload("ok", stream, value=value)


def _payload(status: str, stream: _Stdout, *, value: Any = None, error: Any = None) -> Payload:
    return {
        "status": status,
        "stdout": stream.text(),
        "stdout_truncated": stream.truncated,
        "value": value,
        "error": error,
    }


def _limit_error(kind: str, stream: _Stdout) -> dict[str, Any]:
    return {
        "kind": kind,
        "type": "OutputLimitExceeded",
        "message": f"the program printed more than {stream.limit:,} bytes (output_bytes)",
        "line": None,
        "traceback": "",
    }


def _memory_error() -> dict[str, Any]:
    return {
        "kind": "memory",
        "type": "MemoryError",
        "message": "the program ran out of memory (memory_mb)",
        "line": None,
        "traceback": "",
    }


def describe_exception(error: BaseException, source: str) -> dict[str, Any]:
    """ErrorInfo fields for an exception the program raised, with only its own frames."""
    type_name = type(error).__name__
    try:
        message = str(error)
    except BaseException:  # noqa: BLE001 - a program's __str__ may itself fail
        message = f"<{type_name} whose str() failed>"
    lines = source.splitlines()
    frames: list[tuple[int, str]] = []
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == PROGRAM_FILENAME:
            frames.append((tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    text = ["Traceback (most recent call last):"]
    for line_number, function in frames:
        text.append(f'  File "{PROGRAM_FILENAME}", line {line_number}, in {function}')
        if 0 < line_number <= len(lines):
            text.append(f"    {lines[line_number - 1].strip()}")
    text.append(f"{type_name}: {message}" if message else type_name)
    return {
        "kind": "exception",
        "type": type_name,
        "message": message,
        "line": frames[-1][0] if frames else None,
        "traceback": "\n".join(text),
    }
