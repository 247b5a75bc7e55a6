"""``restricted-exec run --audit`` and ``restricted-exec audit ...``, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from restricted_exec.audit import AuditDatabase, AuditRecord
from restricted_exec.cli import main


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    for name, source in (("ok.py", "print(6 * 7)"), ("bad.py", "1 / 0"), ("os.py", "import os")):
        program = tmp_path / name
        program.write_text(source)
        main(["run", "--isolation", "inline", "--audit", str(path), str(program)])
    return path


def test_run_with_audit_records_every_run(database: Path) -> None:
    records = AuditDatabase(database).query()
    assert sorted(record.status for record in records) == ["error", "ok", "policy_violation"]


def test_audit_list_shows_runs_newest_first_and_filters(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["audit", "list", str(database)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["started", "(UTC)", "run", "id", "tenant", "caller", "status", "ms"]
    statuses = [line.split()[5] for line in lines[2:]]
    assert statuses == ["policy_violation", "error", "ok"]
    assert main(["audit", "list", str(database), "--status", "error"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_audit_show_prints_code_output_and_error(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (failed,) = AuditDatabase(database).query(status="error")
    (succeeded,) = AuditDatabase(database).query(status="ok")
    capsys.readouterr()
    assert main(["audit", "show", str(database), failed.run_id]) == 0
    shown = capsys.readouterr().out
    assert "ZeroDivisionError: division by zero" in shown and "1 / 0" in shown
    assert main(["audit", "show", str(database), succeeded.run_id]) == 0
    assert "42" in capsys.readouterr().out


def test_audit_export_writes_json_lines(database: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs.jsonl"
    assert main(["audit", "export", str(database), "--out", str(out)]) == 0
    exported = [AuditRecord.model_validate_json(line) for line in out.read_text().splitlines()]
    assert exported == sorted(AuditDatabase(database).query(), key=lambda r: r.started_at)


def test_audit_summary_counts_statuses(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["audit", "summary", str(database)]) == 0
    rows = dict(
        line.split()[:2]
        for line in capsys.readouterr().out.splitlines()[2:]
        if "duration" not in line
    )
    assert rows == {"error": "1", "ok": "1", "policy_violation": "1", "all": "3"}


def test_missing_database_or_run_is_a_clear_error(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "list", str(tmp_path / "nope.db")]) == 2
    assert "no audit database" in capsys.readouterr().err
    assert main(["audit", "show", str(database), "nope"]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_audit_export_shows_what_a_terminal_would_act_on_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "runs.db"
    program = tmp_path / "p.py"
    program.write_text("print('A\\u009b31mRED\\u202eevil\\u007f')")
    main(["run", "--audit", str(path), str(program)])
    capsys.readouterr()
    assert main(["audit", "export", str(path)]) == 0
    out = capsys.readouterr().out
    assert not {"\u009b", "\u202e", "\u007f"} & set(out)
    (record,) = [AuditRecord.model_validate_json(line) for line in out.splitlines()]
    assert record.stdout == "A\u009b31mRED\u202eevil\u007f\n"
