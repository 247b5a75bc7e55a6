"""restricted_exec as a smolagents executor (extra ``[smolagents]``).

    from smolagents import CodeAgent
    from restricted_exec.integrations.smolagents import SandboxExecutor

    agent = CodeAgent(tools=[...], model=model, executor=SandboxExecutor())

Each code step the agent writes runs in one restricted_exec session, so variables, functions
and imports carry from step to step; the agent's tools are host functions (they run in the
agent's process; arguments and results cross as data), ``final_answer`` among them. A step
that fails raises smolagents' own ``InterpreterError`` with what failed and where, which the
agent hands the model as the step's observation: its error-feedback loop works as with the
executors smolagents ships. What the step printed before failing is in ``state``, where the
agent looks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from smolagents.agent_types import AgentType
from smolagents.local_python_executor import CodeOutput, InterpreterError, PythonExecutor
from smolagents.tools import Tool

from restricted_exec.language.values import UnsupportedValue, encode
from restricted_exec.policy import Policy
from restricted_exec.result import value_repr
from restricted_exec.sandbox import Sandbox
from restricted_exec.session import Session
from restricted_exec.tools import failure_text

__all__ = ["FINAL_ANSWER", "FinalAnswerException", "SandboxExecutor"]

FINAL_ANSWER = "final_answer"


class FinalAnswerException(Exception):
    """What ``final_answer`` raises in the program, ending its step (as smolagents' own
    executors do). A program that catches it still ends with the answer it gave."""


class SandboxExecutor(PythonExecutor):
    """A smolagents ``PythonExecutor`` that runs each step in a restricted_exec session.

    ``sandbox``: where the steps run (its policy: timeout, memory, the modules a step may
    import); by default a Sandbox of its own, with ``policy``, closed by ``cleanup()``.
    ``tenant``: the trust domain of the session (a chat platform's user, for instance).
    """

    def __init__(
        self,
        sandbox: Sandbox | None = None,
        *,
        policy: Policy | None = None,
        tenant: str | None = None,
    ) -> None:
        if sandbox is not None and policy is not None:
            raise ValueError("pass a sandbox or a policy, not both (a Sandbox has its policy)")
        self._owns_sandbox = sandbox is None
        self.sandbox = sandbox if sandbox is not None else Sandbox(policy)
        self._tenant = tenant
        self._tools: dict[str, Tool] = {}
        self._functions: dict[str, Callable[..., Any]] = {}
        self._pending: dict[str, Any] = {}
        self._session: Session | None = None
        self._answers: list[Any] = []
        # smolagents reads "_print_outputs" from here when a step raised.
        self.state: dict[str, Any] = {}

    def send_tools(self, tools: dict[str, Tool]) -> None:
        """Make ``tools`` the host functions of the steps, by name. The session goes on with
        its state if the tools changed (it is dumped and loaded with the new functions)."""
        if tools.keys() == self._tools.keys() and all(
            tools[name] is self._tools[name] for name in tools
        ):
            return
        self._tools = dict(tools)
        self._functions = {
            name: self._final_answer if name == FINAL_ANSWER else _tool_function(tool)
            for name, tool in tools.items()
        }
        if self._session is not None:
            old, self._session = self._session, None
            dump = old.dump()
            old.close()
            self._session = self.sandbox.load_session(
                dump, tenant=self._tenant, functions=self._functions
            )

    def send_variables(self, variables: dict[str, Any]) -> None:
        """Bind ``variables`` in the session before the next step runs. They must be data
        (numbers, text, lists, dicts ...): the step's code gets a copy, never the object."""
        for name, value in variables.items():
            try:
                encode(value)
            except UnsupportedValue as problem:
                raise ValueError(
                    f"variable {name!r} is not data the sandbox can take: {problem}"
                ) from None
        self._pending.update(variables)

    def __call__(self, code_action: str) -> CodeOutput:
        """Run one step. Returns its last expression's value and what it printed, or the
        answer it gave ``final_answer``; raises InterpreterError for a step that failed."""
        session, note = self._open_session()
        inputs, self._pending = self._pending, {}
        self._answers.clear()
        result = session.run(code_action, inputs=inputs or None)
        logs = note + result.stdout
        self.state["_print_outputs"] = logs
        if self._answers:
            return CodeOutput(output=_printable(self._answers[-1]), logs=logs, is_final_answer=True)
        if result.ok:
            return CodeOutput(output=_printable(result.value), logs=logs, is_final_answer=False)
        raise InterpreterError(note + failure_text(result))

    def cleanup(self) -> None:
        """Close the session (and the Sandbox this executor made). smolagents calls this when
        the agent is cleaned up."""
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._owns_sandbox:
            self.sandbox.close()

    def _open_session(self) -> tuple[Session, str]:
        """The session, and a note for the model if its state was lost on the way: a session
        that ended between steps (an idle or lifetime limit) goes on from its dump."""
        note = ""
        if self._session is not None and self._session.closed:
            ended, self._session = self._session, None
            self._session = self.sandbox.load_session(
                ended.dump(), tenant=self._tenant, functions=self._functions
            )
            note = (
                f"Note: the sandbox session ended ({ended.ended_because or 'closed'}) and was "
                "made again from its variables and definitions.\n"
            )
        if self._session is None:
            self._session = self.sandbox.session(tenant=self._tenant, functions=self._functions)
        return self._session, note

    def _final_answer(self, answer: Any) -> None:
        self._answers.append(answer)
        raise FinalAnswerException("final_answer was called: the step ends with that answer")


def _printable(value: Any) -> Any:
    """``value``, or its repr if smolagents could not print it (an int past CPython's
    int-to-text limit): the agent writes ``str(output)`` outside its error handling."""
    try:
        str(value)
    except ValueError:
        return value_repr(value)
    return value


def _tool_function(tool: Tool) -> Callable[..., Any]:
    """``tool`` as a host function: smolagents' text and numbers come back as plain data."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return _plain(tool(*args, **kwargs))

    call.__name__ = getattr(tool, "name", "tool")
    return call


def _plain(value: Any) -> Any:
    if isinstance(value, AgentType):
        value = value.to_raw()
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value
