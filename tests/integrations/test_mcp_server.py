"""`restricted-exec mcp` against the MCP SDK's own client: a real server subprocess over stdio,
and one over Streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from integrations.processes import free_port, listening
from integrations.programs import ARTICLE_CODE, cpython_prints
from restricted_exec import ExecutionResult
from restricted_exec.language.catalogue import CATALOGUE, DEFAULT_PRELOAD

SERVER = [sys.executable, "-m", "restricted_exec.cli", "mcp", "--timeout", "2"]


def stdio_client(*extra: str) -> Client:
    return Client(StdioServerParameters(command=SERVER[0], args=[*SERVER[1:], *extra]))


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    port = free_port()
    with listening([*SERVER, "--transport", "streamable-http", "--port", str(port)], port):
        yield f"http://127.0.0.1:{port}/mcp"


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content)


async def run_python(client: Client, **arguments: Any) -> tuple[str, Any, bool]:
    result = await client.call_tool("run_python", arguments)
    return text_of(result), result.structured_content, result.is_error


# ----- stdio ------------------------------------------------------------------------------------


def test_stdio_lists_the_tools_and_runs_the_articles_program_as_cpython_prints_it() -> None:
    async def scenario() -> None:
        async with stdio_client() as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert names == {"run_python", "list_modules", "new_session"}
            text, structured, is_error = await run_python(client, code=ARTICLE_CODE)
            assert not is_error
            assert text == "Output:\n" + cpython_prints(ARTICLE_CODE).rstrip("\n")
            result = ExecutionResult.model_validate_json(json.dumps(structured))
            assert result.ok and result.stdout == cpython_prints(ARTICLE_CODE)
            assert result.isolation == "process"

    asyncio.run(scenario())


def test_stdio_inputs_values_and_errors_reach_the_client_as_data_and_text() -> None:
    async def scenario() -> None:
        async with stdio_client() as client:
            from decimal import Decimal

            text, structured, is_error = await run_python(
                client, code="from decimal import Decimal\nDecimal(str(p)) * 2", inputs={"p": 1.5}
            )
            assert not is_error and text == "Value: Decimal('3.0')"
            assert ExecutionResult.model_validate_json(json.dumps(structured)).value == Decimal(
                "3.0"
            )

            text, structured, is_error = await run_python(client, code="import os")
            assert is_error and "`os` is not an allowed module" in text and "Hint:" in text
            assert structured["status"] == "policy_violation"

            text, structured, is_error = await run_python(client, code="x = [1]\nx[3]")
            assert is_error and text.endswith("IndexError: list index out of range")
            assert structured["error"]["line"] == 2

    asyncio.run(scenario())


def test_stdio_sessions_keep_state_by_the_id_the_model_names() -> None:
    async def scenario() -> None:
        async with stdio_client() as client:
            await run_python(client, code="import statistics\nxs = [3, 1, 4]", session_id="a")
            text, _, _ = await run_python(client, code="statistics.mean(xs)", session_id="a")
            assert text == f"Value: {(3 + 1 + 4) / 3!r}"
            text, _, is_error = await run_python(client, code="xs", session_id="b")
            assert is_error and "NameError: name 'xs' is not defined" in text
            text, _, is_error = await run_python(client, code="xs")  # no session: a fresh run
            assert is_error and "NameError" in text

    asyncio.run(scenario())


def test_stdio_list_modules_is_the_catalogue_of_the_servers_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"modules": ["math", "statistics", "datetime", "json"]}))

    async def scenario() -> None:
        async with stdio_client("--policy", str(policy)) as client:
            listed = (await client.call_tool("list_modules", {})).structured_content
            assert set(listed["modules"]) == {"math", "statistics", "datetime", "json"}
            assert listed["modules"]["math"]["allowed"] == sorted(CATALOGUE["math"].allowed)
            assert listed["preloaded"] == list(DEFAULT_PRELOAD)
            text, _, is_error = await run_python(client, code="import fractions")
            assert is_error and "`fractions` is not an allowed module" in text

    asyncio.run(scenario())


def test_the_limits_from_the_command_line_hold() -> None:
    async def scenario() -> None:
        async with stdio_client() as client:  # --timeout 2
            started = time.monotonic()
            text, structured, is_error = await run_python(
                client, code="print('started')\nwhile True:\n    pass"
            )
            assert is_error and structured["status"] == "timeout"
            assert text.startswith("Output:\nstarted\n\nError: TimeoutError:")
            assert time.monotonic() - started < 10

    asyncio.run(scenario())


def test_a_bad_policy_file_is_a_clear_command_line_error(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"memory_mb": -5}))
    finished = subprocess.run(
        [*SERVER, "--policy", str(policy)], capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 2
    assert finished.stderr.startswith("restricted-exec: ") and "memory_mb" in finished.stderr


# ----- Streamable HTTP --------------------------------------------------------------------------


def test_http_runs_the_articles_program_as_cpython_prints_it(http_url: str) -> None:
    async def scenario() -> None:
        async with Client(http_url) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert names == {"run_python", "list_modules", "new_session"}
            text, structured, is_error = await run_python(client, code=ARTICLE_CODE)
            assert not is_error
            assert ExecutionResult.model_validate_json(
                json.dumps(structured)
            ).stdout == cpython_prints(ARTICLE_CODE)
            assert text == "Output:\n" + cpython_prints(ARTICLE_CODE).rstrip("\n")

    asyncio.run(scenario())


def test_http_sessions_need_an_issued_id_and_two_clients_ids_never_meet(http_url: str) -> None:
    async def scenario() -> None:
        async with Client(http_url) as first, Client(http_url) as second:
            text, _, is_error = await run_python(first, code="y = 1", session_id="guessable")
            assert is_error and "must come from the new_session tool" in text

            mine = (await first.call_tool("new_session", {})).structured_content["session_id"]
            theirs = (await second.call_tool("new_session", {})).structured_content["session_id"]
            assert mine != theirs and len(mine) >= 20
            await run_python(first, code="y = 41", session_id=mine)
            text, _, _ = await run_python(first, code="y + 1", session_id=mine)
            assert text == "Value: 42"
            text, _, is_error = await run_python(second, code="y", session_id=theirs)
            assert is_error and "NameError: name 'y' is not defined" in text

    asyncio.run(scenario())


def test_a_session_closed_to_make_room_is_reported_ended_not_replaced_silently() -> None:
    from restricted_exec import Policy, Sandbox
    from restricted_exec.integrations.mcp_server import build_server

    async def scenario(server: Any) -> None:
        async with Client(server) as client:  # the SDK's client, connected in process
            await run_python(client, code="x = 1", session_id="first")
            await run_python(client, code="y = 2", session_id="second")  # closes "first"
            text, _, is_error = await run_python(client, code="x", session_id="first")
            assert is_error and "has ended" in text and "variables are gone" in text
            text, _, is_error = await run_python(client, code="z = 3\nz", session_id="first")
            assert not is_error and text == "Value: 3"  # a new, empty session under that id

    with Sandbox(Policy(timeout_s=2)) as sandbox:
        asyncio.run(scenario(build_server(sandbox, issued_session_ids=False, max_sessions=1)))


def test_mcp_refuses_inline_isolation() -> None:
    finished = subprocess.run(
        [*SERVER, "--isolation", "inline"], capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 2 and "only in process isolation" in finished.stderr


def test_a_policy_files_modules_keep_the_preloaded_ones(tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"modules": ["math", "statistics"]}))

    async def scenario() -> None:
        async with stdio_client("--policy", str(policy)) as client:
            listed = (await client.call_tool("list_modules", {})).structured_content
            assert set(listed["modules"]) == {"math", "statistics", "datetime", "json"}

    asyncio.run(scenario())
