"""A run's host functions on the host's side: each call the program makes, checked and answered.

A call arrives as bytes a child wrote (process mode) or the program's own thread encoded
(inline mode): the function's name and its arguments as tagged JSON. Nothing of it is trusted:
its size, its JSON and its values are checked as a child's reply is (``host/reply``), and the
name must be one the caller registered for this run. The function gets plain data (fresh
copies: the value codec) and its result goes back the same way, so a host function never holds
a program object and a program never holds a host object.

The function runs on a worker thread (``host/call_workers``), which sends the reply itself;
the caller's thread goes back to waiting for the child with the run's deadline, so a function
that hangs cannot hold the run past its ``timeout_s``. ``async def`` functions run on the
caller's event loop under ``run_async`` (``asyncio.run`` on the worker otherwise).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import inspect
import keyword
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from restricted_exec.child.executor import ERROR_MESSAGE_BYTES, ERROR_TYPE_BYTES
from restricted_exec.child.protocol import encode_call_reply
from restricted_exec.errors import InputError
from restricted_exec.host.call_workers import CallWorkers
from restricted_exec.host.reply import MalformedReply, read_child_json
from restricted_exec.isolation.channel import Deadline, ProtocolError
from restricted_exec.language.catalogue import CATALOGUE
from restricted_exec.language.safe_builtins import build_builtins
from restricted_exec.language.text import capped, exact
from restricted_exec.language.values import UnsupportedValue, decode, encode
from restricted_exec.policy import Policy

__all__ = [
    "CALL_ENVELOPE_BYTES",
    "HostCallLimitExceeded",
    "HostFunction",
    "RunHostCalls",
    "checked_functions",
]

HostFunction = Callable[..., Any]

CALL_ENVELOPE_BYTES = 1024
"""Room in a call's body for its name and JSON around the arguments."""

# Names a program already has: its builtins (those the run adds included) and the modules it may
# import or finds preloaded.
_RESERVED_NAMES = (
    frozenset(build_builtins({}))
    | {"print", "getattr", "hasattr", "setattr", "delattr"}
    | frozenset(CATALOGUE)
)
# An exception's arguments cross as data when they are small (most are one message).
_EXCEPTION_ARGUMENT_ITEMS = 1_000


class HostCallLimitExceeded(Exception):
    """The program called host functions more than ``max_host_calls`` times; the run was
    stopped."""


def checked_functions(
    functions: Mapping[str, HostFunction] | None, inputs: Mapping[str, Any] | None
) -> dict[str, HostFunction]:
    """The host functions of a run, each name a public identifier that names nothing else
    the program has (an input, a builtin); raises InputError otherwise."""
    if not functions:
        return {}
    if not isinstance(functions, Mapping):
        raise InputError("functions must be a mapping of names to callables")
    checked: dict[str, HostFunction] = {}
    for name, function in functions.items():
        if not (type(name) is str and name.isidentifier() and not keyword.iskeyword(name)):
            raise InputError(f"host function name {name!r} is not an identifier")
        if name.startswith("_"):
            raise InputError(f"host function name {name!r} is private (starts with _)")
        if name in _RESERVED_NAMES or (inputs and name in inputs):
            raise InputError(f"host function name {name!r} is also a builtin, a module or an input")
        if not callable(function):
            raise InputError(f"host function {name!r} is not callable")
        checked[name] = function
    return checked


