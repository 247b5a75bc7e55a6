"""The child side: build a program's globals, run it, and describe how it ended.

This module runs wherever untrusted code runs - a forked child in process mode,
the caller's thread in inline mode - and imports only the standard library,
RestrictedPython and wrapt (never pydantic, never the parent side). It returns
a *payload*: a plain dict of JSON types that the parent turns into an
:class:`~restricted_exec.result.ExecutionResult`.
"""

from __future__ import annotations

# Every import is at module level: in process mode the child runs with no file
# access (Landlock), so nothing may be imported lazily after warm-up.
import contextlib
import contextvars
import decimal
import dis
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder as _c_make_encoder,
)
from json.encoder import (
    encode_basestring as _c_encode_basestring,
)
from types import CodeType
from typing import Any, Protocol

from restricted_exec.child.protocol import (
    DecodedProgram,
    ErrorFields,
    ErrorKind,
    HostCaller,
    HostCallFailed,
    Outlet,
    RunOptions,
    RunReport,
    Status,
    decode_inputs,
    decode_program,
    encode_program,
    read_call_reply,
)
from restricted_exec.language.catalogue import DEFAULT_MODULES, DEFAULT_PRELOAD
from restricted_exec.language.class_building import clear_shared_caches
from restricted_exec.language.compiler import (
    CHECK_HOOK,
    OUTSIDE_HOOK,
    PROGRAM_FILENAME,
    RUN_HOOK,
    VALUE_HOOK,
    hoisted_global_name,
)
from restricted_exec.language.guards import (
    DETERMINISTIC_RUN,
    PROGRAM_RUNNING,
    RunGuards,
    refuse_outside_its_run,
)
from restricted_exec.language.modules import ModuleTable
from restricted_exec.language.safe_builtins import build_builtins
from restricted_exec.language.text import capped, encodable, exact, exception_text
from restricted_exec.language.values import UnsupportedValue, decode, encode

__all__ = [
    "ERROR_MESSAGE_BYTES",
    "ERROR_TRACEBACK_BYTES",
    "ERROR_TYPE_BYTES",
    "MAX_VALUE_BYTES",
    "BaseGlobals",
    "ExecutionInterrupted",
    "InlineNamespace",
    "OutputLimitReached",
    "Prepared",
    "RunOptions",
    "discard",
    "ending",
    "error_info",
    "execute",
    "new_stdout",
    "prepare",
    "prepare_base",
    "prepare_to_share",
    "program_part",
    "run_prepared",
    "run_request",
    "run_session",
    "unsent_output",
    "warm_child",
    "warm_up",
]

Payload = RunReport

MAX_VALUE_BYTES = 8 * 1024 * 1024
"""The largest final value (as JSON) a child may send back; larger is an error."""

# Caps on the text that describes how a run failed. They are fixed, not tied to
# output_bytes: a run with output_bytes=0 must still say why it failed, and an
# exception message must not carry more than this past output_bytes either. Each
# cut ends with a note saying how much was cut (restricted_exec.language.text.capped).
# Even if every byte were JSON-escaped sixfold, the three fit in the 64 KiB the
# host allows a reply on top of stdout and value.
ERROR_MESSAGE_BYTES = 2048
"""Most bytes of UTF-8 kept of an error's message."""
ERROR_TRACEBACK_BYTES = 6144
"""Most bytes of UTF-8 kept of an error's traceback (its newest frames are kept)."""
ERROR_TYPE_BYTES = 128
"""Most bytes of UTF-8 kept of an error's type name (a program names its own classes)."""
_SOURCE_LINE_BYTES = 512  # one traceback line's source text, cut with a note beyond this
_REPEATED_FRAMES_SHOWN = 3  # CPython's traceback shows this many equal frames, then a count
_RAISE_OPCODE = dis.opmap["RAISE_VARARGS"]


class OutputLimitReached(BaseException):
    """Raised into the program when its stdout reaches the output limit."""


class ExecutionInterrupted(BaseException):
    """Raised into the program when inline mode's deadline passes."""


class _Stdout:
    """The program's one stdout; keeps at most ``limit`` bytes of UTF-8.

    Text is made encodable as it is written (a lone surrogate becomes ``\\udXXX``,
    see restricted_exec.language.text), so the limit counts the bytes the caller gets.

    What an outlet was sent while the run went on (``send_unsent``) is not in ``text()``, the
    reply's part. ``send_unsent`` may run from a signal handler between any two bytecodes of
    ``write``: it only reads ``parts`` up to its current length and moves ``sent``, and
    ``write`` only appends, so no text is sent twice or lost."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.parts: list[str] = []
        self.sent = 0  # parts[:sent] went to the outlet
        self.truncated = False
        self.after_print: Callable[[], None] | None = None

    def write(self, text: str) -> int:
        if self.truncated:
            raise OutputLimitReached
        text = exact(text)  # print hands on what __str__ returned: maybe a str subclass
        written = len(text)
        try:
            encoded = text.encode("utf-8")
        except UnicodeEncodeError:
            text = encodable(text)
            encoded = text.encode("utf-8")
        size = len(encoded)
        if self.used + size <= self.limit:
            self.parts.append(text)
            self.used += size
            return written
        room = self.limit - self.used
        head = encoded[:room].decode("utf-8", "ignore")
        self.parts.append(head)
        self.used += len(head.encode("utf-8"))
        self.truncated = True
        raise OutputLimitReached

    def flush(self) -> None:
        return None

    def reset(self, limit: int) -> None:
        """Empty, for a session's next run."""
        self.limit = limit
        self.used = 0
        self.parts = []
        self.sent = 0
        self.truncated = False

    def send_unsent(self, outlet: Outlet) -> None:
        end = len(self.parts)
        start = self.sent
        if end > start:
            self.sent = end
            outlet.send("".join(self.parts[start:end]))

    def text(self) -> str:
        """What no outlet was sent: the reply's stdout."""
        return "".join(self.parts[self.sent :])


