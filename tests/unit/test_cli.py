"""The restricted-exec command: output, exit codes, flags, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from restricted_exec.cli import EXIT_CODES, main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_article_example_through_the_installed_command() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "restricted_exec.cli",
            "run",
            str(EXAMPLES / "compound_interest.py"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "五年后总额约为: 198922.73 元\n"


def test_stdin_is_read_with_a_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("print(2 ** 100)"))
    assert main(["run", "-"]) == 0
    assert capsys.readouterr().out == f"{2**100}\n"


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("print('fine')", "ok"),
        ("1 / 0", "error"),
        ("x = (", "syntax_error"),
        ("import os", "policy_violation"),
        ("while True:\n    pass", "timeout"),
    ],
    ids=["ok", "error", "syntax", "policy", "timeout"],
)
def test_exit_code_and_one_line_reason_per_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, status: str
) -> None:
    program = tmp_path / "p.py"
    program.write_text(source)
    code = main(["run", "--timeout", "0.2", "--isolation", "inline", str(program)])
    assert code == EXIT_CODES[status]
    err = capsys.readouterr().err
    if status == "ok":
        assert err == ""
    else:
        assert len(err.strip().splitlines()) == 1
        assert status in err


def test_json_flag_prints_a_parseable_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "p.py"
    program.write_text("print('hi')\nrate * 2")
    assert main(["run", "--json", "--input", "rate=0.5", str(program)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["status"] == "ok"
    assert payload["stdout"] == "hi\n"
    assert payload["value"] == 1.0


def test_allow_module_narrows_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "p.py"
    program.write_text("import statistics\nimport random")
    code = main(["run", "--allow-module", "statistics", str(program)])
    assert code == EXIT_CODES["policy_violation"]
    err = capsys.readouterr().err
    assert "`random` is not an allowed module" in err


def test_unknown_module_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "p.py"
    program.write_text("1")
    assert main(["run", "--allow-module", "os", str(program)]) == 2
    assert "not in the reviewed catalogue" in capsys.readouterr().err


def test_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "/nonexistent/program.py"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_bad_input_json_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "p.py"
    program.write_text("1")
    assert main(["run", "--input", "x={", str(program)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_help_teaches_the_flags_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for needle in ("--json", "--timeout", "--memory-mb", "--allow-module", "--input", "exit codes"):
        assert needle in text


def test_modules_command_lists_the_catalogue_with_reasons(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["modules"]) == 0
    text = capsys.readouterr().out
    assert "math (preloaded)" in text
    assert "denied get_type_hints: evaluates string annotations with eval()" in text


TERMINAL_CONTROLS = "A\u009b31mRED\u202eevil\u007f"


def test_json_output_shows_what_a_terminal_would_act_on_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Red-team round 8: JSON escapes C0 controls but wrote C1 (CSI), DEL and bidi overrides raw.
    program = tmp_path / "p.py"
    program.write_text(f"print({TERMINAL_CONTROLS!r})")
    assert main(["run", "--json", str(program)]) == 0
    out = capsys.readouterr().out
    assert not {"\u009b", "\u202e", "\u007f"} & set(out)
    assert json.loads(out)["stdout"] == TERMINAL_CONTROLS + "\n"