class RunHostCalls:
    """The host functions of one run, answering its calls (``isolation.channel.HostCalls``)."""

    def __init__(
        self,
        functions: Mapping[str, HostFunction],
        policy: Policy,
        workers: CallWorkers,
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self._functions = dict(functions)
        self._policy = policy
        self._workers = workers
        self._loop = loop
        # The caller's context: the functions see the caller's context variables.
        self._context = contextvars.copy_context()
        self._pending: set[concurrent.futures.Future[Any]] = set()
        self.max_call_bytes = policy.host_call_bytes + CALL_ENVELOPE_BYTES
        self.calls = 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._functions)

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on one of the Sandbox's worker threads."""
        self._workers.submit(job)

    def reply_to(self, body: bytes) -> bytes:
        """Check one call and run it in this thread (process mode: the run's conversation
        thread, see isolation/conversation.exchange); the reply's bytes. Raises
        HostCallLimitExceeded past ``max_host_calls`` and ProtocolError for a call no honest
        child makes, and calls nothing then."""
        return self._checked(body)()

    def answer(self, body: bytes, deadline: float) -> bytes:
        """Inline mode's form, in the program's own thread: check the call here, run the
        function on a worker, and wait for its reply until ``deadline`` (Deadline past it)."""
        call = self._checked(body)
        replied: list[bytes] = []
        done = threading.Event()

        def job() -> None:
            replied.append(call())
            done.set()

        self._workers.submit(job)
        if not done.wait(max(0.0, deadline - time.monotonic())):
            raise Deadline
        return replied[0]

    def end(self) -> None:
        """The run is over: cancel the coroutines still running on the caller's loop (a sync
        function still running on its worker finishes there, and its reply is dropped)."""
        for future in list(self._pending):
            future.cancel()

    def _checked(self, body: bytes) -> Callable[[], bytes]:
        """Count and check one call; what runs it and makes the reply's bytes (never raises)."""
        self.calls += 1
        if self.calls > self._policy.max_host_calls:
            raise HostCallLimitExceeded(
                f"the program called host functions more than {self._policy.max_host_calls:,} "
                "times (max_host_calls)"
            )
        if len(body) > self.max_call_bytes:
            raise ProtocolError(f"a host call of {len(body):,} bytes (host_call_bytes)")
        name, args, kwargs = self._read(body)
        function = self._functions[name]
        if self._loop is not None and inspect.iscoroutinefunction(function):
            loop = self._loop

            def on_the_loop() -> Any:
                future = asyncio.run_coroutine_threadsafe(function(*args, **kwargs), loop)
                self._pending.add(future)
                try:
                    return future.result()
                finally:
                    self._pending.discard(future)

            return lambda: self._reply(name, on_the_loop)
        context = self._context.copy()
        return lambda: self._reply(
            name, lambda: context.run(_to_completion, function, args, kwargs)
        )

    def _reply(self, name: str, call: Callable[[], Any]) -> bytes:
        """The reply's bytes for one call; never raises (this runs on a worker or the loop)."""
        try:
            value = call()
        except Exception as problem:
            return self._exception_reply(problem)
        try:
            reply = encode_call_reply(encode(value, max_items=self._policy.max_value_items))
        except UnsupportedValue as problem:
            return _error_reply("TypeError", f"{name}() returned what is not plain data: {problem}")
        except Exception as problem:  # a value whose conversion failed: ours to describe
            return _error_reply("TypeError", f"{name}() returned what cannot be sent: {problem}")
        if len(reply) > self.max_call_bytes:
            return _error_reply(
                "ValueError",
                f"{name}() returned {len(reply):,} bytes of JSON; at most "
                f"{self._policy.host_call_bytes:,} may be returned (host_call_bytes)",
            )
        return reply

    def _exception_reply(self, problem: Exception) -> bytes:
        """The reply for a function that raised: its type's name, its arguments as data (the
        program's exception is made from them, so ``str()`` of it reads as CPython's would),
        or, if they are not data, its message."""
        arguments: Any = None
        with contextlib.suppress(Exception):
            arguments = encode(list(problem.args), max_items=_EXCEPTION_ARGUMENT_ITEMS)
        try:
            message = str(problem)
        except Exception:
            message = f"<{type(problem).__name__} whose str() failed>"
        reply = _error_reply(type(problem).__name__, message, arguments)
        if arguments is not None and len(reply) > self.max_call_bytes:
            reply = _error_reply(type(problem).__name__, message, None)
        return reply

    def _read(self, body: bytes) -> tuple[str, list[Any], dict[str, Any]]:
        items = self._policy.max_value_items
        try:
            call = read_child_json(body, max_items=items)
            if type(call) is not dict or call.keys() != {"name", "call"}:
                raise MalformedReply("not an object with exactly a name and a call")
            name = call["name"]
            if type(name) is not str or name not in self._functions:
                raise MalformedReply("a call of a function this run does not have")
            arguments = decode(call["call"], max_items=items)
        except (MalformedReply, UnsupportedValue) as problem:
            raise ProtocolError(f"a malformed host call: {problem}") from None
        if not (
            type(arguments) is list
            and len(arguments) == 2
            and type(arguments[0]) is list
            and type(arguments[1]) is dict
            and all(type(key) is str for key in arguments[1])
        ):
            raise ProtocolError("a malformed host call: not [arguments, keyword arguments]")
        return name, arguments[0], arguments[1]


def _to_completion(function: HostFunction, args: list[Any], kwargs: dict[str, Any]) -> Any:
    result = function(*args, **kwargs)
    if inspect.isawaitable(result):
        return asyncio.run(_awaited(result))
    return result


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _error_reply(type_name: str, message: str, arguments: Any = None) -> bytes:
    return encode_call_reply(
        error=(
            capped(exact(type_name), ERROR_TYPE_BYTES)[0],
            capped(exact(message), ERROR_MESSAGE_BYTES)[0],
            arguments,
        )
    )
