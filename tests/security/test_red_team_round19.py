"""Red-team round 19: the tool surfaces (restricted_exec.tools, the MCP server, the smolagents
executor, the LangChain tool). Each test fails on the code as the round found it. Every program
runs in process mode; the MCP tests run the real server in a subprocess and talk to it with the
MCP SDK's own Client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from integrations.processes import free_port, listening
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from smolagents import CodeAgent, Tool
from smolagents.models import ChatMessage, MessageRole, Model

from restricted_exec import ExecutionResult, Policy, Sandbox
from restricted_exec.integrations.langchain import sandbox_tool
from restricted_exec.integrations.smolagents import SandboxExecutor
from restricted_exec.tools import DEFAULT_MAX_CHARS, extract_code, handle_tool_call

SERVER = [sys.executable, "-m", "restricted_exec.cli", "mcp", "--timeout", "5"]

# An int past CPython's int-to-text limit (4,300 digits): the child returns it (hexadecimal on
# the wire) and the host gets it back as an int, whose repr() and str() raise ValueError.
HUGE_INT_PROGRAMS = [
    "10**5000",
    "[10**5000]",
    "{1: 10**5000}",
    "import fractions\nfractions.Fraction(10**5000, 7)",
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(Policy(timeout_s=5)) as made:
        yield made


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content)


@contextlib.contextmanager
def http_server(command: list[str], port: int) -> Iterator[str]:
    with listening(command, port):
        yield f"http://127.0.0.1:{port}/mcp"


# -- R19-1: a value whose repr() raises makes the tool handlers raise -----------------------------


@pytest.mark.parametrize("code", HUGE_INT_PROGRAMS, ids=["int", "list", "dict", "fraction"])
def test_handle_tool_call_returns_text_for_a_value_past_the_int_digit_limit(
    sandbox: Sandbox, code: str
) -> None:
    """result_text formats the value with f"{result.value!r}"; repr() of an int past 4,300
    digits raises ValueError (round 12 made ExecutionResult's own repr safe, not this one). So
    handle_tool_call raises for a two-token program, against its promise that nothing the
    program does raises there, and the run's result is lost."""
    text = handle_tool_call({"code": code}, sandbox=sandbox)
    assert isinstance(text, str) and len(text) <= DEFAULT_MAX_CHARS
    assert text.startswith("Value: ")


def test_langchain_tool_returns_a_message_for_a_value_past_the_int_digit_limit(
    sandbox: Sandbox,
) -> None:
    """The same repr() in the LangChain tool: invoke raises ValueError out of the agent loop."""
    tool = sandbox_tool(sandbox)
    message = tool.invoke(
        {"name": "run_python", "args": {"code": "10**5000"}, "id": "c1", "type": "tool_call"}
    )
    assert message.content.startswith("Value: ")
    assert message.artifact.value == 10**5000


def test_mcp_run_python_returns_the_result_of_a_value_past_the_int_digit_limit() -> None:
    """Over MCP the exception becomes the SDK's bare "Error executing tool run_python": the
    model gets neither the value nor the output, and the structured result is dropped."""

    async def scenario() -> None:
        params = StdioServerParameters(command=SERVER[0], args=SERVER[1:])
        async with Client(params) as client:
            result = await client.call_tool("run_python", {"code": "print('before')\n10**5000"})
            text = text_of(result)
            assert not result.is_error, text
            assert text.startswith("Output:\nbefore\n\nValue: ") and len(text) <= DEFAULT_MAX_CHARS
            assert result.structured_content is not None
            back = ExecutionResult.model_validate_json(json.dumps(result.structured_content))
            assert back.value == 10**5000

    asyncio.run(scenario())


class ScriptedModel(Model):
    """Answers each step with the next scripted reply."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(model_id="scripted")
        self.replies = iter(replies)

    def generate(
        self,
        messages: list[ChatMessage],
        stop_sequences: list[str] | None = None,
        response_format: dict[str, str] | None = None,
        tools_to_call_from: list[Tool] | None = None,
        **kwargs: Any,
    ) -> ChatMessage:
        return ChatMessage(role=MessageRole.ASSISTANT, content=next(self.replies))


def step(code: str) -> str:
    return f"Thought: next.\n<code>\n{code}\n</code>"


def test_a_smolagents_step_whose_value_is_a_huge_int_does_not_crash_the_agent(
    sandbox: Sandbox,
) -> None:
    """SandboxExecutor hands the child's value to the agent as is; CodeAgent writes
    str(code_output.output) into the observation outside its error handling, so the agent's
    run dies with ValueError instead of the step becoming an observation (or an error the
    model can correct). A model-written program can end any agent run this way."""
    model = ScriptedModel([step("10**5000"), step("final_answer(1)")])
    agent = CodeAgent(
        tools=[], model=model, executor=SandboxExecutor(sandbox), max_steps=3, verbosity_level=0
    )
    try:
        assert agent.run("Anything.") == 1
    finally:
        agent.cleanup()


# -- R19-2: one HTTP client revokes every other client's session id ------------------------------


def test_mcp_http_a_client_cannot_revoke_another_clients_session_by_flooding_new_session() -> None:
    """_ServerSessions keeps the last 4,096 issued ids in a FIFO shared by every client,
    separately from the sessions themselves. Any client that calls new_session 4,096 times (a
    few seconds, no child process, no run) pushes every other client's id out: their next call
    is refused as "Unknown session_id" although their session is open, recently used, and
    well within max_sessions. One client thus ends all others' sessions at no cost."""
    port = free_port()
    with http_server([*SERVER, "--transport", "streamable-http", "--port", str(port)], port) as url:

        async def scenario() -> None:
            async with Client(url) as victim, Client(url) as attacker:
                mine = (await victim.call_tool("new_session", {})).structured_content["session_id"]
                await victim.call_tool("run_python", {"code": "y = 41", "session_id": mine})

                async def issue(count: int) -> None:
                    for _ in range(count):
                        await attacker.call_tool("new_session", {})

                await asyncio.gather(*(issue(513) for _ in range(8)))
                result = await victim.call_tool("run_python", {"code": "y + 1", "session_id": mine})
                assert text_of(result) == "Value: 42"

        asyncio.run(scenario())


# -- R19-3: evicting a running session blocks the server's event loop ---------------------------

SMALL_HTTP_SERVER = textwrap.dedent(
    """
    import sys
    from restricted_exec import Policy, Sandbox
    from restricted_exec.integrations.mcp_server import build_server
    with Sandbox(Policy(timeout_s=10)) as sandbox:
        server = build_server(sandbox, max_sessions=int(sys.argv[2]))
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
    """
)

BUSY_FOR_6_S = (
    "import time\nstarted = time.time()\nwhile time.time() - started < 6:\n    pass\n'done'"
)


def test_mcp_http_evicting_a_running_session_does_not_freeze_other_clients() -> None:
    """run_python is async, but run_tool_call_async's _prepare calls ToolSessions.get on the
    event loop's thread, and get() closes the least recently used session when a new one
    passes max_sessions: Session.close() waits for that session's run to end. If it is
    running, the whole server (every client's every request) stops until it does, up to
    timeout_s, and a client can repeat it. Shown with max_sessions=2 for speed; with the
    default 64 a client opens 64 sessions first."""
    port = free_port()
    command = [sys.executable, "-c", SMALL_HTTP_SERVER, str(port), "1"]
    with http_server(command, port) as url:

        async def scenario() -> None:
            async with Client(url) as attacker, Client(url) as bystander:
                first = (await attacker.call_tool("new_session", {})).structured_content[
                    "session_id"
                ]
                second = (await attacker.call_tool("new_session", {})).structured_content[
                    "session_id"
                ]
                busy = asyncio.create_task(
                    attacker.call_tool("run_python", {"code": BUSY_FOR_6_S, "session_id": first})
                )
                await asyncio.sleep(1.5)  # the run is going on
                evict = asyncio.create_task(
                    attacker.call_tool("run_python", {"code": "1", "session_id": second})
                )
                await asyncio.sleep(0.3)
                started = time.monotonic()
                await bystander.call_tool("list_modules", {})
                waited = time.monotonic() - started
                await busy
                await evict
                assert waited < 2.0, f"another client's list_modules waited {waited:.1f} s"

        asyncio.run(scenario())


# -- R19-4: the session refusal ignores max_chars -------------------------------------------------


def test_mcp_unknown_session_refusal_is_bounded_by_max_chars() -> None:
    """run_python's refusal of an unknown session_id is returned as is, never through
    _bounded: with the server's max_chars at its minimum (200) a 64-character id of
    non-printable characters (repr: 6 characters each) gives the model ~560 characters."""
    script = textwrap.dedent(
        """
        from restricted_exec import Policy, Sandbox
        from restricted_exec.integrations.mcp_server import build_server
        with Sandbox(Policy(timeout_s=5)) as sandbox:
            build_server(sandbox, issued_session_ids=True, max_chars=200).run("stdio")
        """
    )

    async def scenario() -> None:
        params = StdioServerParameters(command=sys.executable, args=["-c", script])
        async with Client(params) as client:
            result = await client.call_tool(
                "run_python", {"code": "1", "session_id": "\u200b" * 64}
            )
            assert result.is_error
            assert len(text_of(result)) <= 200, len(text_of(result))

    asyncio.run(scenario())


# -- R19-5: extract_code takes code from inside a non-Python block --------------------------------

# Each reply, read as CommonMark (and by markdown-it-py), has exactly one code block, tagged as
# another language, whose text happens to contain a ```python fence. extract_code's regex does
# not follow CommonMark's fence rules and takes that inner text as the reply's Python.
NOT_PYTHON = {
    # A tilde fence's info string may contain backticks; the regex's may not, so it misses
    # the opener and matches the ```python fence inside.
    "tilde fence with backticks in its info": (
        "~~~text `a transcript`\n```python\nNOT_PYTHON = 1\n```\n~~~\n"
    ),
    # A fence of four backticks is closed only by four or more; unclosed, it runs to the end.
    "unclosed longer fence": "````bash\n```python\nNOT_PYTHON = 1\n```\n",
    # A closing fence may be indented 0-3 spaces whatever the opener's indent.
    "closing fence indented differently": " ```bash\n```python\nNOT_PYTHON = 1\n```\n",
    # A closing fence may be longer than the opening one.
    "longer closing fence": "~~~text\n```python\nNOT_PYTHON = 1\n```\n~~~~\n",
    # The same on the other side: a Python block closed by a longer fence runs on into the
    # bash block after it (and so do CRLF replies: "```\r" never closes a block).
    "python block closed by a longer fence": (
        "```python\nx = 1\n````\nThen run:\n```bash\nNOT_PYTHON = 1\n```\n"
    ),
    "CRLF line endings": "```python\r\nx = 1\r\n```\r\nThen:\r\n```bash\r\nNOT_PYTHON = 1\r\n```",
}


@pytest.mark.parametrize("reply", NOT_PYTHON.values(), ids=list(NOT_PYTHON))
def test_extract_code_never_takes_code_from_a_block_tagged_as_another_language(
    reply: str,
) -> None:
    """extract_code promises that blocks tagged as another language are never taken."""
    assert "NOT_PYTHON" not in (extract_code(reply) or "")
