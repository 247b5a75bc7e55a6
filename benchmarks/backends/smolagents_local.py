"""smolagents ``LocalPythonExecutor``: an AST interpreter in the caller's process.

One executor per thread, reused across runs (as an agent does); its state persists between
runs. Its timeout is a thread-pool wait inside a ``with ThreadPoolExecutor`` block, whose exit
waits for the program: the caller only gets its TimeoutError once the program stops by itself
(for ``while True``, at smolagents' 1M-iteration while-loop cap, seconds later).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from benchmarks.backends import CATALOGUE
from benchmarks.core import Outcome

NAME = "smolagents LocalPythonExecutor"
KIND = "in-process"
LIMITS = frozenset({"time"})
CONCURRENT = True
NOTES = "AST interpreter, executor reused per thread; timeout waits for the program to stop"

_local = threading.local()
_DUE_TO = re.compile(r"due to: ([A-Za-z_][\w.]*)(?::|$)")


def available() -> str | None:
    try:
        import smolagents.local_python_executor  # noqa: F401
    except ImportError:
        return "smolagents is not installed (pip install smolagents)"
    return None


def _executor(timeout_s: float) -> Any:
    from smolagents.local_python_executor import LocalPythonExecutor

    cache: dict[float, Any] | None = getattr(_local, "executors", None)
    if cache is None:
        cache = _local.executors = {}
    executor = cache.get(timeout_s)
    if executor is None:
        executor = LocalPythonExecutor(
            additional_authorized_imports=list(CATALOGUE),
            max_print_outputs_length=1_000_000,
            timeout_seconds=timeout_s,  # type: ignore[arg-type]  # float works: future.result
        )
        executor.send_tools({})
        cache[timeout_s] = executor
    return executor


def run(source: str, *, timeout_s: float, memory_mb: int) -> Outcome:
    from smolagents.local_python_executor import ExecutionTimeoutError, InterpreterError

    executor = _executor(timeout_s)
    try:
        output = executor(source)
    except ExecutionTimeoutError:
        return Outcome.failure("", "ExecutionTimeoutError", "timeout")
    except InterpreterError as error:
        logs = str(executor.state.get("_print_outputs", ""))
        match = _DUE_TO.search(str(error))
        if match:
            return Outcome.failure(logs, match.group(1).rsplit(".", 1)[-1])
        return Outcome.failure(logs, f"InterpreterError: {str(error)[:120]}", "unsupported")
    except Exception as error:
        return Outcome.failure("", f"{type(error).__name__}: {str(error)[:120]}", "crash")
    return Outcome.success(str(output.logs))
