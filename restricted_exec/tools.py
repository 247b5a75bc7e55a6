"""restricted_exec as a tool a language model calls: its definition for each model API, the
handler that runs a call, and the step before it, taking the code out of a model's reply.

    from restricted_exec import Sandbox
    from restricted_exec.tools import openai_chat_tool, handle_tool_call

    tools = [openai_chat_tool()]                  # give the model the tool
    text = handle_tool_call(call.function.arguments, sandbox=sandbox)   # run what it asked

The tool takes ``code`` (the Python to run), optional ``inputs`` (values bound as variables
before it runs) and an optional ``session_id`` (runs with the same id share their variables,
functions and imports, when the handler is given a ``ToolSessions``). What it returns is text
for the model: what the program printed, the value of its last expression, and for a failure
the error with its line and what to do about it, at most ``max_chars`` long, with any cut said.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, NamedTuple

from restricted_exec.errors import InputError, IsolationUnavailableError, SandboxClosedError
from restricted_exec.result import ExecutionResult, value_repr
from restricted_exec.sandbox import Sandbox
from restricted_exec.session import Session

__all__ = [
    "DEFAULT_MAX_CHARS",
    "TOOL_DESCRIPTION",
    "TOOL_NAME",
    "ToolCallOutcome",
    "ToolSessions",
    "anthropic_tool",
    "bounded",
    "extract_code",
    "failure_text",
    "handle_tool_call",
    "openai_chat_tool",
    "openai_responses_tool",
    "parameters_schema",
    "result_text",
    "run_tool_call",
    "run_tool_call_async",
]

TOOL_NAME = "run_python"
TOOL_DESCRIPTION = (
    "Run Python code in a sandbox and get back what it printed and the value of its last "
    "expression. Use it for any calculation (interest, dates, statistics, unit conversions) "
    "instead of computing in your head. The standard library's math, statistics, decimal, "
    "fractions, datetime, json, re, random, itertools, collections and a few more can be "
    "imported; there are no files, network or other packages. Print what you need, or end with "
    "an expression."
)
DEFAULT_MAX_CHARS = 8000
"""The longest text handle_tool_call returns (a model's context is not the place for more)."""


def parameters_schema(*, sessions: bool = True) -> dict[str, Any]:
    """The tool's parameters as JSON Schema (draft 2020-12, the subset every model API
    accepts). ``sessions=False`` leaves out ``session_id`` (a handler without sessions)."""
    properties: dict[str, Any] = {
        "code": {
            "type": "string",
            "description": "The Python program to run. Print results, or end with an expression.",
        },
        "inputs": {
            "type": "object",
            "description": "Optional values bound as variables before the code runs "
            "(JSON values: numbers, strings, booleans, null, lists, objects).",
            "additionalProperties": True,
        },
    }
    if sessions:
        properties["session_id"] = {
            "type": "string",
            "description": "Optional. Runs with the same session_id share variables, functions "
            "and imports, like cells of one notebook.",
        }
    return {
        "type": "object",
        "properties": properties,
        "required": ["code"],
        "additionalProperties": False,
    }


def openai_chat_tool(*, sessions: bool = True) -> dict[str, Any]:
    """The tool for OpenAI's Chat Completions API (``tools=[...]``)."""
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": TOOL_DESCRIPTION,
            "parameters": parameters_schema(sessions=sessions),
        },
    }


def openai_responses_tool(*, sessions: bool = True) -> dict[str, Any]:
    """The tool for OpenAI's Responses API (``tools=[...]``)."""
    return {
        "type": "function",
        "name": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "parameters": parameters_schema(sessions=sessions),
    }


def anthropic_tool(*, sessions: bool = True) -> dict[str, Any]:
    """The tool for Anthropic's Messages API (``tools=[...]``)."""
    return {
        "name": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "input_schema": parameters_schema(sessions=sessions),
    }