def _make_print(stream: _Stdout) -> Callable[..., None]:
    real_print = print

    def print_(
        *args: Any, sep: Any = " ", end: Any = "\n", file: Any = None, flush: Any = False
    ) -> None:
        if file is not None:
            raise ValueError("print(file=...) is not supported: programs have one stdout")
        real_print(*args, sep=sep, end=end, file=stream)
        after_print = stream.after_print
        if after_print is not None:
            after_print()

    return print_


class _Presence:
    """What every function of a program checks first (compiler.RUN_HOOK): ``on``, or whether
    the instance dict is non-empty, both true exactly while the run is on. A plain object in
    a child, whose one thread runs only this program."""

    on = False  # the instance attribute exists only while the run is on

    def begin(self) -> None:
        self.on = True

    def end(self) -> None:
        self.__dict__.clear()

    def is_on(self) -> bool:
        return bool(self.__dict__)


class _ThreadPresence(_Presence, threading.local):
    """An inline run's presence: the instance dict is per thread, so the run is on only in the
    run's own thread. The caller's process has other threads (other runs, the host), and a
    process-wide cache can hand them the program's objects (typing's parameter caches called
    a key's ``__eq__`` with another caller's argument): there none of its functions runs."""


class _RunState:
    """One run's state."""

    def __init__(
        self,
        interrupt: Callable[[], None] | None,
        *,
        thread_bound: bool = False,
        memory_limited: bool = True,
    ):
        self.value: Any = None
        self.interrupt = interrupt
        self.presence: _Presence = _ThreadPresence() if thread_bound else _Presence()
        # Whether a failed allocation may be the run's memory limit (a child's RLIMIT_AS).
        # Inline runs have none: a MemoryError there is CPython's own, as for a 10**12-item
        # tuple, and the program's error.
        self.memory_limited = memory_limited
        # The decimal context the program computed in (a session's next run starts from it).
        self.decimal_context: decimal.Context | None = None

    def capture_value(self, value: Any) -> None:
        self.value = value

    def check(self) -> None:
        if not self.presence.is_on():
            # A generator the program left suspended is finalised whenever the garbage
            # collector gets to it, in whatever thread: its `finally` (and `except`) blocks
            # start here, and must not run the program's code after its run is over.
            raise ExecutionInterrupted("the program's run has ended")
        if self.interrupt is not None:
            self.interrupt()


def build_globals(
    hoisted: tuple[tuple[str, str], ...],
    inputs: dict[str, Any],
    options: RunOptions,
    stream: _Stdout,
    state: _RunState,
    table: ModuleTable | None = None,
) -> dict[str, Any]:
    """The globals dict of one run: hooks, builtins, preloaded proxies, hoisted reads, inputs.

    ``table`` is the run's module table (made here if not given); its proxies end up in the
    globals and behind the program's ``__import__``."""
    if table is None:
        table = ModuleTable(options.modules, deterministic=options.deterministic)
    program_globals = _program_independent_globals(options, stream, state, table)
    _bind_hoisted(program_globals, hoisted, table)
    program_globals.update(inputs)
    return program_globals


def _program_independent_globals(
    options: RunOptions, stream: _Stdout, state: _RunState, table: ModuleTable
) -> dict[str, Any]:
    """The part of a run's globals that depends on its options, not on its program."""
    program_globals: dict[str, Any] = {"__name__": "__main__"}
    guards = RunGuards(program_globals, state.check, (ExecutionInterrupted, OutputLimitReached))
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
    program_globals[RUN_HOOK] = state.presence
    program_globals[OUTSIDE_HOOK] = refuse_outside_its_run
    for name in options.preload:
        program_globals[name] = table.get(name)
    return program_globals


def _bind_hoisted(
    program_globals: dict[str, Any], hoisted: tuple[tuple[str, str], ...], table: ModuleTable
) -> None:
    for module, attribute in hoisted:
        program_globals[hoisted_global_name(module, attribute)] = getattr(
            table.get(module), attribute
        )


def execute(
    code: CodeType,
    hoisted: tuple[tuple[str, str], ...],
    inputs: dict[str, Any],
    options: RunOptions,
    *,
    interrupt: Callable[[], None] | None = None,
    outlet: Outlet | None = None,
    stream: _Stdout | None = None,
    functions: tuple[str, ...] = (),
    caller: HostCaller | None = None,
    namespace: InlineNamespace | None = None,
) -> Payload:
    """Run a compiled program once and describe how it ended.

    Args:
        code: a code object made by :func:`restricted_exec.language.compiler.compile_source`.
        hoisted: the compile outcome's hoisted ``(module, attribute)`` reads.
        inputs: decoded input values, bound as globals.
        options: modules, preloads and limits of the run.
        interrupt: inline mode's deadline check, called at the start of every
            ``except`` block so that a handler cannot swallow the timeout.
        outlet: where output goes while the run goes on (see Outlet).
        stream: the run's stdout, made with ``new_stdout``: the caller keeps what was
            printed when the run is interrupted.
        functions: names of host functions the program may call, through ``caller``.
        namespace: an inline session's; the run goes on in the globals its earlier runs left
            (``stream`` is used only when the first run builds them).

    Returns:
        The payload dict (JSON types only). Never raises for anything the
        program does, except ExecutionInterrupted, which the inline runner owns.
    """
    if namespace is not None:
        return _execute_in(
            namespace, code, hoisted, inputs, options, interrupt, outlet, stream, functions, caller
        )
    if stream is None:
        stream = _Stdout(options.output_bytes)
    state = _RunState(interrupt, thread_bound=True, memory_limited=False)

    def make_globals() -> dict[str, Any]:
        program_globals = build_globals(hoisted, inputs, options, stream, state)
        if functions and caller is not None:
            _bind_host_functions(program_globals, functions, caller, options, stream, outlet, state)
        return program_globals

    return _run(code, options, stream, state, make_globals, outlet)


