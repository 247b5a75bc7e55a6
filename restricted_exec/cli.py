"""``restricted-exec``: flags -> Policy -> run -> output and exit code.

A thin layer over the library: everything it does, ``restricted_exec.run`` does.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from restricted_exec.errors import InputError, PolicyError
from restricted_exec.host.audit.cli import add_audit_parser, run_audit_command
from restricted_exec.host.audit.log import AuditLog
from restricted_exec.language.catalogue import CATALOGUE, DEFAULT_PRELOAD
from restricted_exec.language.text import encodable, encodable_data, json_for_terminal, printable
from restricted_exec.language.values import decode
from restricted_exec.policy import Policy
from restricted_exec.result import ExecutionResult
from restricted_exec.sandbox import Sandbox

__all__ = ["EXIT_CODES", "main"]

EXIT_CODES: dict[str, int] = {
    "ok": 0,
    "error": 1,
    "syntax_error": 3,
    "policy_violation": 3,
    "timeout": 4,
    "memory_limit": 4,
    "output_limit": 4,
    "crashed": 5,
    "rejected": 5,
}
"""Exit code per status; 2 is argparse's code for a bad command line."""

_DESCRIPTION = """\
Run untrusted Python (typically written by a language model) in a sandbox and
print what it printed.

The program may use the builtins of ordinary calculation code and a reviewed
catalogue of standard-library modules; math, datetime and json are preloaded.
It cannot open files, import other modules, reach interpreter internals
(__class__, __globals__, frames) or touch the host.
"""

