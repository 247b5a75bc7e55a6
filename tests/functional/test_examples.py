"""The scripts in examples/ run and say what the README says they show."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_example(name: str) -> list[str]:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.splitlines()


def test_library_usage_example() -> None:
    lines = _run_example("library_usage.py")
    assert lines[0] == f"ok {sum(x * x for x in range(10))}"
    assert lines[1] == f"0.03 {round(1000 * 1.03**10, 2)}"
    assert lines[3].startswith("policy_violation - `os` is not an allowed module")
    assert lines[4] == "timeout wall"


def test_production_features_example() -> None:
    lines = dict(line.split(": ", 1) for line in _run_example("production_features.py"))
    balance = 0.0
    for _ in range(5 * 12):
        balance = (balance + 3000) * (1 + 0.05 / 12)
    assert lines["acme"] == f"{balance:,.2f} cache hits: False True"
    assert lines["trial"] == "['ok', 'ok', 'rejected']"
    assert lines["clock under a deterministic policy"].startswith("error - date.today()")
    assert lines["stats"] == "6 runs {'error': 1, 'ok': 4, 'rejected': 1} cache hits 1"
    assert lines["audit"] == "6 runs recorded {'error': 1, 'ok': 4, 'rejected': 1}"
    assert lines["article"] == "{'success': True, 'output': '42', 'error': '', 'return_code': 0}"


def test_chat_bot_example() -> None:
    balance = 0.0
    for _ in range(5 * 12):
        balance = (balance + 3000) * (1 + 0.05 / 12)
    yearly = round(3000 * 12 * ((1 + 0.05) ** 5 - 1) / 0.05, 2)
    assert _run_example("chat_bot.py") == [
        f"article flow: After five years you have about {balance:.2f} yuan.",
        f"tool calling: With yearly compounding: {yearly} yuan.",
    ]