class InlineNamespace:
    """An inline session's namespace: the globals its runs share (built on its first run),
    with the stdout, run state and module table they are bound to."""

    __slots__ = ("base_names", "program_globals", "state", "stream", "table")

    def __init__(self) -> None:
        self.program_globals: dict[str, Any] | None = None
        self.stream: _Stdout | None = None
        self.state: _RunState | None = None
        self.table: ModuleTable | None = None
        self.base_names: frozenset[str] = frozenset()


def _execute_in(
    namespace: InlineNamespace,
    code: CodeType,
    hoisted: tuple[tuple[str, str], ...],
    inputs: dict[str, Any],
    options: RunOptions,
    interrupt: Callable[[], None] | None,
    outlet: Outlet | None,
    stream: _Stdout | None,
    functions: tuple[str, ...],
    caller: HostCaller | None,
) -> Payload:
    """``execute`` for an inline session: a run in the namespace its earlier runs left, whose
    payload also holds ``state`` (as ``run_session``'s)."""
    if namespace.program_globals is None:
        namespace.stream = stream if stream is not None else _Stdout(options.output_bytes)
        namespace.state = _RunState(interrupt, thread_bound=True, memory_limited=False)
        namespace.table = ModuleTable(options.modules, deterministic=options.deterministic)
        namespace.program_globals = _program_independent_globals(
            options, namespace.stream, namespace.state, namespace.table
        )
        namespace.base_names = frozenset(namespace.program_globals)
    program_globals, run_stream, state = (
        namespace.program_globals,
        namespace.stream,
        namespace.state,
    )
    assert run_stream is not None and state is not None and namespace.table is not None
    run_stream.reset(options.output_bytes)
    state.value = None
    state.interrupt = interrupt
    _bind_hoisted(program_globals, hoisted, namespace.table)

    def make_globals() -> dict[str, Any]:
        program_globals.update(inputs)
        if functions and caller is not None:
            _bind_host_functions(
                program_globals, functions, caller, options, run_stream, outlet, state
            )
        return program_globals

    payload = _run(code, options, run_stream, state, make_globals, outlet)
    payload["state"] = _snapshot(
        program_globals, namespace.base_names, frozenset(functions), options
    )
    return payload


def new_stdout(output_bytes: int) -> _Stdout:
    """A run's stdout, for a caller of ``execute`` that needs what was printed even if the
    run is interrupted (``unsent_output``)."""
    return _Stdout(output_bytes)


def unsent_output(stream: _Stdout) -> tuple[str, bool]:
    """What ``stream`` holds that no outlet was sent, and whether it was cut at its limit."""
    return stream.text(), stream.truncated


def _run(
    code: CodeType,
    options: RunOptions,
    stream: _Stdout,
    state: _RunState,
    make_globals: Callable[[], dict[str, Any]],
    outlet: Outlet | None = None,
) -> Payload:
    # Set for the program's thread only, and reset however the run ends, so an
    # inline run cannot leave the caller's thread deterministic (or not).
    token = DETERMINISTIC_RUN.set(options.deterministic)
    running = PROGRAM_RUNNING.set(True)
    state.presence.begin()
    try:
        return _execute(code, options, stream, state, make_globals, outlet)
    finally:
        state.presence.end()
        PROGRAM_RUNNING.reset(running)
        DETERMINISTIC_RUN.reset(token)


def _execute(
    code: CodeType,
    options: RunOptions,
    stream: _Stdout,
    state: _RunState,
    make_globals: Callable[[], dict[str, Any]],
    outlet: Outlet | None,
) -> Payload:
    try:
        program_globals = make_globals()
        # Each run computes in a fresh decimal context: a program's
        # getcontext().prec = 5 must not leak into the next run or the host. (A session's runs
        # go on in the context its last run left, as one namespace's cells would.)
        with decimal.localcontext(state.decimal_context or decimal.Context()) as active:
            state.decimal_context = active
            if outlet is None:
                exec(code, program_globals)
            else:
                _exec_with_outlet(code, program_globals, stream, outlet)
    except OutputLimitReached:
        return _payload("output_limit", stream, error=_limit_error("output", stream))
    except ExecutionInterrupted:
        raise
    except BaseException as error:
        if stream.truncated:
            return _payload("output_limit", stream, error=_limit_error("output", stream))
        if (
            isinstance(error, MemoryError)
            and state.memory_limited
            and not _raised_by_program(error)
        ):
            return _payload("memory_limit", stream, error=_memory_error())
        return _payload("error", stream, error=describe_exception(error, options.source))
    if stream.truncated:
        return _payload("output_limit", stream, error=_limit_error("output", stream))
    try:
        value = encode(state.value, max_items=options.max_value_items)
    except UnsupportedValue as problem:
        return _payload(
            "error", stream, error=error_info("value", "UnsupportedValue", str(problem))
        )
    except RecursionError:
        return _payload(
            "error",
            stream,
            error=error_info("value", "UnsupportedValue", "value: nested too deeply to return"),
        )
    except MemoryError:
        return _payload("memory_limit", stream, error=_memory_error())
    except ExecutionInterrupted:
        raise
    except BaseException as problem:
        # ValueError: what CPython itself refuses to turn into text (a Fraction with a part
        # over 4,300 digits, as its repr() would). Anything else is a value whose encoding
        # failed; caught here, inside the run, so nothing of the program's is formatted after.
        return _payload(
            "error",
            stream,
            error=error_info(
                "value", "UnsupportedValue", f"value: cannot be returned: {exception_text(problem)}"
            ),
        )
    return _payload("ok", stream, value=value)


