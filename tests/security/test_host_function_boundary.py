"""Host functions cross the boundary as data only, in both directions.

The program holds a handle on each host function and nothing else of the host: no host object
reaches it through a function's result or exception, no program object reaches a host
function, and the handle opens onto nothing. Every attack runs in process mode (the default);
the hostile-child side (forged HOST_CALL frames, floods, calls during shutdown) is in
test_untrusted_child_replies.py.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from restricted_exec import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(prefork=1) as made:
        yield made


class Recorder:
    def __init__(self, result: Any = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.result = result

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return self.result


@pytest.mark.parametrize(
    "host_object",
    [os, threading.Lock(), print, Recorder, object(), {"key": os}, [1, os.environ]],
    ids=["module", "lock", "builtin", "class", "object", "in-a-dict", "in-a-list"],
)
def test_no_host_object_reaches_the_program_through_a_host_functions_result(
    sandbox: Sandbox, host_object: Any
) -> None:
    result = sandbox.run("leak = get()\nprint('got it')", functions={"get": lambda: host_object})
    assert result.status == "error" and result.error is not None, result
    assert result.error.type == "TypeError" and "plain data" in result.error.message
    assert result.stdout == ""


def test_no_host_object_reaches_the_program_through_a_host_exceptions_arguments(
    sandbox: Sandbox,
) -> None:
    def fail() -> None:
        raise ValueError("lost", os)

    source = (
        "try:\n    fail()\nexcept ValueError as problem:\n"
        "    print([type(part).__name__ for part in problem.args])\n"
        "    print(problem.__cause__, problem.__context__)\n"
    )
    result = sandbox.run(source, functions={"fail": fail})
    assert result.ok, result.error
    # Arguments that are not data become the message alone: one str, no module, no environ.
    assert result.stdout == "['str']\nNone None\n"


def test_a_host_exception_of_a_host_class_reaches_the_program_as_a_fresh_class(
    sandbox: Sandbox,
) -> None:
    class Secret(Exception):
        password = "hunter2"

    def fail() -> None:
        raise Secret("denied")

    source = (
        "try:\n    fail()\nexcept Exception as problem:\n"
        "    print(type(problem).__name__, type(problem).__module__, problem.args)\n"
        "    print(hasattr(problem, 'password'))\n"
    )
    result = sandbox.run(source, functions={"fail": fail})
    assert result.stdout == "Secret host ('denied',)\nFalse\n", result


@pytest.mark.parametrize(
    "argument",
    [
        "Own()",
        "Own",
        "lambda: 1",
        "(i for i in range(3))",
        "math",
        "print",
        "[Own()]",
        "{'k': Own()}",
        "type('x')",
    ],
)
def test_no_program_object_reaches_a_host_function(sandbox: Sandbox, argument: str) -> None:
    recorder = Recorder()
    source = f"class Own:\n    pass\nsend({argument})\n"
    result = sandbox.run(source, functions={"send": recorder})
    assert result.status == "error" and result.error is not None, result
    assert result.error.type == "TypeError" and "plain data" in result.error.message
    assert recorder.calls == []


def test_no_program_object_reaches_a_host_function_as_a_keyword_argument(
    sandbox: Sandbox,
) -> None:
    recorder = Recorder()
    result = sandbox.run("send(x=print)", functions={"send": recorder})
    assert result.status == "error" and recorder.calls == []


def test_a_host_function_gets_exact_builtin_types_not_the_programs_subclasses(
    sandbox: Sandbox,
) -> None:
    recorder = Recorder()
    source = "class Sneaky(str):\n    pass\nsend(Sneaky('x'))\n"
    result = sandbox.run(source, functions={"send": recorder})
    assert result.status == "error" and recorder.calls == []


@pytest.mark.parametrize(
    "reach",
    [
        "get.__globals__",
        "get.__closure__",
        "get.__code__",
        "get.__wrapped__",
        "get.__self__",
        "getattr(get, '__globals__')",
        "get.__defaults__",
    ],
)
def test_a_host_functions_handle_opens_onto_nothing_of_the_host(
    sandbox: Sandbox, reach: str
) -> None:
    result = sandbox.run(f"print({reach})", functions={"get": lambda: 1})
    assert result.status in {"policy_violation", "error"}, result
    assert result.stdout == ""


def test_a_program_sees_only_the_host_functions_its_run_was_given(sandbox: Sandbox) -> None:
    first = sandbox.run("get()", functions={"get": lambda: 1})
    second = sandbox.run("get()")
    assert first.value == 1
    assert second.status == "error" and second.error is not None
    assert second.error.type == "NameError"


def test_a_refused_argument_raises_with_no_exception_of_the_sandbox_as_its_context(
    sandbox: Sandbox,
) -> None:
    source = (
        "try:\n    send(print)\nexcept TypeError as problem:\n"
        "    print(problem.__cause__, problem.__context__)\n"
    )
    result = sandbox.run(source, functions={"send": Recorder()})
    assert result.stdout == "None None\n", result
