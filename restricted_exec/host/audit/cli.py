"""``restricted-exec audit``: list, show, export and summarise the runs in an audit database."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from restricted_exec.host.audit.record import AuditRecord
from restricted_exec.host.audit.sqlite import AuditDatabase
from restricted_exec.language.text import printable

__all__ = ["add_audit_parser", "run_audit_command"]


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO time (2026-11-26 or 2026-11-26T21:30:00+00:00)"
        ) from None
    # A time without a zone means UTC, the zone the database keeps.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", help="only this tenant's runs")
    parser.add_argument("--caller", help="only runs asked for by this caller (an API key id)")
    parser.add_argument("--status", help="only runs with this status (ok, error, timeout, ...)")
    parser.add_argument("--since", type=_moment, metavar="ISO", help="runs started at or after")
    parser.add_argument("--until", type=_moment, metavar="ISO", help="runs started before")


def add_audit_parser(commands: Any) -> None:
    """Add the ``audit`` command and its subcommands to an argparse subparsers object."""
    audit = commands.add_parser(
        "audit",
        help="query an audit database (list, show, export, summary)",
        description="Query the SQLite database an AuditLog writes (restricted-exec run --audit DB, "
        "or Sandbox(audit=AuditLog.sqlite(DB))). Times are UTC.",
    )
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="a table of runs, newest first")
    listing.add_argument("database", metavar="DB")
    _add_filters(listing)
    listing.add_argument("--limit", type=int, default=50, help="most rows (default 50)")

    show = actions.add_parser("show", help="one run: its code, output and error")
    show.add_argument("database", metavar="DB")
    show.add_argument("run_id", metavar="RUN_ID")

    export = actions.add_parser("export", help="runs as JSON lines, oldest first")
    export.add_argument("database", metavar="DB")
    _add_filters(export)
    export.add_argument("--out", metavar="FILE", help="write here instead of stdout")

    summary = actions.add_parser("summary", help="runs per status and p50/p99 duration")
    summary.add_argument("database", metavar="DB")
    _add_filters(summary)


def run_audit_command(arguments: argparse.Namespace) -> int:
    """Carry out a parsed ``audit`` command; the exit code (2: no such database or run)."""
    try:
        database = AuditDatabase(arguments.database)
    except FileNotFoundError as problem:
        print(f"restricted-exec: {problem}", file=sys.stderr)
        return 2
    action = arguments.audit_command
    if action == "show":
        record = database.get(arguments.run_id)
        if record is None:
            print(
                f"restricted-exec: no run {arguments.run_id!r} in {database.path}", file=sys.stderr
            )
            return 2
        _print_run(record)
        return 0
    filters = {
        "tenant": arguments.tenant,
        "caller": arguments.caller,
        "status": arguments.status,
        "since": arguments.since,
        "until": arguments.until,
    }
    if action == "list":
        _print_table(
            ("started (UTC)", "run id", "tenant", "caller", "status", "ms"),
            [
                (
                    record.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                    record.run_id,
                    printable(record.tenant),
                    printable(record.caller or "-"),
                    record.status + (" (cached)" if record.cache_hit else ""),
                    f"{record.duration_ms:.2f}",
                )
                for record in database.query(limit=arguments.limit, **filters)
            ],
        )
    elif action == "export":
        if arguments.out:
            with open(arguments.out, "w", encoding="utf-8") as out:
                count = database.export_jsonl(out, **filters)
            print(f"{count} runs written to {arguments.out}", file=sys.stderr)
        else:
            database.export_jsonl(sys.stdout, **filters)
    else:
        result = database.summary(**filters)
        rows = [(status, str(count)) for status, count in result.by_status.items()]
        _print_table(("status", "runs"), [*rows, ("all", str(result.runs))])
        if result.p50_ms is not None and result.p99_ms is not None:
            print(f"duration: p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms")
    return 0


def _print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * width for width in widths), *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _print_run(record: AuditRecord) -> None:
    facts = [
        ("run id", record.run_id),
        ("started", record.started_at.isoformat()),
        ("tenant", record.tenant),
        ("caller", record.caller or "-"),
        ("status", record.status + (" (from the result cache)" if record.cache_hit else "")),
        ("duration", f"{record.duration_ms:.2f} ms"),
        ("cpu", f"{record.cpu_ms:.2f} ms" if record.cpu_ms is not None else "-"),
        ("peak rss", f"{record.peak_rss_kb} KB" if record.peak_rss_kb is not None else "-"),
        ("isolation", record.isolation),
        ("code sha256", record.code_sha256),
        ("inputs sha256", record.inputs_sha256 or "-"),
        ("policy sha256", record.policy_sha256),
    ]
    if record.error_type is not None:
        facts.append(("error", f"{record.error_type}: {record.error_message}"))
    # Everything a program (or a tenant name) chose is printed with its terminal
    # controls escaped: an audit reader's terminal must not run the program's
    # escape sequences.
    for name, value in facts:
        print(f"{name + ':':15}{printable(value)}")
    print("--- code" + (" (truncated)" if record.code_truncated else ""))
    print(printable(record.code.rstrip("\n"), keep_lines=True))
    print("--- stdout" + (" (truncated)" if record.stdout_truncated else ""))
    print(printable(record.stdout.rstrip("\n"), keep_lines=True))