def _exec_with_outlet(
    code: CodeType, program_globals: dict[str, Any], stream: _Stdout, outlet: Outlet
) -> None:
    def flush() -> None:
        stream.send_unsent(outlet)

    stream.after_print = outlet.open(flush)
    try:
        exec(code, program_globals)
    finally:
        # Closed before the reply is built: nothing is sent once text() is read for it.
        stream.after_print = None
        outlet.close()


def _bind_host_functions(
    program_globals: dict[str, Any],
    names: tuple[str, ...],
    caller: HostCaller,
    options: RunOptions,
    stream: _Stdout,
    outlet: Outlet | None,
    state: _RunState,
) -> None:
    raised: dict[str, type[Exception]] = {}
    for name in names:
        program_globals[name] = _host_function(name, caller, options, stream, outlet, state, raised)


def _host_function(
    name: str,
    caller: HostCaller,
    options: RunOptions,
    stream: _Stdout,
    outlet: Outlet | None,
    state: _RunState,
    raised: dict[str, type[Exception]],
) -> Callable[..., Any]:
    """The program's handle on one host function: its arguments go out as data only (the value
    codec), its result or error comes back as data only; the function itself never does."""

    def host_function(*args: Any, **kwargs: Any) -> Any:
        if not state.presence.is_on():
            raise ExecutionInterrupted("the program's run has ended")
        refusal: TypeError | None = None
        try:
            call = encode([list(args), kwargs], max_items=options.max_value_items)
        except UnsupportedValue as problem:
            refusal = TypeError(f"{name}() takes plain data only: {problem}")
        if refusal is not None:
            raise refusal  # outside the except block: no context of ours
        body = _reply_json({"name": name, "call": call}).encode("utf-8", "surrogatepass")
        if len(body) > options.host_call_bytes:
            raise ValueError(
                f"{name}() arguments take {len(body):,} bytes; at most "
                f"{options.host_call_bytes:,} may be sent (host_call_bytes)"
            )
        if outlet is not None:
            stream.send_unsent(outlet)  # what was printed before the call comes first
        try:
            value = read_call_reply(caller.call(body))
        except HostCallFailed as failure:
            raised_by_host = _host_exception(failure, raised, options.max_value_items)
        else:
            return decode(value, max_items=options.max_value_items)
        # Raised outside the except block: the program's exception has no context of ours
        # (``__context__`` would hold the HostCallFailed), as a function's own raise would not.
        raise raised_by_host

    host_function.__name__ = host_function.__qualname__ = name
    host_function.__module__ = "host"
    return host_function


# Host exceptions the program sees as the builtin of the same name (so `except KeyError` works);
# any other type name becomes an Exception subclass of that name.
_BUILTIN_EXCEPTIONS: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in (
        ArithmeticError, AssertionError, AttributeError, ConnectionError, EOFError,
        FileNotFoundError, IndexError, KeyError, LookupError, NotImplementedError, OSError,
        OverflowError, PermissionError, RuntimeError, TimeoutError, TypeError, UnicodeError,
        ValueError, ZeroDivisionError,
    )
}  # fmt: skip


HOST_EXCEPTION_MODULE = "host"
"""The module of the classes the child makes for a host function's exceptions."""


def _host_exception(
    failure: HostCallFailed, raised: dict[str, type[Exception]], max_items: int
) -> Exception:
    name = failure.type_name
    kind = _BUILTIN_EXCEPTIONS.get(name) or raised.get(name)
    if kind is None:
        if not (name.isidentifier() and len(name) <= 100):
            name = "HostFunctionError"
        kind = raised[failure.type_name] = type(
            name, (Exception,), {"__module__": HOST_EXCEPTION_MODULE}
        )
    if failure.arguments is not None:
        try:
            arguments = decode(failure.arguments, max_items=max_items)
            if type(arguments) is list:
                return kind(*arguments)
        except (UnsupportedValue, TypeError):
            pass
    return kind(failure.message)


def _raised_by_program(error: MemoryError) -> bool:
    """True if the program raised this MemoryError itself (``raise MemoryError``), False
    if an allocation failed. A failed allocation raises at the instruction that
    allocated - in the program, in a module, in C - never at a ``raise`` statement
    of the program; the innermost traceback entry says which instruction it was."""
    tb = error.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    if code.co_filename != PROGRAM_FILENAME:
        return False
    offset = tb.tb_lasti
    return 0 <= offset < len(code.co_code) and code.co_code[offset] == _RAISE_OPCODE


def error_info(kind: ErrorKind, type_name: str, message: str) -> ErrorFields:
    """The ErrorInfo fields of an ending that has no line or traceback of its own
    (text made encodable and capped, see ERROR_MESSAGE_BYTES)."""
    return {
        "kind": kind,
        "type": capped(type_name, ERROR_TYPE_BYTES)[0],
        "message": capped(message, ERROR_MESSAGE_BYTES)[0],
        "line": None,
        "traceback": "",
    }


def ending(status: Status, kind: ErrorKind, type_name: str, message: str) -> Payload:
    """The payload of a run that ended without output or value (a limit, a crash)."""
    return {
        "status": status,
        "stdout": "",
        "stdout_truncated": False,
        "value": None,
        "error": error_info(kind, type_name, message),
    }


def _payload(
    status: Status, stream: _Stdout, *, value: Any = None, error: ErrorFields | None = None
) -> Payload:
    return {
        "status": status,
        "stdout": stream.text(),
        "stdout_truncated": stream.truncated,
        "value": value,
        "error": error,
    }


