"""A chat bot that computes instead of guessing: the article's whole flow, offline.

    question -> the model writes code -> the sandbox runs it -> the model answers from the output

Two ways to wire it, both shown with a scripted stand-in for the model so this runs without a
network or a key:

1. The article's flow: the model replies with a fenced Python block; ``extract_code`` takes it
   out (the orchestrator step), the sandbox runs it, and the model writes the answer from what
   the code printed (the response-generator step).
2. Tool calling: the model is given the ``run_python`` tool and calls it; ``handle_tool_call``
   runs the call and returns the text the model reads next.

With a real model, replace ``ScriptedModel.reply`` by your client, e.g. with the ``openai``
package::

    from openai import OpenAI
    client = OpenAI()
    response = client.chat.completions.create(
        model="gpt-4.1-mini", messages=messages, tools=[openai_chat_tool()]
    )
    message = response.choices[0].message   # message.content, message.tool_calls

    python examples/chat_bot.py
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from restricted_exec import Policy, Sandbox
from restricted_exec.tools import ToolSessions, extract_code, handle_tool_call, openai_chat_tool

QUESTION = "I save 3000 a month at 5% a year: what do I have after five years?"


@dataclass
class ScriptedModel:
    """Stands in for a chat model: each call returns the next scripted message, in the shape
    of an OpenAI chat completion's message (content, or tool_calls)."""

    script: list[dict[str, Any]]
    seen: list[list[dict[str, Any]]] = field(default_factory=list)

    def reply(
        self, messages: list[dict[str, Any]], tools: list[Any] | None = None
    ) -> dict[str, Any]:
        self.seen.append(list(messages))
        return self.script.pop(0)


def article_flow(sandbox: Sandbox) -> str:
    """1. The model writes code in its reply; we take it out, run it, and let it answer."""
    model = ScriptedModel(
        [
            {
                "role": "assistant",
                "content": "Let me compute that.\n```python\nmonthly = 3000\nrate = 0.05\n"
                "balance = 0\nfor month in range(5 * 12):\n"
                "    balance = (balance + monthly) * (1 + rate / 12)\n"
                "print(f'{balance:.2f}')\n```",
            },
            # The response generator: in a real bot the model writes this from the output.
            {"role": "assistant", "content": "After five years you have about {output} yuan."},
        ]
    )
    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    reply = model.reply(messages)
    code = extract_code(reply["content"])
    if code is None:  # the model answered in words: nothing to run
        return str(reply["content"])
    result = sandbox.run(code)
    if not result.ok:
        return f"I could not compute it: {result.error.message if result.error else result.status}"
    messages += [reply, {"role": "user", "content": f"The code printed:\n{result.stdout}"}]
    answer = model.reply(messages)
    # (A real model writes the whole answer; this stand-in fills its one blank.)
    return str(answer["content"]).replace("{output}", result.stdout.strip())


def tool_calling_flow(sandbox: Sandbox) -> str:
    """2. The model calls the run_python tool, twice in one session, then answers."""

    def call(call_id: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": call_id,
            "type": "function",
            "function": {"name": "run_python", "arguments": json.dumps(arguments)},
        }

    model = ScriptedModel(
        [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    call("call_1", {"code": "P = 3000 * 12\nr = 0.05\nt = 5", "session_id": "s"}),
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    call(
                        "call_2", {"code": "round(P * ((1 + r)**t - 1) / r, 2)", "session_id": "s"}
                    ),
                ],
            },
            {"role": "assistant", "content": "With yearly compounding: {value} yuan."},
        ]
    )
    tools = [openai_chat_tool()]
    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    with ToolSessions(sandbox) as sessions:
        while True:
            reply = model.reply(messages, tools=tools)
            messages.append(reply)
            if not reply.get("tool_calls"):
                break
            for tool_call in reply["tool_calls"]:
                text = handle_tool_call(tool_call["function"]["arguments"], sessions=sessions)
                messages.append({"role": "tool", "tool_call_id": tool_call["id"], "content": text})
    last_tool_text = next(m["content"] for m in reversed(messages) if m["role"] == "tool")
    return str(reply["content"]).replace("{value}", last_tool_text.removeprefix("Value: "))


def main() -> None:
    with Sandbox(Policy(timeout_s=5)) as sandbox:
        print("article flow:", article_flow(sandbox))
        print("tool calling:", tool_calling_flow(sandbox))


if __name__ == "__main__":
    main()
