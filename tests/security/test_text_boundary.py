"""Text a program makes that no encoder accepts (lone surrogates) crosses every boundary.

A lone surrogate is escaped once, where the run's text is made, as the six
characters ``\\udXXX`` (Python's ``backslashreplace``): the ExecutionResult then
serialises as is, so the result cache, the audit log and the CLI all see the
same text. The programs here are benign, so the inline-mode checks run them in
this process; everything else runs in process mode.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from restricted_exec import ExecutionResult, Policy, Sandbox
from restricted_exec.cli import main
from restricted_exec.host.result_cache import ResultCache

SURROGATES = "print('a' + chr(0xD800) + 'b')\n['x' + chr(0xDC80), {chr(0xD801): chr(0xDFFF)}]"


@pytest.mark.parametrize("isolation", ["process", "inline"])
def test_a_printed_and_returned_lone_surrogate_comes_back_escaped(isolation: str) -> None:
    with Sandbox(Policy(isolation=isolation)) as sandbox:
        result = sandbox.run(SURROGATES)
    assert result.status == "ok"
    assert result.stdout == "a\\ud800b\n"
    assert result.value == ["x\\udc80", {"\\ud801": "\\udfff"}]
    assert ExecutionResult.model_validate_json(result.model_dump_json()) == result


def test_a_lone_surrogate_in_an_error_message_and_traceback_is_escaped() -> None:
    with Sandbox() as sandbox:
        result = sandbox.run("raise ValueError('bad ' + chr(0xD800))")
    assert result.status == "error" and result.error is not None
    assert result.error.message == "bad \\ud800"
    assert result.error.traceback.endswith("ValueError: bad \\ud800")
    result.model_dump_json()  # serialisable


def test_deterministic_run_printing_a_lone_surrogate_is_cached_and_the_hit_equals_the_run() -> None:
    with Sandbox(Policy(deterministic=True)) as sandbox:
        first = sandbox.run(SURROGATES)
        second = sandbox.run(SURROGATES)
    assert first.status == "ok" and not first.cache_hit
    assert second.cache_hit
    assert (second.stdout, second.value) == (first.stdout, first.value)


def test_deterministic_value_over_a_million_items_is_returned_and_cached() -> None:
    policy = Policy(deterministic=True, max_value_items=2_000_000)
    with Sandbox(policy) as sandbox:
        first = sandbox.run("[0] * 1_200_000")
        second = sandbox.run("[0] * 1_200_000")
    assert first.status == "ok" and len(first.value) == 1_200_000
    assert second.cache_hit and second.value == first.value


def test_result_cache_skips_a_result_it_cannot_serialise_instead_of_raising() -> None:
    # A result made elsewhere than the runtime (a misbehaving child) may still hold one.
    cache = ResultCache(10, 1 << 20, ttl_s=60)
    assert cache.put("key", ExecutionResult(status="ok", stdout="\ud800")) is False
    assert cache.get("key") is None


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_run_printing_a_lone_surrogate_exits_0_with_the_escape(
    as_json: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "p.py"
    program.write_text("print('a' + chr(0xD800))\n", encoding="utf-8")
    code = main(["run", *(["--json"] if as_json else []), str(program)])
    out = capsys.readouterr().out
    assert code == 0
    if as_json:
        assert json.loads(out)["stdout"] == "a\\ud800\n"
    else:
        assert out == "a\\ud800\n"


def test_cli_output_the_terminal_cannot_encode_is_escaped_not_a_traceback() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "restricted_exec.cli", "run", "-"],
        input="print('caf\\u00e9'); raise ValueError('\\x1b[2J')",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={"PYTHONIOENCODING": "ascii", "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert completed.stdout == "caf\\xe9\n"
    assert "Traceback" not in completed.stderr
    assert "\x1b" not in completed.stderr and "\\x1b[2J" in completed.stderr


def test_output_bytes_counts_a_lone_surrogate_as_the_escape_the_caller_gets() -> None:
    with Sandbox(Policy(output_bytes=10)) as sandbox:
        result = sandbox.run("print(chr(0xD800) * 3)")
    assert result.status == "output_limit"
    assert result.stdout == "\\ud800\\ud8"
    assert len(result.stdout.encode()) == 10
