"""SandboxExecutor inside a real smolagents CodeAgent, driven by a scripted Model (no network):
several steps, a tool call, a variable kept across steps, an error the agent recovers from,
and a final answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from smolagents import CodeAgent, Tool
from smolagents.local_python_executor import InterpreterError
from smolagents.models import ChatMessage, MessageRole, Model

from restricted_exec import Policy, Sandbox
from restricted_exec.integrations.smolagents import SandboxExecutor


class ScriptedModel(Model):
    """Answers each step with the next scripted reply; keeps what the agent showed it."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(model_id="scripted")
        self.replies = iter(replies)
        self.seen: list[str] = []

    def generate(
        self,
        messages: list[ChatMessage],
        stop_sequences: list[str] | None = None,
        response_format: dict[str, str] | None = None,
        tools_to_call_from: list[Tool] | None = None,
        **kwargs: Any,
    ) -> ChatMessage:
        self.seen.append(_text_of(messages[-1]))
        return ChatMessage(role=MessageRole.ASSISTANT, content=next(self.replies))


def _text_of(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    return "\n".join(part.get("text", "") for part in message.content or [])


class ExchangeRate(Tool):
    name = "exchange_rate"
    description = "The exchange rate from one currency to another."
    inputs = {  # noqa: RUF012  (smolagents' own class attribute)
        "base": {"type": "string", "description": "currency to convert from"},
        "quote": {"type": "string", "description": "currency to convert to"},
    }
    output_type = "number"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def forward(self, base: str, quote: str) -> float:
        self.calls.append((base, quote))
        return {("USD", "CNY"): 7.1}[(base, quote)]


def step(code: str, thought: str = "I will compute it.") -> str:
    return f"Thought: {thought}\n<code>\n{code}\n</code>"


@pytest.fixture()
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(Policy(timeout_s=5)) as box:
        yield box


def test_a_code_agent_runs_steps_calls_a_tool_recovers_from_an_error_and_answers(
    sandbox: Sandbox,
) -> None:
    rate = ExchangeRate()
    model = ScriptedModel(
        [
            step("monthly = 3000\nrate = exchange_rate(base='USD', quote='CNY')\nprint(rate)"),
            step("total = monthly * 12 * 5 * rat\nprint(total)"),  # a typo: NameError
            step("total = monthly * 12 * 5 * rate\nprint(round(total, 2))"),
            step("final_answer(round(total, 2))"),
        ]
    )
    executor = SandboxExecutor(sandbox)
    agent = CodeAgent(tools=[rate], model=model, executor=executor, max_steps=6)
    try:
        answer = agent.run("How many yuan are 3000 dollars a month for five years?")
    finally:
        agent.cleanup()
    assert answer == round(3000 * 12 * 5 * 7.1, 2)
    assert rate.calls == [("USD", "CNY")]
    # The model saw each step's output, and the error of the one that failed, as observations.
    observations = "\n".join(model.seen)
    assert "7.1" in observations
    assert "NameError: name 'rat' is not defined" in observations
    assert str(round(3000 * 12 * 5 * 7.1, 2)) in observations


def test_variables_sent_by_the_agent_are_bound_and_state_carries_across_runs(
    sandbox: Sandbox,
) -> None:
    model = ScriptedModel(
        [
            step("doubled = [2 * x for x in values]\nprint(doubled)"),
            step("final_answer(sum(doubled))"),
            step("final_answer(len(doubled))"),  # a second run, state kept (reset=False)
        ]
    )
    executor = SandboxExecutor(sandbox)
    agent = CodeAgent(tools=[], model=model, executor=executor, max_steps=4)
    try:
        assert agent.run("Sum the doubled values.", additional_args={"values": [1, 2, 3]}) == 12
        assert agent.run("How many are there?", reset=False) == 3
    finally:
        agent.cleanup()


def test_a_refused_import_reaches_the_model_with_what_is_allowed(sandbox: Sandbox) -> None:
    model = ScriptedModel(
        [
            step("import os\nprint(os.listdir('/'))"),
            step("import math\nfinal_answer(math.floor(2.5))"),
        ]
    )
    agent = CodeAgent(tools=[], model=model, executor=SandboxExecutor(sandbox), max_steps=3)
    try:
        assert agent.run("Anything.") == 2
    finally:
        agent.cleanup()
    assert "`os` is not an allowed module; allowed: " in "\n".join(model.seen)


def test_the_executor_alone_speaks_smolagents_code_output(sandbox: Sandbox) -> None:
    executor = SandboxExecutor(sandbox)
    try:
        executor.send_tools({})
        executor.send_variables({"x": 4})
        output = executor("print('hi')\nx * 10")
        assert (output.output, output.logs, output.is_final_answer) == (40, "hi\n", False)
        with pytest.raises(InterpreterError, match="ZeroDivisionError"):
            executor("print('before')\n1 / 0")
        assert executor.state["_print_outputs"] == "before\n"
        with pytest.raises(ValueError, match="not data"):
            executor.send_variables({"f": object()})
    finally:
        executor.cleanup()


def test_final_answer_ends_the_step_even_if_the_program_catches_it(sandbox: Sandbox) -> None:
    executor = SandboxExecutor(sandbox)
    try:
        executor.send_tools({"final_answer": _final_answer_tool()})
        output = executor("try:\n    final_answer(41)\nexcept Exception:\n    pass\n42")
        assert (output.output, output.is_final_answer) == (41, True)
    finally:
        executor.cleanup()


def _final_answer_tool() -> Tool:
    from smolagents.default_tools import FinalAnswerTool

    return FinalAnswerTool()


def test_a_session_that_ended_between_steps_goes_on_from_its_state(sandbox: Sandbox) -> None:
    executor = SandboxExecutor(sandbox)
    try:
        executor.send_tools({})
        executor("rate = 0.05\ndef grow(p):\n    return p * (1 + rate)")
        assert executor._session is not None
        executor._session.close()  # as the Sandbox's idle limit would
        output = executor("round(grow(100), 2)")
        assert output.output == 105.0
        assert output.logs.startswith("Note: the sandbox session ended")
    finally:
        executor.cleanup()
