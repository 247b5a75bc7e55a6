"""What users call: ``run()``, ``compile_program()``, ``Program`` and ``Sandbox``."""

from __future__ import annotations

import asyncio
import atexit
import keyword
import threading
import time
from collections import OrderedDict
from typing import Any

from restricted_exec.compiler import CompileOutcome, compile_source
from restricted_exec.errors import InputError, SandboxClosedError
from restricted_exec.inline import WATCHDOG
from restricted_exec.policy import Policy
from restricted_exec.result import ErrorInfo, ExecutionResult, Violation
from restricted_exec.runtime import ExecutionInterrupted, RunOptions, execute
from restricted_exec.values import UnsupportedValue, decode, encode

__all__ = ["Program", "Sandbox", "compile_program", "run"]


class Program:
    """A program compiled once under one policy, to run many times.

    Create it with :func:`compile_program` or :meth:`Sandbox.compile_program`.
    A program the compiler refused is still a Program: every run returns the
    same ``syntax_error`` or ``policy_violation`` result.
    """

    def __init__(
        self, source: str, outcome: CompileOutcome, policy: Policy, sandbox: Sandbox
    ) -> None:
        self.source = source
        self.policy = policy
        self._outcome = outcome
        self._sandbox = sandbox

    @property
    def code_sha256(self) -> str:
        """sha256 of the source text."""
        return self._outcome.source_sha256

    @property
    def compiled(self) -> bool:
        """True if the compiler accepted the program."""
        return self._outcome.code is not None

    def run(self, *, inputs: dict[str, Any] | None = None) -> ExecutionResult:
        """Run the program once.

        Args:
            inputs: values bound as the program's globals; plain data only
                (JSON types, Decimal, Fraction, datetime types, tuples, sets).

        Returns:
            An ExecutionResult; never raises for anything the program does.

        Raises:
            InputError: an input is not plain data, or its name is not a valid
                public identifier.
            SandboxClosedError: the sandbox was closed.
        """
        return self._sandbox._run_program(self, inputs)

    async def run_async(self, *, inputs: dict[str, Any] | None = None) -> ExecutionResult:
        """:meth:`run` without blocking the event loop."""
        return await asyncio.to_thread(self.run, inputs=inputs)

    def __repr__(self) -> str:
        return f"<Program sha256={self.code_sha256[:12]} compiled={self.compiled}>"


class Sandbox:
    """Runs programs under a policy; safe to share between threads.

    Args:
        policy: the default policy for runs that do not pass one.
        compile_cache_size: how many compiled programs to keep (LRU).
    """

    def __init__(self, policy: Policy | None = None, *, compile_cache_size: int = 256) -> None:
        self.policy = policy if policy is not None else Policy()
        self._cache: OrderedDict[tuple[str, Any], CompileOutcome] = OrderedDict()
        self._cache_size = compile_cache_size
        self._lock = threading.Lock()
        self._closed = False

    # -- public API ------------------------------------------------------

    def compile_program(self, code: str, *, policy: Policy | None = None) -> Program:
        """Compile ``code`` once; the Program runs it many times."""
        self._ensure_open()
        chosen = policy if policy is not None else self.policy
        return Program(code, self._compile(code, chosen), chosen, self)

    def run(
        self, code: str, *, inputs: dict[str, Any] | None = None, policy: Policy | None = None
    ) -> ExecutionResult:
        """Compile (or reuse the compiled) ``code`` and run it once.

        See :meth:`Program.run` for ``inputs`` and what is raised.
        """
        return self.compile_program(code, policy=policy).run(inputs=inputs)

    async def run_async(
        self, code: str, *, inputs: dict[str, Any] | None = None, policy: Policy | None = None
    ) -> ExecutionResult:
        """:meth:`run` without blocking the event loop."""
        return await asyncio.to_thread(self.run, code, inputs=inputs, policy=policy)

    def close(self) -> None:
        """Stop accepting runs. Idempotent."""
        self._closed = True

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed:
            raise SandboxClosedError("this Sandbox is closed")

    def _compile(self, code: str, policy: Policy) -> CompileOutcome:
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, not {type(code).__name__}")
        settings = policy.compile_settings()
        key = (code, settings)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        outcome = compile_source(code, settings)
        with self._lock:
            self._cache[key] = outcome
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return outcome

    def _run_program(self, program: Program, inputs: dict[str, Any] | None) -> ExecutionResult:
        self._ensure_open()
        started = time.perf_counter()
        policy = program.policy
        outcome = program._outcome
        tagged_inputs = _check_inputs(inputs)
        if outcome.code is None:
            return _refused(outcome, policy, started)
        options = RunOptions(
            modules=policy.modules,
            preload=policy.preload,
            output_bytes=policy.output_bytes,
            max_value_items=policy.max_value_items,
            source=program.source,
        )
        payload = _run_inline(outcome, decode(tagged_inputs), options, policy.timeout_s)
        return _from_payload(payload, outcome, policy, started, isolation="inline")


