"""The LangChain tool, with langchain_core itself: invoke, ainvoke, and a tool-calling loop
driven by one of langchain_core's fake chat models."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from integrations.programs import ARTICLE_CODE, cpython_prints
from restricted_exec import ExecutionResult, Policy, Sandbox
from restricted_exec.integrations.langchain import sandbox_tool
from restricted_exec.tools import TOOL_NAME, ToolSessions, parameters_schema


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(Policy(timeout_s=2)) as box:
        yield box


def tool_call(arguments: dict[str, Any], call_id: str = "call-1") -> dict[str, Any]:
    return {"name": TOOL_NAME, "args": arguments, "id": call_id, "type": "tool_call"}


def test_invoke_with_a_tool_call_gives_a_tool_message_with_the_result_as_artifact(
    sandbox: Sandbox,
) -> None:
    tool = sandbox_tool(sandbox)
    message = tool.invoke(tool_call({"code": ARTICLE_CODE}))
    assert isinstance(message, ToolMessage) and message.tool_call_id == "call-1"
    assert message.content == "Output:\n" + cpython_prints(ARTICLE_CODE).rstrip("\n")
    assert isinstance(message.artifact, ExecutionResult)
    assert message.artifact.stdout == cpython_prints(ARTICLE_CODE)


def test_ainvoke_runs_without_blocking_and_says_what_failed(sandbox: Sandbox) -> None:
    tool = sandbox_tool(sandbox)

    async def scenario() -> ToolMessage:
        result = await tool.ainvoke(tool_call({"code": "print('a')\nx = 1 / 0"}))
        assert isinstance(result, ToolMessage)
        return result

    message = asyncio.run(scenario())
    assert isinstance(message.content, str)
    assert message.content.startswith("Output:\na\n\nError (line 2):")
    assert message.artifact.status == "error"


def test_the_schema_langchain_sends_a_model_is_the_tools_own(sandbox: Sandbox) -> None:
    plain = convert_to_openai_tool(sandbox_tool(sandbox))["function"]
    assert plain["name"] == TOOL_NAME
    assert set(plain["parameters"]["properties"]) == set(
        parameters_schema(sessions=False)["properties"]
    )
    assert plain["parameters"]["required"] == ["code"]
    with ToolSessions(sandbox) as sessions:
        keeping = convert_to_openai_tool(sandbox_tool(sandbox, sessions=sessions))["function"]
    assert set(keeping["parameters"]["properties"]) == set(parameters_schema()["properties"])


def test_arguments_a_model_got_wrong_are_refused_by_langchains_validation(
    sandbox: Sandbox,
) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        sandbox_tool(sandbox).invoke(tool_call({"source": "print(1)"}))


class ScriptedToolModel(GenericFakeChatModel):
    """A fake chat model that answers from a script and binds tools the way a real one does
    (their OpenAI-format schemas), so the loop below is LangChain's ordinary tool loop."""

    bound: list[dict[str, Any]] = Field(default_factory=list)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        self.bound = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=self.bound, **kwargs)


def test_a_tool_calling_loop_with_a_session_reaches_the_final_answer(sandbox: Sandbox) -> None:
    script = iter(
        [
            AIMessage(
                content="",
                tool_calls=[
                    tool_call({"code": "P = 3000 * 12\nr = 0.05", "session_id": "chat"}, "call-1")
                ],
            ),
            AIMessage(
                content="",
                tool_calls=[
                    tool_call(
                        {"code": "round(P * ((1 + r)**5 - 1) / r, 2)", "session_id": "chat"},
                        "call-2",
                    )
                ],
            ),
            AIMessage(content="After five years you have 198922.73."),
        ]
    )
    with ToolSessions(sandbox) as sessions:
        tool = sandbox_tool(sandbox, sessions=sessions)
        model = ScriptedToolModel(messages=script)
        runnable = model.bind_tools([tool])
        assert model.bound[0]["function"]["name"] == TOOL_NAME
        messages: list[BaseMessage] = [
            HumanMessage("I save 3000 a month at 5% a year: what do I have after five years?")
        ]
        while True:
            reply = runnable.invoke(messages)
            messages.append(reply)
            if not reply.tool_calls:
                break
            for call in reply.tool_calls:
                messages.append(tool.invoke(call))
    tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
    assert [m.tool_call_id for m in tool_messages] == ["call-1", "call-2"]
    expected = round(3000 * 12 * ((1 + 0.05) ** 5 - 1) / 0.05, 2)
    assert tool_messages[1].content == f"Value: {expected!r}"
    assert tool_messages[1].artifact.value == expected
    assert messages[-1].content == "After five years you have 198922.73."
