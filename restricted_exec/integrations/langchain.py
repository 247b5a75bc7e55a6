"""restricted_exec as a LangChain tool (extra ``[langchain]``).

    from restricted_exec import Sandbox
    from restricted_exec.integrations.langchain import sandbox_tool

    tool = sandbox_tool(Sandbox())
    model_with_tools = chat_model.bind_tools([tool])
    ...
    message = tool.invoke(ai_message.tool_calls[0])   # a ToolMessage

The tool is a ``StructuredTool`` with a sync and an async implementation, both on
``restricted_exec.tools``: the model reads the text that module writes, and the ToolMessage's
``artifact`` holds the whole ExecutionResult (None if the call never ran) for the program.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from restricted_exec.result import ExecutionResult
from restricted_exec.sandbox import Sandbox
from restricted_exec.tools import (
    DEFAULT_MAX_CHARS,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    ToolSessions,
    run_tool_call,
    run_tool_call_async,
)

__all__ = ["RunPythonArguments", "RunPythonInSessionArguments", "sandbox_tool"]


class RunPythonArguments(BaseModel):
    """The tool's arguments, as LangChain shows them to a model."""

    code: str = Field(
        description="The Python program to run. Print results, or end with an expression."
    )
    inputs: dict[str, Any] | None = Field(
        default=None,
        description="Optional values bound as variables before the code runs (JSON values).",
    )


class RunPythonInSessionArguments(RunPythonArguments):
    """The arguments of a tool that keeps sessions."""

    session_id: str | None = Field(
        default=None,
        description="Optional. Runs with the same session_id share variables, functions and "
        "imports, like cells of one notebook.",
    )


def sandbox_tool(
    sandbox: Sandbox,
    *,
    sessions: ToolSessions | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> StructuredTool:
    """A LangChain tool that runs code on ``sandbox``; with ``sessions``, the model may name
    a ``session_id`` to keep state between calls (``sessions`` should be on the same
    Sandbox). Session ids are the model's words: make one tool, with its own sessions, per
    conversation, never one shared by several users. The caller closes both."""

    def arguments_of(
        code: str, inputs: dict[str, Any] | None, session_id: str | None
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {"code": code}
        if inputs is not None:
            arguments["inputs"] = inputs
        if session_id is not None:
            arguments["session_id"] = session_id
        return arguments

    def run_python(
        code: str, inputs: dict[str, Any] | None = None, session_id: str | None = None
    ) -> tuple[str, ExecutionResult | None]:
        outcome = run_tool_call(
            arguments_of(code, inputs, session_id),
            sandbox=sandbox,
            sessions=sessions,
            max_chars=max_chars,
        )
        return outcome.text, outcome.result

    async def run_python_async(
        code: str, inputs: dict[str, Any] | None = None, session_id: str | None = None
    ) -> tuple[str, ExecutionResult | None]:
        outcome = await run_tool_call_async(
            arguments_of(code, inputs, session_id),
            sandbox=sandbox,
            sessions=sessions,
            max_chars=max_chars,
        )
        return outcome.text, outcome.result

    return StructuredTool.from_function(
        func=run_python,
        coroutine=run_python_async,
        name=TOOL_NAME,
        description=TOOL_DESCRIPTION,
        args_schema=RunPythonInSessionArguments if sessions is not None else RunPythonArguments,
        response_format="content_and_artifact",
    )
