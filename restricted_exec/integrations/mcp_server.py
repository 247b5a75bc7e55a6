"""restricted_exec as a Model Context Protocol server, on the official ``mcp`` SDK (extra
``[mcp]``): ``restricted-exec mcp`` serves it over stdio, or over Streamable HTTP.

Its tools:

- ``run_python`` (``code``, optional ``inputs`` and ``session_id``): runs the code and returns
  the text ``restricted_exec.tools`` writes for a model, with the whole ExecutionResult as
  structured content (its JSON form: ``ExecutionResult.model_validate_json(json.dumps(it))``
  gives the result back);
- ``list_modules``: what programs may import, attribute by attribute;
- ``new_session``: a session id (see below).

Sessions: on stdio the server serves the one client that launched it, and the model names
its sessions; over HTTP a ``session_id`` must come from a third tool, ``new_session`` (see
``_ServerSessions``: the protocol is stateless, so an id nobody else can guess is what keeps
clients apart).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any

from mcp.server import MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from restricted_exec.language.catalogue import listing
from restricted_exec.result import ExecutionResult
from restricted_exec.sandbox import Sandbox
from restricted_exec.tools import (
    DEFAULT_MAX_CHARS,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    ToolSessions,
    bounded,
    run_tool_call_async,
)

__all__ = ["LIST_MODULES_TOOL", "NEW_SESSION_TOOL", "build_server"]

LIST_MODULES_TOOL = "list_modules"
NEW_SESSION_TOOL = "new_session"

_INSTRUCTIONS = (
    "Use run_python for every calculation: it runs Python in a sandbox and returns what the "
    "code printed and the value of its last expression. Pass the same session_id to keep "
    "variables between calls. list_modules says what the code may import."
)
_INSTRUCTIONS_ISSUED = (
    "Use run_python for every calculation: it runs Python in a sandbox and returns what the "
    "code printed and the value of its last expression. To keep variables between calls, get "
    f"a session_id from {NEW_SESSION_TOOL} and pass it to each call. list_modules says what "
    "the code may import."
)


class _ServerSessions:
    """The sessions of this server's clients, by ``session_id``. The 2026-07-28 protocol is
    stateless (each request stands alone, with no connection to key anything by), so:

    - on stdio the server process serves the one client that launched it, and any
      ``session_id`` the model picks is that client's;
    - on HTTP many clients may reach one server, so a ``session_id`` must be one this server
      issued (``new_session``: 128 random bits). Knowing the id is what gives a client its
      session; an id another client picked cannot be guessed. The clients share the server's
      pool of sessions (``max_sessions``, the least recently used closed first).

    A session that ended (closed to make room, or idle past its limit) is said to have ended
    when its id is next used, never silently replaced by an empty one.
    """

    def __init__(self, sessions: ToolSessions, *, issued_only: bool) -> None:
        self.sessions = sessions
        self._issued_only = issued_only
        # Ids issued, oldest first; the value: whether a run has used it (its session opened).
        self._issued: OrderedDict[str, bool] = OrderedDict()
        self._used: set[str] = set()  # (stdio: the ids the model named)
        self._lock = threading.Lock()

    def issue(self) -> str:
        session_id = secrets.token_urlsafe(16)
        with self._lock:
            self._issued[session_id] = False
            if len(self._issued) > _ISSUED_KEPT:
                # Past the bound, forget the oldest id never used or whose session has ended:
                # a flood of new_session calls cannot take an id whose session is alive.
                stale = next(
                    (
                        old
                        for old, used in self._issued.items()
                        if not used or not self.sessions.alive(old)
                    ),
                    None,
                )
                if stale is not None:
                    del self._issued[stale]
        return session_id

    def refusal(self, session_id: str) -> str | None:
        """Why ``session_id`` may not be used now, or None (it is then counted as used)."""
        with self._lock:
            if self._issued_only and session_id not in self._issued:
                return (
                    f"Unknown session_id {session_id[:64]!r}: on this server a session_id must "
                    f"come from the {NEW_SESSION_TOOL} tool. Call it, then pass the id it "
                    "returns."
                )
            used = self._issued.get(session_id, False) or session_id in self._used
            if used and not self.sessions.alive(session_id):
                self._issued.pop(session_id, None)
                self._used.discard(session_id)
                return (
                    f"Session {session_id[:64]!r} has ended (closed to make room for newer "
                    "sessions, or idle past its limit): its variables are gone. "
                    + (
                        f"Call {NEW_SESSION_TOOL} for a new one."
                        if self._issued_only
                        else "Call again to start a new, empty session under this id."
                    )
                )
            if self._issued_only:
                self._issued[session_id] = True
                self._issued.move_to_end(session_id)
            else:
                self._used.add(session_id)
        return None


_ISSUED_KEPT = 4096


def build_server(
    sandbox: Sandbox,
    *,
    issued_session_ids: bool = True,
    tenant: str | None = None,
    max_sessions: int = 64,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> MCPServer:
    """An MCP server whose tools run on ``sandbox`` (with its policy), for ``tenant``.

    ``issued_session_ids``: a ``session_id`` must come from the ``new_session`` tool (for a
    server several clients reach: HTTP); False lets the model name its own (stdio, where the
    server process has one client). At most ``max_sessions`` are open at once, the least
    recently used closed first. Serve it with ``server.run()`` (stdio) or
    ``server.run("streamable-http", host=..., port=...)``, or mount
    ``server.streamable_http_app()`` in an ASGI application. The caller closes ``sandbox``
    (which closes the sessions)."""
    from restricted_exec import __version__

    server: MCPServer = MCPServer(
        "restricted-exec",
        instructions=_INSTRUCTIONS if not issued_session_ids else _INSTRUCTIONS_ISSUED,
        version=__version__,
    )
    known = _ServerSessions(
        ToolSessions(sandbox, tenant=tenant, max_sessions=max_sessions),
        issued_only=issued_session_ids,
    )
    modules = _modules_of(sandbox)

    @server.tool(
        name=TOOL_NAME,
        description=TOOL_DESCRIPTION
        + (
            f" To keep variables between calls, get a session_id from {NEW_SESSION_TOOL} once "
            "and pass it to each call."
            if issued_session_ids
            else " Pass the same session_id to calls that should share variables."
        ),
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, open_world_hint=False
        ),
    )
    async def run_python(
        code: str, inputs: dict[str, Any] | None = None, session_id: str | None = None
    ) -> CallToolResult:
        arguments: dict[str, Any] = {"code": code}
        if inputs is not None:
            arguments["inputs"] = inputs
        if session_id is not None:
            refusal = known.refusal(session_id)
            if refusal is not None:
                return _tool_result(None, bounded(refusal, max_chars))
            arguments["session_id"] = session_id
        outcome = await run_tool_call_async(
            arguments, sandbox=sandbox, sessions=known.sessions, max_chars=max_chars
        )
        return _tool_result(outcome.result, outcome.text)

    @server.tool(
        name=NEW_SESSION_TOOL,
        description="A new session_id for run_python: calls that pass it share variables, "
        "functions and imports.",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    def new_session() -> dict[str, str]:
        return {"session_id": known.issue()}

    @server.tool(
        name=LIST_MODULES_TOOL,
        description="The modules run_python's code may import, with the attributes it may "
        "read from each and the notable ones it may not.",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    def list_modules() -> dict[str, Any]:
        return modules

    return server


def _tool_result(result: ExecutionResult | None, text: str) -> CallToolResult:
    """The text for the model, and the whole result as structured content (its JSON form)."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=result.model_dump(mode="json") if result is not None else None,
        is_error=result is None or not result.ok,
    )


def _modules_of(sandbox: Sandbox) -> dict[str, Any]:
    return listing(sandbox.policy.modules)