def _run_inline(
    outcome: CompileOutcome, inputs: dict[str, Any], options: RunOptions, timeout_s: float
) -> dict[str, Any]:
    assert outcome.code is not None
    deadline = WATCHDOG.register(timeout_s)
    try:
        try:
            return execute(outcome.code, outcome.hoisted, inputs, options, interrupt=deadline.check)
        finally:
            WATCHDOG.finish(deadline)
    except ExecutionInterrupted:
        WATCHDOG.finish(deadline)
        return {
            "status": "timeout",
            "stdout": "",
            "stdout_truncated": False,
            "value": None,
            "error": {
                "kind": "timeout",
                "type": "TimeoutError",
                "message": f"the program ran longer than {timeout_s:g} s (timeout_s)",
                "line": None,
                "traceback": "",
            },
            "timeout_kind": "wall",
        }


def _check_inputs(inputs: dict[str, Any] | None) -> dict[str, Any]:
    """Validate inputs and return them as tagged JSON (a deep copy by construction)."""
    if inputs is None:
        return {}
    if type(inputs) is not dict:
        raise InputError(f"inputs must be a dict, not {type(inputs).__name__}")
    for name in inputs:
        if type(name) is not str or not name.isidentifier() or keyword.iskeyword(name):
            raise InputError(f"input name {name!r} is not a valid Python identifier")
        if name.startswith("_"):
            raise InputError(f"input name {name!r} may not start with '_'")
    try:
        tagged = encode(inputs)
    except UnsupportedValue as problem:
        raise InputError(f"inputs are not plain data: {problem}") from None
    except RecursionError:
        raise InputError("inputs are nested too deeply") from None
    assert isinstance(tagged, dict)
    return tagged


def _refused(outcome: CompileOutcome, policy: Policy, started: float) -> ExecutionResult:
    violations = tuple(
        Violation(line=v.line, column=v.column, message=v.message) for v in outcome.violations
    )
    first = violations[0] if violations else Violation(line=None, column=None, message="refused")
    syntax = outcome.kind == "syntax_error"
    message = (
        first.message
        if len(violations) == 1
        else "; ".join(f"line {v.line}: {v.message}" if v.line else v.message for v in violations)
    )
    return ExecutionResult(
        status="syntax_error" if syntax else "policy_violation",
        error=ErrorInfo(
            kind="syntax" if syntax else "policy",
            type="SyntaxError" if syntax else "PolicyViolation",
            message=message,
            line=first.line,
            violations=violations,
        ),
        duration_ms=(time.perf_counter() - started) * 1000,
        code_sha256=outcome.source_sha256,
        isolation=policy.isolation,
    )


def _from_payload(
    payload: dict[str, Any],
    outcome: CompileOutcome,
    policy: Policy,
    started: float,
    *,
    isolation: str,
    extra: dict[str, Any] | None = None,
) -> ExecutionResult:
    error = payload.get("error")
    fields: dict[str, Any] = {
        "status": payload["status"],
        "stdout": payload.get("stdout", ""),
        "stdout_truncated": payload.get("stdout_truncated", False),
        "value": decode(payload.get("value")),
        "error": ErrorInfo(**error) if error else None,
        "timeout_kind": payload.get("timeout_kind"),
        "duration_ms": (time.perf_counter() - started) * 1000,
        "code_sha256": outcome.source_sha256,
        "isolation": isolation,
    }
    if extra:
        fields.update(extra)
    return ExecutionResult(**fields)


# -- module-level convenience --------------------------------------------------

_default_sandbox: Sandbox | None = None
_default_lock = threading.Lock()


def _default() -> Sandbox:
    global _default_sandbox
    with _default_lock:
        if _default_sandbox is None or _default_sandbox._closed:
            _default_sandbox = Sandbox()
            atexit.register(_default_sandbox.close)
        return _default_sandbox


def run(
    code: str, *, inputs: dict[str, Any] | None = None, policy: Policy | None = None
) -> ExecutionResult:
    """Run ``code`` once in the default Sandbox (created on first use).

    Args:
        code: the program's source.
        inputs: values bound as the program's globals (plain data only).
        policy: limits and permissions; ``Policy()`` if omitted.

    Returns:
        An ExecutionResult; never raises for anything the program does.

    Raises:
        InputError: an input is not plain data.
    """
    return _default().run(code, inputs=inputs, policy=policy)


def compile_program(code: str, *, policy: Policy | None = None) -> Program:
    """Compile ``code`` once in the default Sandbox; ``Program.run`` runs it."""
    return _default().compile_program(code, policy=policy)
