"""restricted_exec.tools: the tool's definitions, the handler a model's call goes through, and
taking the code out of a model's reply."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator

import jsonschema
import pytest

from restricted_exec import Policy, Sandbox
from restricted_exec.tools import (
    TOOL_NAME,
    ToolSessions,
    anthropic_tool,
    extract_code,
    handle_tool_call,
    openai_chat_tool,
    openai_responses_tool,
    parameters_schema,
    result_text,
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(Policy(timeout_s=2, isolation="inline")) as box:
        yield box


def cpython_prints(code: str) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})
    return printed.getvalue()


# ----- definitions ------------------------------------------------------------------------------


def test_the_parameters_are_valid_json_schema_that_accepts_a_call_and_refuses_a_wrong_one() -> None:
    schema = parameters_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate({"code": "print(1)", "inputs": {"rate": 0.05}, "session_id": "chat-1"})
    for wrong in ({}, {"code": 3}, {"code": "1", "extra": True}, {"code": "1", "inputs": [1]}):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(wrong)


def test_each_model_api_gets_the_same_parameters_in_its_own_envelope() -> None:
    schema = parameters_schema()
    chat = openai_chat_tool()
    assert chat["type"] == "function" and chat["function"]["name"] == TOOL_NAME
    assert chat["function"]["parameters"] == schema
    responses = openai_responses_tool()
    assert responses["type"] == "function" and responses["name"] == TOOL_NAME
    assert responses["parameters"] == schema
    anthropic = anthropic_tool()
    assert anthropic["name"] == TOOL_NAME and anthropic["input_schema"] == schema
    assert (
        "session_id" not in openai_chat_tool(sessions=False)["function"]["parameters"]["properties"]
    )


# ----- handle_tool_call -------------------------------------------------------------------------

ARTICLE_CODE = (
    "P = 3000 * 12\nr = 0.05\nt = 5\nA = P * ((1 + r)**t - 1) / r\n"
    'print(f"五年后总额约为: {A:.2f} 元")\n'
)


def test_a_call_as_json_text_returns_what_cpython_prints(sandbox: Sandbox) -> None:
    text = handle_tool_call(json.dumps({"code": ARTICLE_CODE}), sandbox=sandbox)
    assert text == "Output:\n" + cpython_prints(ARTICLE_CODE).rstrip("\n")


def test_a_call_as_a_mapping_with_inputs_returns_the_last_expressions_value(
    sandbox: Sandbox,
) -> None:
    text = handle_tool_call(
        {"code": "round(p * (1 + r) ** 2, 2)", "inputs": {"p": 100, "r": 0.1}}, sandbox=sandbox
    )
    assert text == f"Value: {round(100 * 1.1**2, 2)!r}"


def test_an_exception_says_its_line_and_shows_the_traceback(sandbox: Sandbox) -> None:
    text = handle_tool_call({"code": "print('before')\nx = 1 / 0\n"}, sandbox=sandbox)
    assert text.startswith("Output:\nbefore\n\nError (line 2):\nTraceback")
    assert text.endswith("ZeroDivisionError: division by zero")


def test_a_refused_import_names_the_modules_that_are_allowed(sandbox: Sandbox) -> None:
    text = handle_tool_call({"code": "import os\nprint(os.getcwd())"}, sandbox=sandbox)
    assert text.startswith("Error (line 1): PolicyViolation: `os` is not an allowed module")
    assert "allowed: " in text and "math" in text and "statistics" in text
    assert "Hint:" in text


def test_a_syntax_error_and_a_timeout_say_what_to_do(sandbox: Sandbox) -> None:
    assert handle_tool_call({"code": "print("}, sandbox=sandbox).startswith(
        "Error (line 1): SyntaxError: "
    )
    text = handle_tool_call({"code": "print('started')\nwhile True:\n    pass"}, sandbox=sandbox)
    assert text.startswith("Output:\nstarted\n\nError: TimeoutError: ")
    assert "Hint: Make the code do less work" in text


def test_a_program_that_prints_nothing_is_told_so(sandbox: Sandbox) -> None:
    assert "printed nothing" in handle_tool_call({"code": "x = 1"}, sandbox=sandbox)


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "an object with a `code` string"),
        ({}, "`code` must be a string"),
        ({"code": 3}, "`code` must be a string"),
        ({"code": "1", "inputs": [1]}, "`inputs` must be an object"),
        ({"code": "1", "session_id": 7}, "`session_id` must be a string"),
        ({"code": "1", "language": "python"}, "unknown argument(s) 'language'"),
        ({"code": "1", "inputs": {"not a name": 1}}, "not understood"),
    ],
)
def test_arguments_a_model_got_wrong_come_back_as_text_that_says_what_is_wrong(
    sandbox: Sandbox, arguments: object, says: str
) -> None:
    text = handle_tool_call(arguments, sandbox=sandbox)  # type: ignore[arg-type]
    assert text.startswith("The tool call was not understood: ")
    assert says in text


def test_a_session_id_without_sessions_is_refused_with_advice(sandbox: Sandbox) -> None:
    text = handle_tool_call({"code": "x = 1", "session_id": "a"}, sandbox=sandbox)
    assert "keeps no sessions" in text


def test_calls_with_one_session_id_share_their_variables_and_others_do_not(
    sandbox: Sandbox,
) -> None:
    with ToolSessions(sandbox) as sessions:
        handle_tool_call(
            {"code": "import statistics\nxs = [3, 1, 4]", "session_id": "a"}, sessions=sessions
        )
        assert (
            handle_tool_call({"code": "statistics.mean(xs)", "session_id": "a"}, sessions=sessions)
            == f"Value: {(3 + 1 + 4) / 3!r}"
        )
        other = handle_tool_call({"code": "xs", "session_id": "b"}, sessions=sessions)
        assert "NameError: name 'xs' is not defined" in other


def test_tool_sessions_keep_at_most_their_limit_and_close_the_least_recent(
    sandbox: Sandbox,
) -> None:
    with ToolSessions(sandbox, max_sessions=2) as sessions:
        first = sessions.get("1")
        sessions.get("2")
        sessions.get("1")  # now the most recent
        sessions.get("3")
        assert not first.closed
        assert "NameError" in handle_tool_call(
            {"code": "y", "session_id": "2"}, sessions=sessions
        )  # "2" was closed and opened again, empty


def test_an_explicit_session_wins_over_the_session_id(sandbox: Sandbox) -> None:
    with sandbox.session() as session, ToolSessions(sandbox) as sessions:
        handle_tool_call({"code": "z = 5"}, session=session)
        text = handle_tool_call(
            {"code": "z", "session_id": "x"}, session=session, sessions=sessions
        )
        assert text == "Value: 5"


def test_long_output_is_cut_in_the_middle_with_a_note_that_says_how_much(
    sandbox: Sandbox,
) -> None:
    code = "for i in range(3000):\n    print(i)"
    text = handle_tool_call({"code": code}, sandbox=sandbox, max_chars=1000)
    assert len(text) <= 1000
    assert text.startswith("Output:\n0\n1\n2\n") and text.endswith("2998\n2999")
    full = result_text(sandbox.run(code), max_chars=10**9)
    head, rest = text.split("\n[... ", 1)
    count, tail = rest.split(" characters cut: the tool returns at most 1,000 ...]\n", 1)
    assert full.startswith(head) and full.endswith(tail)
    assert len(head) + int(count.replace(",", "")) + len(tail) == len(full)


def test_a_closed_sandbox_is_reported_not_raised() -> None:
    box = Sandbox(Policy(isolation="inline"))
    box.close()
    assert handle_tool_call({"code": "1"}, sandbox=box).startswith("The sandbox is not available")


# ----- extract_code -----------------------------------------------------------------------------


def test_python_blocks_are_joined_in_order_and_other_languages_are_left_out() -> None:
    reply = (
        "First the data:\n```python\nxs = [1, 2, 3]\n```\n"
        "Run this in a shell:\n```bash\nrm -rf /\n```\n"
        "then\n```py\nprint(sum(xs))\n```\nDone."
    )
    assert extract_code(reply) == "xs = [1, 2, 3]\nprint(sum(xs))\n"
    assert cpython_prints(extract_code(reply) or "") == "6\n"


def test_untagged_blocks_count_only_when_no_block_is_tagged_python() -> None:
    assert extract_code("```\nprint(1)\n```") == "print(1)\n"
    assert extract_code("```\nnot this\n```\n```python\nprint(2)\n```") == "print(2)\n"


def test_tilde_fences_longer_fences_and_indented_fences() -> None:
    assert extract_code("~~~python\nprint('t')\n~~~") == "print('t')\n"
    inner = "````python\ns = '''\n```\n'''\nprint(s)\n````"
    assert extract_code(inner) == "s = '''\n```\n'''\nprint(s)\n"
    indented = "  ```python\n  x = 1\n  if x:\n      print(x)\n  ```"
    assert extract_code(indented) == "x = 1\nif x:\n    print(x)\n"
    assert cpython_prints(extract_code(indented) or "") == "1\n"


def test_no_code_gives_none() -> None:
    assert extract_code("The answer is 42.") is None
    assert extract_code('```json\n{"a": 1}\n```') is None
    assert extract_code("```python\n\n```") is None


# ----- what a review found ----------------------------------------------------------------------


def test_a_call_without_a_session_runs_on_the_sessions_sandbox_under_its_tenant() -> None:
    narrow = Policy(isolation="inline", modules=frozenset({"math", "datetime", "json"}))
    with Sandbox(narrow) as box, ToolSessions(box, tenant="acme") as sessions:
        text = handle_tool_call({"code": "import random"}, sessions=sessions)
        assert "`random` is not an allowed module" in text
        assert box.stats().tenants["acme"].runs == 1


def test_arguments_nested_past_the_parsers_depth_come_back_as_text(sandbox: Sandbox) -> None:
    arguments = '{"code": "1", "inputs": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    text = handle_tool_call(arguments, sandbox=sandbox)
    assert text.startswith("The tool call was not understood: ")


def test_a_max_chars_too_small_is_refused_before_anything_runs(sandbox: Sandbox) -> None:
    with sandbox.session() as session:
        with pytest.raises(ValueError, match="max_chars"):
            handle_tool_call({"code": "ran = True"}, session=session, max_chars=50)
        assert "NameError" in handle_tool_call({"code": "ran"}, session=session)


def test_evicting_a_running_session_does_not_wait_for_its_run() -> None:
    import threading

    with Sandbox(Policy(timeout_s=3)) as box, ToolSessions(box, max_sessions=1) as sessions:
        busy = sessions.get("a")
        running = threading.Thread(target=busy.run, args=("while True:\n    pass",))
        running.start()
        try:
            sessions.get("b")  # evicts "a", whose run goes on until its timeout
            assert running.is_alive()
        finally:
            running.join()