def _limit_error(kind: ErrorKind, stream: _Stdout) -> ErrorFields:
    return error_info(
        kind,
        "OutputLimitExceeded",
        f"the program printed more than {stream.limit:,} bytes (output_bytes)",
    )


def _memory_error() -> ErrorFields:
    return error_info("memory", "MemoryError", "the program ran out of memory (memory_mb)")


def describe_exception(error: BaseException, source: str) -> ErrorFields:
    """ErrorInfo fields for an exception the program raised, with only its own frames.

    The text is made encodable and capped (ERROR_TYPE_BYTES, ERROR_MESSAGE_BYTES,
    ERROR_TRACEBACK_BYTES), each cut saying so; runs of one repeated frame (deep
    recursion) are shown as CPython shows them, three frames and a count."""
    type_name = capped(exact(type(error).__name__), ERROR_TYPE_BYTES)[0]
    try:
        message = exact(str(error))
    except BaseException:
        message = f"<{type_name} whose str() failed>"
    message = capped(message, ERROR_MESSAGE_BYTES)[0]
    frames: list[tuple[int, str]] = []
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == PROGRAM_FILENAME:
            frames.append((tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    shown = _qualified_type_name(type(error), type_name)
    last = f"{shown}: {message}" if message else shown
    return {
        "kind": "exception",
        "type": type_name,
        "message": message,
        "line": frames[-1][0] if frames else None,
        "traceback": _traceback_text(frames, source, last),
    }


def _qualified_type_name(cls: type, type_name: str) -> str:
    """The exception's name as CPython's traceback shows it: its qualified name, with its
    module unless that is builtins or __main__ (``decimal.InvalidOperation``,
    ``json.decoder.JSONDecodeError``, a program's nested ``Account.Overdrawn``).
    restricted_exec's own exceptions (a guard's refusal) and the classes the child makes for
    a host function's exceptions show their bare name: a program never imports them."""
    try:
        module = cls.__dict__.get("__module__")
        qualname = type.__dict__["__qualname__"].__get__(cls)
    except BaseException:
        return type_name
    if type(module) is not str or type(qualname) is not str:
        return type_name
    if module == HOST_EXCEPTION_MODULE or module.split(".")[0] == "restricted_exec":
        return type_name
    shown = qualname if module in ("builtins", "__main__") else f"{module}.{qualname}"
    return capped(exact(shown), ERROR_TYPE_BYTES)[0]


def _traceback_text(frames: list[tuple[int, str]], source: str, last: str) -> str:
    lines = source.splitlines() if frames else []
    entries: list[str] = []
    previous: tuple[int, str] | None = None
    repeats = 0
    for frame in frames:
        if frame == previous:
            repeats += 1
            if repeats >= _REPEATED_FRAMES_SHOWN:
                continue
        else:
            _note_repeats(entries, repeats)
            previous, repeats = frame, 0
        line_number, function = frame
        entry = f'  File "{PROGRAM_FILENAME}", line {line_number}, in {capped(function, 256)[0]}'
        if 0 < line_number <= len(lines):
            entry += f"\n    {capped(lines[line_number - 1].strip(), _SOURCE_LINE_BYTES)[0]}"
        entries.append(encodable(entry))
    _note_repeats(entries, repeats)
    header = "Traceback (most recent call last):"
    # Keep the newest frames: they say where it failed. The last line (type and
    # message, each capped already) always fits.
    budget = ERROR_TRACEBACK_BYTES - len(header) - len(last.encode()) - 128
    kept: list[str] = []
    for entry in reversed(entries):
        budget -= len(entry.encode()) + 1
        if budget < 0:
            break
        kept.append(entry)
    kept.reverse()
    if len(kept) < len(entries):
        omitted = len(entries) - len(kept)
        kept.insert(0, f"  [{omitted:,} older traceback entries truncated]")
    return "\n".join([header, *kept, last])


def _note_repeats(entries: list[str], repeats: int) -> None:
    hidden = repeats - _REPEATED_FRAMES_SHOWN + 1
    if hidden > 0:
        entries.append(f"  [Previous line repeated {hidden} more times]")


# -- process mode: the child's entry points (called by restricted_exec.isolation) --

_WARM_PROGRAM = """
import statistics, random, decimal, fractions, re, json, itertools, functools, collections
import calendar, time, string, heapq, bisect, operator, dataclasses, enum, typing, textwrap, cmath
from dataclasses import dataclass
from enum import Enum
class _Warm(Enum):
    A = 1
@dataclass
class Warm:
    x: int = 1
print(statistics.mean([1, 2]), re.sub(r"\\d", "x", "a1"), json.loads(json.dumps({"a": [1]})))
print(datetime.datetime.strptime("2024-01-02", "%Y-%m-%d"), time.strptime("2024", "%Y"))
print(decimal.Decimal("1.1") + 1, fractions.Fraction(1, 3), calendar.month(2024, 1)[:5])
print("{:>4}".format(1), textwrap.fill("a b", 2), random.random() >= 0)
"""


_warm_outcome: Any = None


# How many times warm_up runs a child's request path (see there for why). 3.11 quickens a
# function after 8 calls and adaptive instructions specialize after a few dozen executions;
# 64 is a measured choice, not a derived one.
CODE_WARM_UP_RUNS = 64


def warm_up() -> None:
    """Import and exercise everything a program may need, before forking.

    In process mode the child has no file access, so lazily imported helpers
    (``_strptime``, ``encodings``, ``re``'s compiler, ...) must already be
    loaded; running one representative program also pre-faults the
    copy-on-write pages a first run would touch.
    """
    # CPython's C code imports these lazily, through the program's __import__ (see
    # modules._INTERNAL_LAZY_IMPORTS): datetime.strptime, huge ints (3.12+; 3.11 has no
    # _pylong), decimal formatting (3.13+).
    import _strptime  # type: ignore[import-not-found]  # noqa: F401

    with contextlib.suppress(ImportError):
        import _pylong  # type: ignore[import-not-found]  # noqa: F401
    if sys.version_info >= (3, 13):
        import _pydecimal  # noqa: F401

    from restricted_exec.language.compiler import CompileSettings, compile_source
    from restricted_exec.language.modules import warm_catalogue

    for encoding in ("utf-8", "latin-1", "ascii", "utf-16", "utf-32", "cp1252", "idna"):
        "warm".encode(encoding)
    global _warm_outcome
    warm_catalogue(DEFAULT_MODULES)
    # Compiled once (in the fork server); each pre-forked child only runs it,
    # which touches the pages a first run would otherwise copy-on-write fault.
    if _warm_outcome is None:
        _warm_outcome = compile_source(
            _WARM_PROGRAM, CompileSettings(DEFAULT_MODULES, DEFAULT_PRELOAD, 1_000_000)
        )
    outcome = _warm_outcome
    if outcome.code is None:
        raise RuntimeError(f"warm-up program refused: {outcome.violations}")
    payload = execute(
        outcome.code, outcome.hoisted, {}, RunOptions(DEFAULT_MODULES, DEFAULT_PRELOAD, 100_000)
    )
    if payload["status"] != "ok":
        raise RuntimeError(f"warm-up program failed: {payload['error']}")
    # CPython writes to a code object while it warms it up: on 3.11 a counter on every call
    # until the function is quickened, then (3.11+) each adaptive instruction's counter until it
    # is specialized. Run a child's request path, both ways its globals are built, often enough
    # for that to finish here: children then inherit finished code objects instead of
    # copy-on-write faulting the pages of every function a run calls.
    for _ in range(CODE_WARM_UP_RUNS):
        warm_child()
        # The child's entry itself, in a context of its own: run_prepared turns the guards
        # on for good in the context it runs in, and this process stays a trusted one.
        contextvars.copy_context().run(
            run_prepared, prepare(_program_of_warm_child(), prepare_base()), b""
        )
        # And a session's path: its first program, then later cells in the same globals
        # (a first def, comprehension and bare expression in a child are otherwise faults).
        contextvars.copy_context().run(_warm_session)


_SESSION_WARM_CELLS = (
    "n = 3",
    "def grow(p, r):\n    return p * (1 + r)",
    "xs = [grow(n, 0.5) for _ in range(n)]\nprint(xs[-1])",
    "xs[-1]",
)


def _warm_session() -> None:
    global _session_warm_cells
    if _session_warm_cells is None:
        from restricted_exec.language.compiler import CompileSettings, compile_source

        parts = []
        for cell in _SESSION_WARM_CELLS:
            outcome = compile_source(
                cell, CompileSettings(DEFAULT_MODULES, DEFAULT_PRELOAD, 1_000_000)
            )
            assert outcome.code is not None
            options = RunOptions(
                DEFAULT_MODULES, DEFAULT_PRELOAD, 1000, max_value_items=1000, source=cell
            )
            parts.append(program_part(outcome.code, outcome.hoisted, options))
        _session_warm_cells = tuple(parts)
    first, *later = _session_warm_cells
    prepared = prepare(first, prepare_base())
    run_session(prepared, None, b"")
    for part in later:
        run_session(prepared, part, b"")


_session_warm_cells: tuple[bytes, ...] | None = None


_CHILD_WARM_PROGRAM = (
    "total = 0\nfor i in range(3):\n    total += math.sqrt(i)\nprint(total)\ntotal"
)


def warm_child(link: ChildLink | None = None) -> None:
    """The cheap warm-up of each pre-forked child: one tiny run through the
    whole request path, so the pages every run touches are copied before the
    request arrives rather than after. (The full warm_up ran in the fork server.)
    ``link``: an outlet of the child's link type that sends nothing, for the run's
    outlet path (``isolation.forked_child``)."""
    run_prepared(prepare(_program_of_warm_child()), b"", link)


def _program_of_warm_child() -> bytes:
    global _child_warm_program
    if _child_warm_program is None:
        from restricted_exec.language.compiler import CompileSettings, compile_source

        outcome = compile_source(
            _CHILD_WARM_PROGRAM, CompileSettings(DEFAULT_MODULES, DEFAULT_PRELOAD, 1_000_000)
        )
        assert outcome.code is not None
        _child_warm_program = program_part(
            outcome.code,
            outcome.hoisted,
            RunOptions(
                DEFAULT_MODULES,
                DEFAULT_PRELOAD,
                output_bytes=1000,
                max_value_items=1000,
                source=_CHILD_WARM_PROGRAM,
            ),
        )
    return _child_warm_program


_child_warm_program: bytes | None = None


@dataclass(slots=True)
class Prepared:
    """A program decoded, with its globals built, waiting for its inputs (see ``prepare``).

    Exactly one of ``restricted`` and ``failure`` is set.
    """

    restricted: tuple[CodeType, RunOptions, _Stdout, _RunState, dict[str, Any]] | None = None
    failure: Payload | None = None
    # False if the globals hold state private to one run (a per-run module's generator):
    # such a Prepared must not be copied into several children (see prepare_to_share).
    shareable: bool = True
    # The run's module table: a session's later programs read their hoisted names from it.
    table: ModuleTable | None = None
    # A session's: the names its globals had before its first program ran (builtins, hooks,
    # preloads), which are not the program's state.
    base_names: frozenset[str] | None = None


def program_part(
    code: CodeType, hoisted: tuple[tuple[str, str], ...], options: RunOptions
) -> bytes:
    """The program part of a process-mode request (restricted_exec.child.protocol) for a compiled
    program and its run options; ``prepare`` reads it back."""
    return encode_program(code, hoisted, options)


@dataclass(slots=True)
class BaseGlobals:
    """The program-independent part of a run's globals for one set of options (see
    ``prepare_base``): what ``prepare`` would otherwise build for every program."""

    modules: frozenset[str]
    preload: tuple[str, ...]
    deterministic: bool
    stream: _Stdout
    state: _RunState
    table: ModuleTable
    program_globals: dict[str, Any]

    def fits(self, options: RunOptions) -> bool:
        return (
            options.modules == self.modules
            and options.preload == self.preload
            and options.deterministic == self.deterministic
        )


def prepare_base() -> BaseGlobals | None:
    """For the fork server: the program-independent globals of a run with the default options
    (every catalogue module, the default preloads, not deterministic: ``Policy()``'s), built
    once. Each child forked afterwards is handed its own copy-on-write copy and gives it to its
    first ``prepare``, which then only adds the program's hoisted reads: a new program's child
    no longer builds builtins, hooks and preloads. None if they would hold per-run state (a
    random generator every child would share)."""
    stream = _Stdout(0)  # the request's output limit is set when a program takes it
    state = _RunState(None)
    table = ModuleTable(DEFAULT_MODULES)
    options = RunOptions(DEFAULT_MODULES, DEFAULT_PRELOAD, output_bytes=0)
    program_globals = _program_independent_globals(options, stream, state, table)
    if table.holds_per_run_state:
        return None
    return BaseGlobals(
        DEFAULT_MODULES, DEFAULT_PRELOAD, False, stream, state, table, program_globals
    )


# The program part ``prepare`` decoded last, and what it decoded to.
_last_decoded: tuple[bytes, DecodedProgram] | None = None


def _decoded(program: bytes) -> DecodedProgram:
    """``decode_program``, remembering the last one: a warm child that serves one Program run
    after run decodes it once. What is kept cannot change: a code object, its options and its
    hoisted names are immutable, and each run builds its functions and globals anew."""
    global _last_decoded
    last = _last_decoded
    if last is not None and last[0] == program:
        return last[1]
    decoded = decode_program(program)
    _last_decoded = (program, decoded)
    return decoded


def prepare(program: bytes, base: BaseGlobals | None = None) -> Prepared:
    """Decode a program part (see restricted_exec.child.protocol) and build its globals.

    Runs nothing of the program, so a child may do it while it waits for the
    run: a pre-forked child sent the program ahead of time pays the decoding
    and the building of its globals before the request, not after. ``base``
    (see ``prepare_base``), if its options are the program's, becomes the
    program's globals: it must be this process's own and unused, and is used
    up. Never raises.
    """
    try:
        decoded = _decoded(program)
        options, hoisted = decoded.options, decoded.hoisted
        if base is not None and base.fits(options):
            stream, state, table = base.stream, base.state, base.table
            stream.limit = options.output_bytes
            program_globals = base.program_globals
            _bind_hoisted(program_globals, hoisted, table)
        else:
            stream = _Stdout(options.output_bytes)
            state = _RunState(None)
            table = ModuleTable(options.modules, deterministic=options.deterministic)
            program_globals = build_globals(hoisted, {}, options, stream, state, table)
    except BaseException as problem:
        return Prepared(failure=_crash(problem))
    return Prepared(
        restricted=(decoded.code, options, stream, state, program_globals),
        shareable=not table.holds_per_run_state,
        table=table,
    )


def prepare_to_share(program: bytes) -> Prepared | None:
    """``prepare`` for the fork server: a Prepared that every child forked afterwards starts
    with, each with its own copy-on-write copy, so that no child decodes the program or builds
    its globals. None if the globals hold per-run state: a random generator seeded once here
    would make every child replay the same draws, so each child prepares such a program itself.
    Like ``prepare``, runs nothing of the program and never raises."""
    prepared = prepare(program)
    return prepared if prepared.shareable else None


class ChildLink(Outlet, HostCaller, Protocol):
    """A child's connection to its host while its run goes on: output and host calls."""


def run_prepared(prepared: Prepared, inputs: bytes, link: ChildLink | None = None) -> bytes:
    """Bind the inputs (see restricted_exec.child.protocol) and run a prepared program
    once; return the JSON payload. Never raises: a malformed request becomes a
    payload with status ``crashed``. The child's entry; ``link`` is its socket's."""
    # The child runs this request and exits (or, a warm child, clears what the run left and
    # waits for the next): its guards stay on from here to its end (fail closed), not only
    # while the program's code is on the stack; whatever of the program still runs afterwards
    # (its objects' methods, reached by the reply) is judged as program code.
    PROGRAM_RUNNING.set(True)
    if prepared.failure is not None:
        payload = prepared.failure
    else:
        assert prepared.restricted is not None
        code, options, stream, state, program_globals = prepared.restricted
        try:
            tagged, functions = decode_inputs(inputs)
            values = decode(tagged)
        except BaseException as problem:
            return _encode_payload(_crash(problem))

        bind_inputs = _binder(program_globals, values, functions, link, options, stream, state)
        try:
            payload = _run(code, options, stream, state, bind_inputs, link)
        except BaseException as problem:
            payload = _crash(problem)
    return _encode_payload(payload)


def _binder(
    program_globals: dict[str, Any],
    values: dict[str, Any],
    functions: tuple[str, ...],
    link: ChildLink | None,
    options: RunOptions,
    stream: _Stdout,
    state: _RunState,
) -> Callable[[], dict[str, Any]]:
    """What binds a request's inputs and host functions into globals built already, when the
    run starts (the same order as build_globals: inputs last, then host functions)."""

    def bind_inputs() -> dict[str, Any]:
        program_globals.update(values)
        if functions and link is not None:
            _bind_host_functions(program_globals, functions, link, options, stream, link, state)
        return program_globals

    return bind_inputs


def discard(prepared: Prepared) -> None:
    """A warm child's, after a run: drop everything the run holds (its globals, output, last
    value and decimal context), and empty the standard library's caches that keep program
    objects as keys, as after an inline run. Its globals may be the fork server's base, frozen
    with it (gc.freeze), whose cycles the collector never walks: clearing them here is what
    frees the objects the program left in them."""
    clear_shared_caches()
    restricted, prepared.restricted = prepared.restricted, None
    prepared.table = None
    if restricted is not None:
        _code, _options, stream, state, program_globals = restricted
        program_globals.clear()
        stream.reset(0)
        state.value = None
        state.decimal_context = None


SESSION_STATE_BYTES = 4 * 1024 * 1024
"""The most JSON a session child's state snapshot may take; names past it are not saved."""


def run_session(
    prepared: Prepared, program: bytes | None, inputs: bytes, link: ChildLink | None = None
) -> bytes:
    """A session child's entry, for each of its runs: the first runs ``prepared`` (``program``
    is None), every later one decodes ``program`` and runs it in the same globals, as cells of
    one namespace. The payload also holds ``state``: the program's plain-data globals (tagged
    JSON) and the names of the others, so the host can carry the session on in a new child if
    this one dies. Never raises."""
    PROGRAM_RUNNING.set(True)
    if prepared.failure is not None:
        return _encode_payload(prepared.failure)
    assert prepared.restricted is not None and prepared.table is not None
    code, options, stream, state, program_globals = prepared.restricted
    try:
        if program is not None:
            decoded = decode_program(program)
            if (decoded.options.modules, decoded.options.preload) != (
                options.modules,
                options.preload,
            ):
                raise ValueError("a session's programs all run under its first one's modules")
            code, options = decoded.code, decoded.options
            prepared.restricted = (code, options, stream, state, program_globals)
            _bind_hoisted(program_globals, decoded.hoisted, prepared.table)
            stream.reset(options.output_bytes)
            state.value = None
        if prepared.base_names is None:
            prepared.base_names = frozenset(program_globals)
        tagged, functions = decode_inputs(inputs)
        values = decode(tagged)
    except BaseException as problem:
        return _encode_payload(_crash(problem))

    bind_inputs = _binder(program_globals, values, functions, link, options, stream, state)
    try:
        payload = _run(code, options, stream, state, bind_inputs, link)
        payload["state"] = _snapshot(
            program_globals, prepared.base_names, frozenset(functions), options
        )
    except BaseException as problem:
        return _encode_payload(_crash(problem))
    return _encode_payload(payload)


def _snapshot(
    program_globals: dict[str, Any],
    base_names: frozenset[str],
    functions: frozenset[str],
    options: RunOptions,
) -> dict[str, Any]:
    """The program's globals as a session carries them over to a new child: plain data as
    tagged JSON, in the order they were bound, up to SESSION_STATE_BYTES; the other names
    listed (functions, classes, modules, instances, and data past the budget)."""
    data: dict[str, Any] = {}
    others: list[str] = []
    budget = SESSION_STATE_BYTES
    for name, value in list(program_globals.items()):
        if name in base_names or name in functions or name.startswith(("_rx", "__")):
            continue
        try:
            tagged = encode(value, max_items=options.max_value_items)
            size = len(_reply_json(tagged))
        except Exception:  # not plain data: its definition may bring it back (host side)
            others.append(name)
            continue
        if size > budget:
            others.append(name)
            continue
        budget -= size
        data[name] = tagged
    return {"data": data, "others": others}


def run_request(program: bytes, inputs: bytes = b"") -> bytes:
    """Prepare and run a program at once (see ``prepare`` and ``run_prepared``)."""
    return run_prepared(prepare(program), inputs)


def _crash(problem: BaseException) -> Payload:
    return {
        "status": "crashed",
        "stdout": "",
        "stdout_truncated": False,
        "value": None,
        "error": error_info(
            "crash",
            exact(type(problem).__name__),
            f"the sandbox could not run the request: {exception_text(problem)}",
        ),
    }


def _reply_json(value: Any) -> str:
    """JSON text of a payload or value, from C functions captured when this module loaded.

    Not ``json.dumps``: its default encoder reads its separators and methods from
    ``json.JSONEncoder``, a class every program can reach, so the child's reply would be
    only as safe as that class's attributes.
    """
    return "".join(_REPLY_ENCODER(value, 0))


def _not_json(value: Any) -> Any:
    raise TypeError(f"a reply holds a {type(value).__name__}")


_REPLY_ENCODER = _c_make_encoder(
    None,  # no cycle check: payloads are trees built by values.encode
    _not_json,
    _c_encode_basestring,
    None,  # no indent
    ":",
    ",",
    False,  # sort_keys
    False,  # skipkeys
    True,  # allow_nan, as json.dumps
)


def _encode_payload(payload: Payload) -> bytes:
    # (A session's payload adds "state"; see run_session.)
    text = _reply_json(payload)
    if payload.get("value") is not None:
        value_size = len(_reply_json(payload["value"]).encode("utf-8", "surrogatepass"))
        if value_size > MAX_VALUE_BYTES:
            payload["status"] = "error"
            payload["value"] = None
            payload["error"] = error_info(
                "value",
                "UnsupportedValue",
                f"value: {value_size:,} bytes of JSON; at most {MAX_VALUE_BYTES:,} may be returned",
            )
            text = _reply_json(payload)
    return text.encode("utf-8", "surrogatepass")
