"""restricted_exec's SandboxExecutor beside smolagents' LocalPythonExecutor, on the same
scripted CodeAgent runs (issue 18): what each accepts, what each refuses, and how fast.

    python -m benchmarks.smolagents_executors [--runs 30] [--quick]

The agent is a real ``smolagents.CodeAgent`` driven by a scripted Model (no network): four
steps, a tool call, a typo it recovers from, a final answer. Then each executor alone runs a
list of snippets, and the table says what each did with them. Timing never fails anything.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.core import percentile
from benchmarks.host_floor import print_floor

STEPS = [
    "monthly = 3000\nrate = exchange_rate(base='USD', quote='CNY')\nprint(rate)",
    "total = monthly * 12 * 5 * rat\nprint(total)",
    "total = monthly * 12 * 5 * rate\nprint(round(total, 2))",
    "final_answer(round(total, 2))",
]
EXPECTED = round(3000 * 12 * 5 * 7.1, 2)

# (what it is, the snippet): run by each executor alone, after send_tools({}).
SNIPPETS = [
    ("arithmetic and a print", "print(sum(i * i for i in range(10)))"),
    ("statistics", "import statistics\nstatistics.mean([3, 1, 4])"),
    (
        "a class with a dunder",
        "class V:\n    def __init__(s, x): s.x = x\n"
        "    def __add__(s, o): return V(s.x + o.x)\n(V(1) + V(2)).x",
    ),
    ("read a file", "open('/etc/hostname').read()"),
    ("import os", "import os\nos.getcwd()"),
    ("walk to object's subclasses", "().__class__.__base__.__subclasses__()"),
    ("a frame's globals", "import sys\nsys._getframe().f_globals"),
    ("an endless loop (2 s limit)", "while True:\n    pass"),
    ("400 MB of memory (256 MB limit)", "x = bytearray(400 * 1024 ** 2)\nlen(x)"),
]


def scripted_agent(executor: Any) -> tuple[Any, Any]:
    from smolagents import CodeAgent, Tool
    from smolagents.models import ChatMessage, MessageRole, Model

    class ScriptedModel(Model):
        def __init__(self) -> None:
            super().__init__(model_id="scripted")
            self.replies = iter(STEPS)

        def generate(self, messages: Any, **kwargs: Any) -> ChatMessage:
            code = next(self.replies)
            return ChatMessage(
                role=MessageRole.ASSISTANT, content=f"Thought: go.\n<code>\n{code}\n</code>"
            )

    class ExchangeRate(Tool):
        name = "exchange_rate"
        description = "The exchange rate from one currency to another."
        inputs = {  # noqa: RUF012
            "base": {"type": "string", "description": "from"},
            "quote": {"type": "string", "description": "to"},
        }
        output_type = "number"

        def forward(self, base: str, quote: str) -> float:
            return 7.1

    from smolagents.monitoring import LogLevel

    agent = CodeAgent(
        tools=[ExchangeRate()],
        model=ScriptedModel(),
        executor=executor,
        max_steps=6,
        verbosity_level=LogLevel.OFF,
    )
    return agent, agent.run


def executors(timeout_s: int) -> dict[str, Any]:
    from smolagents.local_python_executor import LocalPythonExecutor

    from restricted_exec import Policy, Sandbox
    from restricted_exec.integrations.smolagents import SandboxExecutor

    sandbox = Sandbox(Policy(timeout_s=timeout_s, memory_mb=256))
    return {
        "restricted_exec SandboxExecutor": lambda: SandboxExecutor(sandbox),
        "smolagents LocalPythonExecutor": lambda: LocalPythonExecutor(
            additional_authorized_imports=["statistics"], timeout_seconds=timeout_s
        ),
        "_sandbox": sandbox,
    }


def time_agent_runs(make: Any, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        agent, run = scripted_agent(make())
        started = time.perf_counter()
        answer = run("How many yuan are 3000 dollars a month for five years?")
        samples.append((time.perf_counter() - started) * 1000)
        agent.cleanup()
        if answer != EXPECTED:
            raise RuntimeError(f"the agent answered {answer!r}, not {EXPECTED!r}")
    return samples


def what_each_does(make: Any) -> list[str]:
    verdicts = []
    for _, code in SNIPPETS:
        executor = make()
        executor.send_tools({})
        started = time.perf_counter()
        try:
            output = executor(code)
            text = repr(output.output)
            verdict = f"ran: {text[:40]}{'...' if len(text) > 40 else ''}"
        except BaseException as problem:  # what each executor raises is the point
            verdict = f"refused: {type(problem).__name__}: {str(problem).splitlines()[0][:60]}"
        verdicts.append(f"{verdict} ({(time.perf_counter() - started) * 1000:.0f} ms)")
        if hasattr(executor, "cleanup"):
            executor.cleanup()
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="3 runs, no snippets: a smoke run")
    parser.add_argument("--out", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args(argv)
    print_floor()
    runs = 3 if args.quick else args.runs
    makers = executors(timeout_s=2)
    sandbox = makers.pop("_sandbox")
    report: dict[str, Any] = {}
    try:
        for name, make in makers.items():
            samples = time_agent_runs(make, runs)
            report[name] = {
                "agent_run_p50_ms": statistics.median(samples),
                "agent_run_p99_ms": percentile(samples, 0.99),
            }
            print(
                f"{name:34s} scripted agent run p50 {statistics.median(samples):7.1f} ms"
                f"  p99 {percentile(samples, 0.99):7.1f} ms  ({runs} runs, 4 steps each)"
            )
        if not args.quick:
            verdicts = {name: what_each_does(make) for name, make in makers.items()}
            report["snippets"] = {
                label: {name: verdicts[name][index] for name in makers}
                for index, (label, _) in enumerate(SNIPPETS)
            }
            for label, by_name in report["snippets"].items():
                print(f"\n{label}:")
                for name, verdict in by_name.items():
                    print(f"  {name:34s} {verdict}")
    finally:
        sandbox.close()
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