class ToolSessions:
    """The sessions of one conversation's (or one client's) tool calls, by the ``session_id``
    the model names: opened on first use on ``sandbox``, for ``tenant``; at most
    ``max_sessions`` at once, the least recently used closed first. Close it (or use ``with``)
    when the conversation ends. Safe to share between threads."""

    def __init__(
        self, sandbox: Sandbox, *, tenant: str | None = None, max_sessions: int = 16
    ) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self._sandbox = sandbox
        self._tenant = tenant
        self._max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def sandbox(self) -> Sandbox:
        return self._sandbox

    @property
    def tenant(self) -> str | None:
        return self._tenant

    def alive(self, session_id: str) -> bool:
        """Whether ``session_id`` names a session that is open now."""
        with self._lock:
            session = self._sessions.get(session_id)
            return session is not None and not session.closed

    def get(self, session_id: str) -> Session:
        """The session named ``session_id``, opened now if it is new (or its last one ended:
        an idle or lifetime limit, or evicted here). Raises SandboxClosedError. (Past the
        Sandbox's session limits, the session's runs are ``rejected``.)"""
        evicted: list[Session] = []
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and not session.closed:
                self._sessions.move_to_end(session_id)
                return session
            session = self._sandbox.session(tenant=self._tenant)
            self._sessions[session_id] = session
            while len(self._sessions) > self._max_sessions:
                evicted.append(self._sessions.popitem(last=False)[1])
        for old in evicted:
            old.close_later()  # the caller may be an event loop; its run may be in progress
        return session

    def close(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.close()

    def __enter__(self) -> ToolSessions:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ToolCallOutcome(NamedTuple):
    """One tool call: the run's result (None if the call never ran: arguments a model got
    wrong, no session for its id, a closed sandbox) and the text for the model."""

    result: ExecutionResult | None
    text: str


def handle_tool_call(
    arguments: str | Mapping[str, Any],
    *,
    sandbox: Sandbox | None = None,
    session: Session | None = None,
    sessions: ToolSessions | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> str:
    """Run one call of the tool and return the text for the model.

    ``arguments``: the call's arguments as the model API hands them over (a JSON string, as
    OpenAI's, or a mapping, as Anthropic's). Where it runs: in ``session`` if given (its
    state carries on, whatever ``session_id`` says); else in the session ``sessions`` keeps
    for the call's ``session_id``; else once, on ``sandbox``, else on the Sandbox of
    ``sessions`` under its tenant, else on the default Sandbox of ``restricted_exec.run``.
    Arguments a model got wrong come back as text that says what is wrong, so the model can
    try again; nothing the program does raises here."""
    return run_tool_call(
        arguments, sandbox=sandbox, session=session, sessions=sessions, max_chars=max_chars
    ).text


def run_tool_call(
    arguments: str | Mapping[str, Any],
    *,
    sandbox: Sandbox | None = None,
    session: Session | None = None,
    sessions: ToolSessions | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> ToolCallOutcome:
    """``handle_tool_call`` with the ExecutionResult beside the text (for a caller that also
    hands the model, or its own code, the structured result)."""
    call = _prepare(arguments, session, sessions, max_chars)
    if isinstance(call, ToolCallOutcome):
        return call
    code, inputs, target, tenant = call
    if sandbox is None and sessions is not None:
        sandbox = sessions.sandbox
    try:
        if target is not None:
            result = target.run(code, inputs=inputs)
        elif sandbox is not None:
            result = sandbox.run(code, inputs=inputs, tenant=tenant)
        else:
            from restricted_exec.sandbox import run

            result = run(code, inputs=inputs)
    except _NOT_RUN as problem:
        return _not_run(problem, max_chars)
    return ToolCallOutcome(result, result_text(result, max_chars=max_chars))


async def run_tool_call_async(
    arguments: str | Mapping[str, Any],
    *,
    sandbox: Sandbox,
    session: Session | None = None,
    sessions: ToolSessions | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> ToolCallOutcome:
    """``run_tool_call`` without blocking the event loop."""
    call = _prepare(arguments, session, sessions, max_chars)
    if isinstance(call, ToolCallOutcome):
        return call
    code, inputs, target, tenant = call
    try:
        if target is not None:
            result = await target.run_async(code, inputs=inputs)
        else:
            result = await sandbox.run_async(code, inputs=inputs, tenant=tenant)
    except _NOT_RUN as problem:
        return _not_run(problem, max_chars)
    return ToolCallOutcome(result, result_text(result, max_chars=max_chars))


def _prepare(
    arguments: str | Mapping[str, Any],
    session: Session | None,
    sessions: ToolSessions | None,
    max_chars: int,
) -> tuple[str, dict[str, Any] | None, Session | None, str | None] | ToolCallOutcome:
    """The call's code, inputs, the session it runs in and the tenant a run without one has
    (the sessions'); or, if it cannot run, its outcome. Checks ``max_chars`` before
    anything runs."""
    _check_max_chars(max_chars)
    try:
        code, inputs, session_id = _read_arguments(arguments)
        if session is None and session_id is not None:
            if sessions is None:
                return ToolCallOutcome(
                    None,
                    bounded(
                        "This tool keeps no sessions here: call it without session_id, and put "
                        "everything the code needs into one call.",
                        max_chars,
                    ),
                )
            session = sessions.get(session_id)
    except _NOT_RUN as problem:
        return _not_run(problem, max_chars)
    return code, inputs, session, sessions.tenant if sessions is not None else None


# What stops a call before its program runs, told to the model as text.
_NOT_RUN = (InputError, SandboxClosedError, IsolationUnavailableError)


def _not_run(
    problem: InputError | SandboxClosedError | IsolationUnavailableError, max_chars: int
) -> ToolCallOutcome:
    if isinstance(problem, SandboxClosedError | IsolationUnavailableError):
        return ToolCallOutcome(None, bounded(f"The sandbox is not available: {problem}", max_chars))
    return ToolCallOutcome(None, bounded(f"The tool call was not understood: {problem}", max_chars))


def _read_arguments(
    arguments: str | Mapping[str, Any],
) -> tuple[str, dict[str, Any] | None, str | None]:
    if isinstance(arguments, str | bytes | bytearray):
        try:
            arguments = json.loads(arguments)
        except ValueError as problem:
            raise InputError(f"the arguments are not JSON ({problem})") from None
        except RecursionError:
            raise InputError("the arguments are JSON nested too deeply") from None
    if not isinstance(arguments, Mapping):
        raise InputError("the arguments must be an object with a `code` string")
    unknown = sorted(set(arguments) - {"code", "inputs", "session_id"})
    if unknown:
        raise InputError(f"unknown argument(s) {', '.join(map(repr, unknown))}")
    code = arguments.get("code")
    if not isinstance(code, str):
        raise InputError("`code` must be a string holding the Python to run")
    inputs = arguments.get("inputs")
    if inputs is not None and not isinstance(inputs, dict):
        raise InputError("`inputs` must be an object of variable names to values")
    session_id = arguments.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise InputError("`session_id` must be a string")
    return code, inputs, session_id


def result_text(result: ExecutionResult, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """An ExecutionResult as the text a model reads best: the output, the value, and for a
    failure what failed, where, and a hint; at most ``max_chars`` long."""
    parts: list[str] = []
    if result.stdout:
        cut = " (cut at the sandbox's output limit)" if result.stdout_truncated else ""
        parts.append(f"Output{cut}:\n{result.stdout.rstrip(chr(10))}")
    if result.status == "ok":
        if result.value is not None:
            parts.append(f"Value: {value_repr(result.value)}")
        if not parts:
            parts.append("The code ran and printed nothing (print what you need to see).")
        return bounded("\n\n".join(parts), max_chars)
    parts.append(failure_text(result))
    return bounded("\n\n".join(parts), max_chars)


_HINTS = {
    "timeout": "Make the code do less work, or find a closed form instead of a long loop.",
    "memory_limit": "Use less memory: smaller lists, or generators instead of lists.",
    "output_limit": "Print less: a summary rather than every row.",
    "policy_violation": "Rewrite the code within what the message allows.",
    "syntax_error": "Fix the syntax and call the tool again.",
}


def failure_text(result: ExecutionResult) -> str:
    """What failed in a run that did not end ok, where, and a hint: for a model to read."""
    error = result.error
    if error is None:
        return f"The run ended with status {result.status}."
    where = f" (line {error.line})" if error.line else ""
    if error.traceback:
        text = f"Error{where}:\n{error.traceback}"
    else:
        text = f"Error{where}: {error.type}: {error.message}"
    hint = _HINTS.get(result.status)
    if hint:
        text += f"\nHint: {hint}"
    if result.status in ("rejected", "crashed"):
        text += "\nThe sandbox could not run the code; calling again later may work."
    return text


_CUT_NOTE = "\n[... {cut:,} characters cut: the tool returns at most {limit:,} ...]\n"


MIN_MAX_CHARS = 200


def _check_max_chars(max_chars: int) -> None:
    if max_chars < MIN_MAX_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_MAX_CHARS}")


def bounded(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """``text``, or its head and tail around a note that says how much was cut."""
    _check_max_chars(max_chars)
    if len(text) <= max_chars:
        return text
    note_room = len(_CUT_NOTE.format(cut=len(text), limit=max_chars))
    keep = max(0, max_chars - note_room)
    head, tail = keep - keep // 3, keep // 3
    cut = len(text) - head - tail
    return text[:head] + _CUT_NOTE.format(cut=cut, limit=max_chars) + text[len(text) - tail :]


_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})
_OPENING_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


class _Block(NamedTuple):
    language: str
    body: str


def _fenced_blocks(text: str) -> list[_Block]:
    """The fenced code blocks of ``text`` as CommonMark reads them: an opening fence of three
    or more backticks (whose info string holds no backtick) or tildes, indented at most three
    spaces; closed by a fence of the same character, at least as long, indented at most three
    spaces, with nothing after it but spaces; unclosed, a block runs to the end. The content
    loses as much indentation as the opening fence had."""
    blocks: list[_Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _OPENING_FENCE.match(lines[index])
        index += 1
        if opening is None:
            continue
        fence, info = opening.group("fence"), opening.group("info").strip()
        if fence[0] == "`" and "`" in info:
            continue  # not a fence: a line of inline code
        indent = len(opening.group("indent"))
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        while index < len(lines) and not closing.match(lines[index]):
            line = lines[index]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
            index += 1
        index += 1  # the closing fence (or the end)
        words = info.split()
        language = words[0].lower().strip("{}.") if words else ""
        blocks.append(_Block(language, "\n".join(body)))
    return blocks


def extract_code(text: str) -> str | None:
    """The Python of a model's reply: its fenced code blocks tagged ``python`` (or ``py``),
    joined in order; if none is tagged, its untagged blocks; None if it has neither. Blocks
    tagged as another language (``bash``, ``json``, ``text`` ...) are never taken, nor is
    anything inside them: the fences are read as CommonMark reads them."""
    blocks = _fenced_blocks(text)
    tagged = [block.body for block in blocks if block.language in _PYTHON_TAGS]
    untagged = [block.body for block in blocks if not block.language]
    chosen = tagged or untagged
    if not chosen:
        return None
    code = "\n".join(body.rstrip("\n") for body in chosen)
    return code + "\n" if code.strip() else None
