"""Sessions: the runs of one conversation in one namespace, on a child of their own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from restricted_exec.host.host_calls import HostFunction
from restricted_exec.host.output_relay import OutputCallback
from restricted_exec.host.session_runs import SessionCore
from restricted_exec.host.session_state import SessionState
from restricted_exec.policy import Policy
from restricted_exec.result import ExecutionResult

__all__ = ["Session"]


class SessionHost(Protocol):
    """What runs a Session's programs: its Sandbox."""

    def _run_in_session(
        self,
        session: Session,
        code: str,
        inputs: dict[str, Any] | None,
        on_output: OutputCallback | None,
        loop: asyncio.AbstractEventLoop | None,
    ) -> ExecutionResult: ...

    async def _run_in_session_async(
        self,
        session: Session,
        code: str,
        inputs: dict[str, Any] | None,
        on_output: OutputCallback | None,
        loop: asyncio.AbstractEventLoop,
    ) -> ExecutionResult: ...

    def _close_session(self, session: Session) -> None: ...


class Session:
    """A conversation's sandbox: each run sees the variables, functions, classes and imports
    the earlier ones left, as cells of one REPL (the value of a run is its last expression
    statement's). Make one with :meth:`Sandbox.session` or :meth:`Sandbox.load_session`.

    In process mode the session's runs go to one dedicated, locked-down child that serves this
    session only. If a run ends that child (a timeout, the memory limit, a crash), the next run
    starts on a new child with the state as of the last run the old one survived, and its
    result says ``state_restored``. In inline mode the namespace lives in the caller's process
    (the language layer only, as for any inline run). Runs of one session happen one at a
    time. Safe to share between threads; close it (or use ``with``) to free its child.
    """

    def __init__(
        self,
        host: SessionHost,
        *,
        tenant: str | None,
        policy: Policy,
        functions: Mapping[str, HostFunction] | None,
        state: SessionState,
        restore: bool = False,
    ) -> None:
        self._host = host
        self._core = SessionCore(
            tenant, policy, dict(functions) if functions else {}, state, restore_pending=restore
        )

    @property
    def tenant(self) -> str | None:
        return self._core.tenant

    @property
    def policy(self) -> Policy:
        return self._core.policy

    @property
    def closed(self) -> bool:
        return self._core.closed

    @property
    def ended_because(self) -> str | None:
        """Why the session ended, if a limit ended it (idle, lifetime)."""
        return self._core.ended_because

    def run(
        self,
        code: str,
        *,
        inputs: dict[str, Any] | None = None,
        on_output: OutputCallback | None = None,
    ) -> ExecutionResult:
        """Run ``code`` in the session's namespace; see :meth:`Program.run` for ``inputs``
        (bound as globals, and kept) and ``on_output``. A run of a session that passed its
        limits (``max_sessions``, idle or lifetime) returns ``rejected`` with the reason.

        Raises:
            InputError: an input is not plain data.
            SandboxClosedError: the session or its Sandbox was closed.
        """
        return self._host._run_in_session(self, code, inputs, on_output, None)

    async def run_async(
        self,
        code: str,
        *,
        inputs: dict[str, Any] | None = None,
        on_output: OutputCallback | None = None,
    ) -> ExecutionResult:
        """:meth:`run` without blocking the event loop (``async def`` host functions are
        awaited on it)."""
        return await self._host._run_in_session_async(
            self, code, inputs, on_output, asyncio.get_running_loop()
        )

    def dump(self) -> bytes:
        """The session's state as versioned, data-only bytes, for
        :meth:`Sandbox.load_session` here or in another process: its plain-data variables
        and the source of its definitions (``def``, ``class``, ``import``). Instances,
        generators and other objects that are neither are not in it (see
        docs/guide/sessions.md)."""
        with self._core.lock:
            return self._core.state.dump()

    @property
    def unrestored(self) -> tuple[str, ...]:
        """The names the last restore could not make again (neither plain data nor made by a
        definition): an instance, a generator, a lambda bound to a name."""
        return self._core.unrestored

    def close(self) -> None:
        """End the session and its child. Idempotent. Waits for a run of it in progress."""
        self._host._close_session(self)

    def close_later(self) -> None:
        """:meth:`close` on a thread of its own, so that a caller that must not wait for a
        run of it in progress (an event loop serving others) does not."""
        threading.Thread(target=self.close, name="close-session", daemon=True).start()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Session tenant={self.tenant!r} {state}>"