_EPILOG = """\
exit codes:
  0  ok                      3  syntax error or policy violation
  1  the program raised      4  timeout, memory or output limit
  2  bad command line        5  crashed or rejected

examples:
  restricted-exec run examples/compound_interest.py
  echo 'print(2 ** 100)' | restricted-exec run -
  restricted-exec run --json --input principal=3000 examples/compound_interest.py
  restricted-exec run --timeout 0.5 --allow-module statistics calc.py
  restricted-exec modules            # what programs may import, attribute by attribute
  restricted-exec run --audit runs.db calc.py && restricted-exec audit list runs.db
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="restricted-exec",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a program and print its stdout",
        description="Run FILE (or - for stdin) in the sandbox and print its stdout. "
        "On failure, print a one-line reason on stderr and exit non-zero.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("file", metavar="FILE", help="the program's source file, or - for stdin")
    run.add_argument(
        "--json", action="store_true", help="print the whole ExecutionResult as JSON instead"
    )
    _add_policy_arguments(run)
    run.add_argument(
        "--input",
        action="append",
        metavar="NAME=JSON",
        help="bind a global before the program starts, e.g. --input rate=0.05 (repeatable)",
    )
    run.add_argument(
        "--audit",
        metavar="DB",
        help="record the run in this SQLite audit database (see: restricted-exec audit)",
    )

    mcp = commands.add_parser(
        "mcp",
        help="serve the sandbox to MCP clients (needs the [mcp] extra)",
        description="Serve the run_python and list_modules tools over the Model Context "
        "Protocol: on stdio (what a desktop client launches), or on Streamable HTTP. Runs "
        "with the same session_id share variables; each client has its own sessions.",
    )
    mcp.add_argument(
        "--transport",
        choices=("stdio", "streamable-http"),
        default="stdio",
        help="stdio (default) or streamable-http",
    )
    mcp.add_argument("--host", default="127.0.0.1", help="HTTP: the address to listen on")
    mcp.add_argument("--port", type=int, default=8000, help="HTTP: the port (default 8000)")
    mcp.add_argument(
        "--policy",
        metavar="FILE",
        help="a JSON file of Policy settings (the flags below override it)",
    )
    _add_policy_arguments(mcp)

    serve = commands.add_parser(
        "serve",
        help="serve the sandbox over HTTP (needs the [server] extra)",
        description="Serve the HTTP API (/v1/run, /v1/programs, /v1/sessions, /v1/modules, "
        "/healthz, /readyz, /metrics; OpenAPI at /docs) with uvicorn. API keys come from the "
        "config's api_keys_file or the RESTRICTED_EXEC_API_KEYS environment variable.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    serve.add_argument("--config", metavar="FILE", help="a JSON service configuration")

    worker = commands.add_parser(
        "worker",
        help="run queued jobs (needs the [queue] extra and a Redis broker)",
        description="A Celery worker whose jobs run in its own Sandbox, whose policy is the "
        "ceiling of every job's limits. At most once: a job this worker is lost in the middle "
        "of is never run again; its status reads crashed.",
    )
    worker.add_argument(
        "--broker",
        metavar="URL",
        help="the Redis broker (default: $RESTRICTED_EXEC_BROKER_URL, else "
        "redis://127.0.0.1:6379/0)",
    )
    worker.add_argument(
        "--concurrency", type=int, default=None, help="jobs at once (default: the CPU quota)"
    )
    worker.add_argument(
        "--policy", metavar="FILE", help="a JSON file of Policy settings (the flags override it)"
    )
    worker.add_argument(
        "--audit",
        metavar="DB",
        help="record every job's run in this SQLite audit database (see: restricted-exec audit)",
    )
    _add_policy_arguments(worker)

    commands.add_parser(
        "modules",
        help="list the module catalogue and what programs may read from each module",
        description="List every catalogue module, its allowed attributes, and notable denials.",
    )
    add_audit_parser(commands)
    return parser


def _add_policy_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="wall-clock limit (default 5)"
    )
    command.add_argument(
        "--memory-mb", type=int, metavar="MB", help="memory the program may allocate (default 256)"
    )
    command.add_argument(
        "--output-bytes",
        type=int,
        metavar="N",
        help="stdout kept before output_limit (default 1e6)",
    )
    command.add_argument(
        "--allow-module",
        action="append",
        metavar="NAME",
        help="allow importing only the named catalogue modules (repeatable); the preloaded "
        f"{', '.join(DEFAULT_PRELOAD)} stay available. Default: the whole catalogue",
    )
    command.add_argument(
        "--isolation",
        choices=("process", "inline"),
        help="process: a fresh locked-down child per run; inline: this process, language layer "
        "only - one hole in it is code execution as this process; never for untrusted code",
    )


def _policy(arguments: argparse.Namespace) -> Policy:
    settings: dict[str, Any] = {}
    policy_file = getattr(arguments, "policy", None)
    if policy_file is not None:
        settings.update(_policy_file(policy_file))
        modules = settings.get("modules")
        if isinstance(modules, list) and all(isinstance(name, str) for name in modules):
            # As with --allow-module: the preloaded modules stay available.
            settings["modules"] = frozenset(modules) | frozenset(DEFAULT_PRELOAD)
    if arguments.timeout is not None:
        settings["timeout_s"] = arguments.timeout
    if arguments.memory_mb is not None:
        settings["memory_mb"] = arguments.memory_mb
    if arguments.output_bytes is not None:
        settings["output_bytes"] = arguments.output_bytes
    if arguments.allow_module:
        settings["modules"] = frozenset(arguments.allow_module) | frozenset(DEFAULT_PRELOAD)
    if arguments.isolation is not None:
        settings["isolation"] = arguments.isolation
    return Policy(**settings)


def _policy_file(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            settings = json.load(handle)
    except OSError as problem:
        raise InputError(f"--policy {path}: cannot read it ({problem.strerror})") from None
    except ValueError as problem:
        raise InputError(f"--policy {path}: not valid JSON ({problem})") from None
    if not isinstance(settings, dict):
        raise InputError(f"--policy {path}: expected a JSON object of Policy settings")
    return settings


def _inputs(pairs: Sequence[str] | None) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for pair in pairs or ():
        name, separator, text = pair.partition("=")
        if not separator:
            raise InputError(f"--input {pair!r}: expected NAME=JSON")
        try:
            inputs[name] = decode(json.loads(text))
        except json.JSONDecodeError as problem:
            raise InputError(f"--input {name}: not valid JSON ({problem.msg})") from None
    return inputs


def _read_source(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _print_modules() -> None:
    for name in sorted(CATALOGUE):
        spec = CATALOGUE[name]
        preloaded = " (preloaded)" if name in DEFAULT_PRELOAD else ""
        print(f"{name}{preloaded}")
        print(f"  allowed: {' '.join(sorted(spec.allowed))}")
        for attribute, reason in sorted(spec.denied.items()):
            print(f"  denied {attribute}: {reason}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``restricted-exec`` command; returns the exit code."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "modules":
        _print_modules()
        return 0
    if arguments.command == "audit":
        return run_audit_command(arguments)
    if arguments.command == "mcp":
        return _serve_mcp(arguments)
    if arguments.command == "serve":
        return _serve_http(arguments)
    if arguments.command == "worker":
        return _serve_jobs(arguments)
    try:
        source = _read_source(arguments.file)
        policy = _policy(arguments)
        inputs = _inputs(arguments.input)
        audit = AuditLog.sqlite(arguments.audit) if arguments.audit else None
        _escape_what_the_terminal_cannot_show()
        with Sandbox(policy, audit=audit) as sandbox:
            # Without --json the program's output is printed as it comes.
            result = sandbox.run(
                source, inputs=inputs, on_output=None if arguments.json else _print_output
            )
    except (OSError, UnicodeDecodeError) as problem:
        print(f"restricted-exec: cannot read {arguments.file}: {problem}", file=sys.stderr)
        return 2
    except (PolicyError, InputError) as problem:
        print(f"restricted-exec: {problem}", file=sys.stderr)
        return 2
    return _report(result, as_json=arguments.json)


def _serve_mcp(arguments: argparse.Namespace) -> int:
    try:
        policy = _policy(arguments)
    except (PolicyError, InputError) as problem:
        print(f"restricted-exec: {problem}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as problem:  # a policy file's setting pydantic refused
        print(f"restricted-exec: --policy: {problem}", file=sys.stderr)
        return 2
    if policy.isolation != "process":
        print(f"restricted-exec: {_SERVERS_RUN_IN_PROCESS_MODE}", file=sys.stderr)
        return 2
    try:
        from restricted_exec.integrations.mcp_server import build_server
    except ImportError as problem:
        return _missing_extra("mcp", "mcp", problem)
    with Sandbox(policy) as sandbox:
        # On stdio the server has one client, the process that launched it; over HTTP any
        # number, kept apart by session ids the server issues.
        server = build_server(sandbox, issued_session_ids=arguments.transport != "stdio")
        if arguments.transport == "stdio":
            server.run("stdio")
        else:
            server.run("streamable-http", host=arguments.host, port=arguments.port)
    return 0


def _missing_extra(command: str, extra: str, problem: ImportError) -> int:
    print(
        f"restricted-exec {command} needs the {extra} extra: pip install "
        f"'restricted_exec[{extra}]' ({problem})",
        file=sys.stderr,
    )
    return 2


_SERVERS_RUN_IN_PROCESS_MODE = (
    "a server runs code that models wrote, so only in process isolation: inline mode would "
    "run it in the server's own process, behind the language layer alone"
)


def _serve_http(arguments: argparse.Namespace) -> int:
    try:
        import uvicorn

        from restricted_exec.service.app import create_app
        from restricted_exec.service.config import ServiceConfig
    except ImportError as problem:
        return _missing_extra("serve", "server", problem)
    try:
        config = ServiceConfig.load(Path(arguments.config) if arguments.config else None)
        app = create_app(config)  # (which refuses inline isolation, as mcp does)
    except (InputError, ValueError, OSError) as problem:
        print(f"restricted-exec: {problem}", file=sys.stderr)
        return 2
    # SIGTERM: uvicorn stops accepting, lets accepted requests finish (up to a run's
    # timeout and a margin), then the app closes its Sandbox and audit log.
    uvicorn.run(
        app,
        host=arguments.host,
        port=arguments.port,
        timeout_graceful_shutdown=int(config.policy.timeout_s) + 5,
        log_level="info",
    )
    return 0


def _serve_jobs(arguments: argparse.Namespace) -> int:
    try:
        from restricted_exec.jobs.queue import serve_worker
        from restricted_exec.service.admission import cpu_quota
    except ImportError as problem:
        return _missing_extra("worker", "queue", problem)
    try:
        policy = _policy(arguments)
    except (PolicyError, InputError, ValueError, TypeError) as problem:
        print(f"restricted-exec: {problem}", file=sys.stderr)
        return 2
    if policy.isolation != "process":
        print(f"restricted-exec: {_SERVERS_RUN_IN_PROCESS_MODE}", file=sys.stderr)
        return 2
    serve_worker(
        policy,
        broker_url=arguments.broker,
        concurrency=arguments.concurrency or cpu_quota(),
        audit_path=Path(arguments.audit) if arguments.audit else None,
    )
    return 0


def _escape_what_the_terminal_cannot_show() -> None:
    # A result's text is encodable UTF-8 (restricted_exec.language.text); a terminal whose
    # encoding cannot show some of it gets the same backslash escapes, not an error.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def _print_output(text: str) -> None:
    sys.stdout.write(encodable(text))
    sys.stdout.flush()


def _report(result: ExecutionResult, *, as_json: bool) -> int:
    if as_json:
        print(_json_text(result))
    else:
        # The program's output was printed as it came (on_output).
        if result.status != "ok":
            # The program's stdout is its own; our one-line reason shows its controls escaped.
            print(f"restricted-exec: {printable(result.summary())}", file=sys.stderr)
    return EXIT_CODES[result.status]


def _json_text(result: ExecutionResult) -> str:
    try:
        text = result.model_dump_json(indent=2)
    except ValueError:
        # Text that did not come through the runtime (a caller's source in a refusal):
        # the same escapes as everywhere else.
        text = json.dumps(
            encodable_data(result.model_dump(mode="json")), indent=2, ensure_ascii=False
        )
    return json_for_terminal(text)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
