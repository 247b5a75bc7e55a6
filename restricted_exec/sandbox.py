"""What users call: ``run()``, ``compile_program()``, ``Program`` and ``Sandbox``."""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from restricted_exec.child.protocol import encode_inputs
from restricted_exec.errors import IsolationUnavailableError, SandboxClosedError
from restricted_exec.host.async_runs import AsyncRuns
from restricted_exec.host.call_workers import CallWorkers
from restricted_exec.host.callers import current_caller
from restricted_exec.host.child_reuse import ChildReuse
from restricted_exec.host.compile_cache import CompileCache
from restricted_exec.host.endings import (
    host_call_limit_result,
    host_failure_result,
    output_callback_failed_result,
    refused_result,
    rejected_result,
    result_from_child,
    result_from_payload,
)
from restricted_exec.host.host_calls import (
    HostCallLimitExceeded,
    HostFunction,
    RunHostCalls,
    checked_functions,
)
from restricted_exec.host.inline import run_inline
from restricted_exec.host.inputs import checked_inputs, inputs_digest
from restricted_exec.host.metrics import Metrics, SandboxStats
from restricted_exec.host.output_relay import OutputCallback, OutputRelay
from restricted_exec.host.result_cache import ResultCache
from restricted_exec.host.run_plan import ProgramPart, child_limits, run_options
from restricted_exec.host.scheduling import FairScheduler, Rejection
from restricted_exec.host.session_book import SessionBook, SessionLimits
from restricted_exec.host.session_state import SessionState
from restricted_exec.host.tenants import TenantQuota, tenant_name, trust_domain
from restricted_exec.isolation import (
    IsolationUnavailable,
    ProcessRunner,
    QueueFull,
    RunnerClosed,
)
from restricted_exec.isolation.layers import REQUIRED as REQUIRED_LAYERS
from restricted_exec.isolation.streamed_output import OutputCallbackFailed
from restricted_exec.isolation.warm_children import ReuseRules, WarmChildren, WarmCounts
from restricted_exec.language.compiler import CompileOutcome, compile_source
from restricted_exec.language.values import decode
from restricted_exec.policy import Policy
from restricted_exec.result import ExecutionResult, stamp_duration
from restricted_exec.session import Session

if TYPE_CHECKING:  # the audit package (and sqlite3) load only when an AuditLog is made
    from restricted_exec.host.audit.log import AuditLog
    from restricted_exec.isolation.session_child import SessionChild

__all__ = ["Program", "Sandbox", "Session", "compile_program", "run"]

AUDIT_FLUSH_ON_CLOSE_S = 30.0

"""How long Sandbox.close() waits for its audit log to write what is queued."""


class RunRequest(NamedTuple):
    """One run as a Program hands it to its Sandbox."""

    source: str
    outcome: CompileOutcome
    policy: Policy
    part: ProgramPart
    # A Program is made to run many times: the next waiting children may decode it ahead of
    # its next run (see ProcessRunner.run). Sandbox.run makes one-off Programs.
    expect_again: bool
    # The session whose namespace the run is in, if any.
    session: Session | None = None


class _Compiled(NamedTuple):
    policy: Policy
    outcome: CompileOutcome
    part: ProgramPart


class RunHooks(NamedTuple):
    """What a caller attaches to one run besides its inputs."""

    on_output: OutputCallback | None = None
    functions: Mapping[str, HostFunction] | None = None
    # The caller's event loop under run_async: async host functions are awaited there.
    loop: asyncio.AbstractEventLoop | None = None


class _Attached(NamedTuple):
    """A run's hooks, made ready for the run path."""

    relay: OutputRelay | None
    host_calls: RunHostCalls | None


RunProgram = Callable[
    [RunRequest, "dict[str, Any] | None", "str | None", RunHooks], ExecutionResult
]
CompileFor = Callable[[str, Policy], CompileOutcome]
Offload = Callable[
    [Callable[[], ExecutionResult], Callable[[str], ExecutionResult], "str | None"],
    Awaitable[ExecutionResult],
]
"""How an async caller's run waits for its worker thread (the Sandbox's bounded AsyncRuns):
the run's result, or, at once if the Sandbox has no room, its rejection (made from the
reason by the second callable), for the tenant named last."""


class Program:
    """A program compiled once under one policy, to run many times.

    Create it with :func:`compile_program` or :meth:`Sandbox.compile_program`.
    A program the compiler refused is still a Program: every run returns the
    same ``syntax_error`` or ``policy_violation`` result.
    """

    def __init__(
        self,
        source: str,
        outcome: CompileOutcome,
        policy: Policy,
        run_program: RunProgram,
        compile_for: CompileFor,
        offload: Offload,
        *,
        one_off: bool = False,
    ) -> None:
        self.source = source
        self.policy = policy
        # The policy, its compile outcome and their program part, replaced as one (a run in
        # another thread reads all three from the same compile).
        self._compiled = _Compiled(policy, outcome, ProgramPart(source, outcome, policy))
        self._compile_for = compile_for
        self._run_program = run_program
        self._offload = offload
        self._expect_again = not one_off

    @property
    def code_sha256(self) -> str:
        """sha256 of the source text."""
        return self._compiled.outcome.source_sha256

    @property
    def compiled(self) -> bool:
        """True if the compiler accepted the program (under its current ``policy``)."""
        return self._current().outcome.code is not None

    def run(
        self,
        *,
        inputs: dict[str, Any] | None = None,
        tenant: str | None = None,
        on_output: OutputCallback | None = None,
        functions: Mapping[str, HostFunction] | None = None,
    ) -> ExecutionResult:
        """Run the program once.

        Args:
            inputs: values bound as the program's globals; plain data only
                (JSON types, Decimal, Fraction, datetime types, tuples, sets).
            tenant: who the run is for: its quota, its queue, its metrics and
                audit label (None: ``"default"``).
            functions: host functions the program may call by these names. They run in
                your process and get and return plain data only (copies); an exception
                they raise reaches the program as one of the same type name and message.
                ``async def`` functions are awaited on the caller's loop under
                ``run_async``, and run to completion otherwise. See
                docs/guide/host-functions.md.
            on_output: called with each chunk of the program's output while it runs
                (within about 25 ms of the print; in process mode in the calling thread,
                in inline mode at the program's next print), then with the rest when it
                ends: the chunks joined are ``result.stdout``. If it raises, the program is
                stopped and the result is ``crashed`` (``OutputCallbackError``).

        Returns:
            An ExecutionResult; never raises for anything the program does.

        Raises:
            InputError: an input is not plain data, or its name (or a host
                function's) is not a valid public identifier.
            TypeError, ValueError: ``tenant`` is not a str of 1 to 200 characters.
            SandboxClosedError: the sandbox was closed.
        """
        compiled = self._current()
        request = RunRequest(
            self.source, compiled.outcome, compiled.policy, compiled.part, self._expect_again
        )
        return self._run_program(request, inputs, tenant, RunHooks(on_output, functions))

    def _run_hooked(
        self, inputs: dict[str, Any] | None, tenant: str | None, hooks: RunHooks
    ) -> ExecutionResult:
        compiled = self._current()
        request = RunRequest(
            self.source, compiled.outcome, compiled.policy, compiled.part, self._expect_again
        )
        return self._run_program(request, inputs, tenant, hooks)

    def _current(self) -> _Compiled:
        compiled, policy = self._compiled, self.policy
        if policy is compiled.policy:
            return compiled
        # ``policy`` was reassigned: a compile outcome holds only for the settings it was made
        # under (the modules it may import, the names it may read), so compile again if they
        # changed, rather than run code the new policy never checked.
        outcome = compiled.outcome
        if policy.compile_settings() != compiled.policy.compile_settings():
            outcome = self._compile_for(self.source, policy)
        compiled = self._compiled = _Compiled(
            policy, outcome, ProgramPart(self.source, outcome, policy)
        )
        return compiled

    async def run_async(
        self,
        *,
        inputs: dict[str, Any] | None = None,
        tenant: str | None = None,
        on_output: OutputCallback | None = None,
        functions: Mapping[str, HostFunction] | None = None,
    ) -> ExecutionResult:
        """:meth:`run` without blocking the event loop (``on_output`` is called from a
        worker thread; ``async def`` host functions are awaited on this loop)."""
        hooks = RunHooks(on_output, functions, asyncio.get_running_loop())
        compiled = self._current()
        return await self._offload(
            lambda: self._run_hooked(inputs, tenant, hooks),
            lambda reason: rejected_result(compiled.outcome, compiled.policy, reason),
            tenant,
        )

    def __repr__(self) -> str:
        return f"<Program sha256={self.code_sha256[:12]} compiled={self.compiled}>"


class Sandbox:
    """Runs programs under a policy; safe to share between threads and from asyncio.

    In process mode (the default) the Sandbox owns a fork server, started on
    the first process-mode run, that keeps ``prefork`` locked-down children
    waiting; each run takes one, and no child runs twice.

    Args:
        policy: the default policy for runs that do not pass one.
        max_concurrency: runs at once (default: CPU count); more callers wait
            in a queue, one queue per tenant, served round-robin.
        prefork: children kept forked and waiting, so fork cost is off the
            request's critical path.
        queue_limit: callers that may wait, over all tenants; beyond that a run
            returns status ``rejected`` at once.
        compile_cache_size: how many compiled programs to keep (LRU, keyed by
            the source's sha256 and the policy's compile settings).
        compile_cache_bytes: most source bytes the kept programs may stand for
            (a compiled program holds several times its source size).
        result_cache_size: results of deterministic runs to keep (0: off).
        result_cache_bytes: most bytes (as JSON) the kept results may take.
        result_cache_ttl_s: seconds a kept result may be served.
        tenants: quotas by tenant name (rate, concurrency, queue, Policy).
        default_quota: the quota of tenants not named in ``tenants`` (None:
            only the global limits apply to them).
        audit: record every run (compile refusals and rejections included) in
            this AuditLog; :meth:`close` flushes it. None: no audit.
        max_sessions: sessions that may hold a child at once; a run of one more
            returns ``rejected``.
        max_sessions_per_tenant: the same per tenant (None: no such limit).
        session_idle_s: a session not run for this long ends (its child too).
        session_lifetime_s: a session ends this long after it opened; it is also
            the CPU its child may use in all.
        child_reuse: warm children (opt-in; None: every run has a fresh child): a child
            serves consecutive runs of one trust domain and policy. See ChildReuse and
            SECURITY.md for what each mode promises.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        max_concurrency: int | None = None,
        prefork: int = 2,
        queue_limit: int = 256,
        compile_cache_size: int = 256,
        compile_cache_bytes: int = 4 << 20,
        result_cache_size: int = 1024,
        result_cache_bytes: int = 64 << 20,
        result_cache_ttl_s: float = 600.0,
        tenants: Mapping[str, TenantQuota] | None = None,
        default_quota: TenantQuota | None = None,
        audit: AuditLog | None = None,
        max_sessions: int = 64,
        max_sessions_per_tenant: int | None = None,
        session_idle_s: float = 900.0,
        session_lifetime_s: float = 3600.0,
        child_reuse: ChildReuse | None = None,
    ) -> None:
        self.policy = policy if policy is not None else Policy()
        self._child_reuse = child_reuse
        self._warm: WarmChildren | None = None
        concurrency = max_concurrency if max_concurrency is not None else os.cpu_count() or 1
        # Admission (quotas, fairness, the queue bound) happens here, for both
        # isolation modes; the process runner gets the same concurrency, so its
        # own queue stays empty.
        self._scheduler = FairScheduler(
            concurrency, queue_limit, quotas=tenants, default_quota=default_quota
        )
        self._metrics = Metrics()
        self._audit = audit
        self._cache = CompileCache(compile_cache_size, compile_cache_bytes)
        self._results = ResultCache(result_cache_size, result_cache_bytes, result_cache_ttl_s)
        self._lock = threading.Lock()
        self._closed = False
        self._runner: ProcessRunner | None = None
        self._workers: CallWorkers | None = None
        self._max_concurrency = concurrency
        # Async callers' runs wait on these threads, as many as the scheduler admits.
        self._async_runs = AsyncRuns(concurrency + queue_limit)
        self._prefork = prefork
        self._sessions = SessionBook(
            SessionLimits(max_sessions, max_sessions_per_tenant, session_idle_s, session_lifetime_s)
        )
        self._open_sessions: weakref.WeakSet[Session] = weakref.WeakSet()

    # -- public API ------------------------------------------------------

    def compile_program(
        self, code: str, *, policy: Policy | None = None, tenant: str | None = None
    ) -> Program:
        """Compile ``code`` once; the Program runs it many times.

        The policy is ``policy``, else the tenant's quota policy, else the Sandbox's.
        """
        return self._make_program(code, policy, tenant, one_off=False)

    def run(
        self,
        code: str,
        *,
        inputs: dict[str, Any] | None = None,
        policy: Policy | None = None,
        tenant: str | None = None,
        on_output: OutputCallback | None = None,
        functions: Mapping[str, HostFunction] | None = None,
    ) -> ExecutionResult:
        """Compile (or reuse the compiled) ``code`` and run it once.

        See :meth:`Program.run` for ``inputs``, ``tenant``, ``on_output``, ``functions`` and
        what is raised.
        """
        if self._warm is not None:
            # Before the compile, whose time the warm child's wake-up then overlaps.
            hooks = RunHooks(on_output, functions)
            self._expect_warm_run(tenant, policy or self._policy_for(tenant), hooks)
        program = self._make_program(code, policy, tenant, one_off=True)
        return program.run(inputs=inputs, tenant=tenant, on_output=on_output, functions=functions)

    async def run_async(
        self,
        code: str,
        *,
        inputs: dict[str, Any] | None = None,
        policy: Policy | None = None,
        tenant: str | None = None,
        on_output: OutputCallback | None = None,
        functions: Mapping[str, HostFunction] | None = None,
    ) -> ExecutionResult:
        """:meth:`run` without blocking the event loop (``on_output`` is called from a
        worker thread; ``async def`` host functions are awaited on this loop)."""
        program = self._make_program(code, policy, tenant, one_off=True)
        return await program.run_async(
            inputs=inputs, tenant=tenant, on_output=on_output, functions=functions
        )

    async def stream(
        self,
        code: str,
        *,
        inputs: dict[str, Any] | None = None,
        policy: Policy | None = None,
        tenant: str | None = None,
        functions: Mapping[str, HostFunction] | None = None,
    ) -> AsyncIterator[str | ExecutionResult]:
        """Run ``code`` and yield its output as it comes, then its ExecutionResult, last::

            async for item in sandbox.stream(code):
                if isinstance(item, str):
                    print(item, end="")
                else:
                    result = item

        The chunks joined are ``result.stdout``. Leaving the loop early does not stop the
        run; it ends as it would have."""
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[str | None] = asyncio.Queue()

        def hand_on(text: str) -> None:
            loop.call_soon_threadsafe(chunks.put_nowait, text)

        run = asyncio.ensure_future(
            self.run_async(
                code,
                inputs=inputs,
                policy=policy,
                tenant=tenant,
                on_output=hand_on,
                functions=functions,
            )
        )
        # Scheduled on the loop after every chunk the run handed on: None marks the end.
        run.add_done_callback(lambda _: chunks.put_nowait(None))
        while (chunk := await chunks.get()) is not None:
            yield chunk
        yield run.result()

    def start(self) -> None:
        """Start process mode now (the fork server and its first waiting children), which
        otherwise starts on the first run: a service calls this before it says it is ready.

        Raises:
            SandboxClosedError: the Sandbox is closed.
            IsolationUnavailableError: this machine lacks OS layers the Sandbox's policy
                requires (it does not allow degraded runs), so no run could proceed.
        """
        self._ensure_open()
        if self.policy.isolation != "process":
            return
        missing = sorted(REQUIRED_LAYERS - set(self._process_runner().layers_available()))
        if missing and not self.policy.allow_degraded:
            raise IsolationUnavailableError(
                f"required OS isolation layers are unavailable here: {', '.join(missing)}"
            )

    def session(
        self,
        *,
        tenant: str | None = None,
        policy: Policy | None = None,
        functions: Mapping[str, HostFunction] | None = None,
    ) -> Session:
        """A session: runs that share one namespace, on a child of their own (see
        :class:`Session`). The policy is ``policy``, else the tenant's, else the Sandbox's;
        ``functions`` are the host functions every run of the session may call.

        Raises:
            InputError: a host function's name is not a valid public identifier.
            SandboxClosedError: the Sandbox was closed.
        """
        return self._new_session(tenant, policy, functions, SessionState(), restore=False)

    def load_session(
        self,
        data: bytes,
        *,
        tenant: str | None = None,
        policy: Policy | None = None,
        functions: Mapping[str, HostFunction] | None = None,
    ) -> Session:
        """A session that goes on from ``data`` (:meth:`Session.dump`, here or in another
        process). The dump is checked as untrusted bytes: its definitions are compiled under
        this session's policy when its first run makes them again, and its variables are data
        only. Raises what :meth:`session` raises, and InputError for bytes that are not a
        dump this Sandbox can load."""
        chosen = self._session_policy(tenant, policy)
        state = SessionState.load(
            data, max_items=chosen.max_value_items, max_source_bytes=chosen.max_source_bytes
        )
        return self._new_session(tenant, chosen, functions, state, restore=True)

    def stats(self) -> SandboxStats:
        """Counters and histograms since the Sandbox was made, and what runs and waits now."""
        stats = self._metrics.snapshot(load=self._scheduler.snapshot())
        sessions = self._sessions.counts()
        warm = self._warm.snapshot() if self._warm is not None else WarmCounts()
        return stats.model_copy(
            update={
                "sessions_open": sum(sessions.values()),
                "sessions_by_tenant": sessions,
                "warm_started": warm.started,
                "warm_reused": warm.reused,
                "warm_retired": warm.retired,
            }
        )

    def close(self) -> None:
        """Stop accepting runs and stop the fork server and its children. Idempotent.

        Callers still waiting for a slot get SandboxClosedError.
        """
        for session in list(self._open_sessions):
            self._close_session(session)
        with self._lock:
            self._closed = True
            runner, self._runner = self._runner, None
        self._scheduler.close()
        self._async_runs.close()
        with self._lock:
            warm, self._warm = self._warm, None
        if warm is not None:
            warm.close()
        if runner is not None:
            runner.close()
        with self._lock:
            workers, self._workers = self._workers, None
        if workers is not None:
            # A host function still running past its run's deadline finishes on its own.
            workers.close()
        if self._audit is not None:
            # Bounded: a sink that hangs must not hang close(); the log keeps the rest.
            self._audit.flush(timeout=AUDIT_FLUSH_ON_CLOSE_S)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------

    def _session_policy(self, tenant: str | None, policy: Policy | None) -> Policy:
        self._ensure_open()
        tenant_name(tenant)  # validates it
        return policy or self._scheduler.policy_for(tenant) or self.policy

    def _new_session(
        self,
        tenant: str | None,
        policy: Policy | None,
        functions: Mapping[str, HostFunction] | None,
        state: SessionState,
        *,
        restore: bool,
    ) -> Session:
        chosen = self._session_policy(tenant, policy)
        checked_functions(functions, None)
        session = Session(
            self, tenant=tenant, policy=chosen, functions=functions, state=state, restore=restore
        )
        self._open_sessions.add(session)
        return session

    def _run_in_session(
        self,
        session: Session,
        code: str,
        inputs: dict[str, Any] | None,
        on_output: OutputCallback | None,
        loop: asyncio.AbstractEventLoop | None,
    ) -> ExecutionResult:
        self._ensure_open()
        self._end_expired_sessions()
        core = session._core
        with core.lock:
            if core.closed:
                why = f": {core.ended_because}" if core.ended_because else ""
                raise SandboxClosedError(f"this Session is closed{why}")
            if not isinstance(code, str):
                raise TypeError(f"code must be a str, not {type(code).__name__}")
            cell = core.cell(code, self._compile)
            request = RunRequest(code, cell.outcome, core.policy, cell.part, False, session)
            hooks = RunHooks(on_output, core.functions or None, loop)
            return self._run_program(request, inputs, core.tenant, hooks)

    def _execute_in_session(
        self,
        session: Session,
        request: RunRequest,
        tagged_inputs: dict[str, Any],
        attached: _Attached,
    ) -> ExecutionResult:
        """One run of a session (under its lock, see _run_in_session)."""
        policy, outcome, core = request.policy, request.outcome, session._core
        refusal = self._sessions.admit(session, tenant_name(core.tenant))
        if refusal is not None:
            return rejected_result(outcome, policy, refusal)
        relay, host_calls = attached
        cell = core.cell(request.source, self._compile)  # (the one _run_in_session made)
        if policy.isolation == "inline":
            return core.run_in_namespace(cell, tagged_inputs, relay, host_calls, self._compile)
        try:
            return core.run_in_child(
                cell,
                tagged_inputs,
                relay,
                host_calls,
                self._compile,
                self._open_session_child,
            )
        except QueueFull as problem:
            return rejected_result(outcome, policy, str(problem))
        except RunnerClosed:
            raise SandboxClosedError("this Sandbox is closed") from None

    def _open_session_child(self, tenant: str | None) -> SessionChild:
        return self._process_runner().open_session(
            tenant, cpu_budget_s=self._sessions.limits.lifetime_s
        )

    async def _offload(
        self,
        work: Callable[[], ExecutionResult],
        rejection: Callable[[str], ExecutionResult],
        tenant: str | None,
    ) -> ExecutionResult:
        admitted, result = await self._async_runs.offload(work)
        if admitted:
            assert result is not None
            return result
        self._metrics.observe_rejection(tenant_name(tenant), "queue_full")
        return rejection(
            f"{self._async_runs.capacity} async runs are already running or queued "
            "(max_concurrency + queue_limit)"
        )

    async def _run_in_session_async(
        self,
        session: Session,
        code: str,
        inputs: dict[str, Any] | None,
        on_output: OutputCallback | None,
        loop: asyncio.AbstractEventLoop,
    ) -> ExecutionResult:
        return await self._offload(
            lambda: self._run_in_session(session, code, inputs, on_output, loop),
            lambda reason: rejected_result(
                self._compile(code, session.policy, session.tenant), session.policy, reason
            ),
            session.tenant,
        )

    def _close_session(
        self, session: Session, reason: str | None = None, *, wait: bool = True
    ) -> None:
        """End ``session``; with ``wait=False`` only if no run of it is going on now (the
        sweep of expired sessions must not wait behind another session's run)."""
        core = session._core
        if not core.lock.acquire(blocking=wait):
            return
        try:
            child = core.end(reason)
        finally:
            core.lock.release()
        if child is not None:
            child.close()
        self._sessions.release(session)
        self._open_sessions.discard(session)

    def _end_expired_sessions(self) -> None:
        for session, reason in self._sessions.expired():
            assert isinstance(session, Session)
            self._close_session(session, reason, wait=False)

    def _ensure_open(self) -> None:
        if self._closed:
            raise SandboxClosedError("this Sandbox is closed")

    def _make_program(
        self, code: str, policy: Policy | None, tenant: str | None, *, one_off: bool
    ) -> Program:
        self._ensure_open()
        chosen = policy or self._policy_for(tenant)
        outcome = self._compile(code, chosen, tenant)
        return Program(
            code,
            outcome,
            chosen,
            self._run_program,
            lambda source, changed: self._compile(source, changed, tenant),
            self._offload,
            one_off=one_off,
        )

    def _policy_for(self, tenant: str | None) -> Policy:
        """The policy of a run that names none: the tenant's quota policy, else the Sandbox's."""
        return self._scheduler.policy_for(tenant) or self.policy

    def _compile(self, code: str, policy: Policy, tenant: str | None) -> CompileOutcome:
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, not {type(code).__name__}")
        # Keyed by trust domain, as the result cache is.
        return self._cache.get_or_compile(
            code, policy.compile_settings(), compile_source, domain=trust_domain(tenant)
        )

    def _run_program(
        self,
        request: RunRequest,
        inputs: dict[str, Any] | None,
        tenant: str | None,
        hooks: RunHooks,
    ) -> ExecutionResult:
        self._ensure_open()
        started = time.perf_counter()
        if request.session is None and request.outcome.code is not None:
            self._expect_warm_run(tenant, request.policy, hooks)
        name = tenant_name(tenant)
        tagged_inputs = checked_inputs(inputs)
        attached = self._attach(hooks, request.policy, inputs)
        relay = attached.relay
        # From here on the run counts, however it ends: its result (or, if the host itself
        # failed, a ``crashed`` one) is observed and audited in the one place below.
        result: ExecutionResult | None = None
        accounted = True
        try:
            # The run's trust domain (ProcessRunner.run): no tenant is one of its own, not
            # "default".
            try:
                result = self._result_of(request, tagged_inputs, name, tenant, attached)
            finally:
                if attached.host_calls is not None:
                    attached.host_calls.end()
            if relay is not None:
                relay.finish(result)
        except OutputCallbackFailed as problem:
            result = output_callback_failed_result(request.outcome, request.policy, problem)
        except HostCallLimitExceeded as problem:
            result = host_call_limit_result(request.outcome, request.policy, problem)
        except (SandboxClosedError, IsolationUnavailableError):
            accounted = False  # no run happened: the caller is told why, as documented
            raise
        except Exception as problem:
            result = host_failure_result(request.outcome, request.policy, problem)
        finally:
            if accounted:
                if result is None:  # KeyboardInterrupt or the like, on its way to the caller
                    result = host_failure_result(
                        request.outcome, request.policy, "the run was interrupted"
                    )
                # The one place a run's duration is stamped: whichever way it ended.
                stamp_duration(result, (time.perf_counter() - started) * 1000)
                self._account(request, tagged_inputs, name, result)
        return result

    def _attach(self, hooks: RunHooks, policy: Policy, inputs: dict[str, Any] | None) -> _Attached:
        functions = checked_functions(hooks.functions, inputs)
        host_calls = (
            RunHostCalls(functions, policy, self._host_call_workers(), hooks.loop)
            if functions
            else None
        )
        relay = OutputRelay(hooks.on_output) if hooks.on_output is not None else None
        return _Attached(relay, host_calls)

    def _host_call_workers(self) -> CallWorkers:
        with self._lock:
            if self._workers is None:
                self._workers = CallWorkers()
            return self._workers

    def _account(
        self,
        request: RunRequest,
        tagged_inputs: dict[str, Any],
        tenant: str,
        result: ExecutionResult,
    ) -> None:
        """Count and audit one run (both never raise, by contract)."""
        self._metrics.observe(result, tenant=tenant)
        if self._audit is not None:
            self._audit.log_run(
                started_at=time.time() - result.duration_ms / 1000,
                tenant=tenant,
                caller=current_caller(),
                code=request.source,
                code_sha256=request.outcome.source_sha256,
                tagged_inputs=tagged_inputs,
                policy=request.policy,
                result=result,
            )

    def _result_of(
        self,
        request: RunRequest,
        tagged_inputs: dict[str, Any],
        tenant: str,
        domain: str | None,
        attached: _Attached,
    ) -> ExecutionResult:
        # Refusals and cache hits run nothing, so they take no slot and no quota.
        policy = request.policy
        if request.outcome.code is None:
            return refused_result(request.outcome, policy)
        # A run that calls host functions depends on more than its code and inputs, and a
        # session's on the state of its namespace.
        cacheable = policy.deterministic and self._results.enabled
        if not cacheable or attached.host_calls or request.session is not None:
            return self._admitted(request, tagged_inputs, tenant, domain, attached)
        # The trust domain is part of the key: a hit is faster than a run, and one tenant
        # must not learn from timing what code and inputs another tenant ran.
        run_key = (
            trust_domain(domain),
            request.outcome.source_sha256,
            policy.digest(),
            inputs_digest(tagged_inputs),
        )
        cached = self._results.get((*run_key, self._fork_server_generation(policy)))
        if cached is not None:
            return cached.model_copy(update={"cache_hit": True})
        result = self._admitted(request, tagged_inputs, tenant, domain, attached)
        # The generation after the run: the fork server may have started during it.
        self._results.put((*run_key, self._fork_server_generation(policy)), result)
        return result

    def _admitted(
        self,
        request: RunRequest,
        tagged_inputs: dict[str, Any],
        tenant: str,
        domain: str | None,
        attached: _Attached,
    ) -> ExecutionResult:
        admission = self._scheduler.acquire(tenant)
        if isinstance(admission, Rejection):
            if admission.kind == "closed":
                raise SandboxClosedError("this Sandbox is closed")
            self._metrics.observe_rejection(admission.tenant, admission.kind)
            return rejected_result(request.outcome, request.policy, admission.reason)
        with admission:
            return self._execute(request, tagged_inputs, domain, attached)

    def _fork_server_generation(self, policy: Policy) -> int:
        # Inline runs share the caller's hash seed for the life of its process.
        runner = self._runner
        return runner.generation if policy.isolation == "process" and runner is not None else 0

    def _execute(
        self,
        request: RunRequest,
        tagged_inputs: dict[str, Any],
        domain: str | None,
        attached: _Attached,
    ) -> ExecutionResult:
        policy, outcome = request.policy, request.outcome
        relay, host_calls = attached
        if request.session is not None:
            return self._execute_in_session(request.session, request, tagged_inputs, attached)
        if policy.isolation == "inline":
            options = run_options(policy, request.source)
            payload = run_inline(
                outcome,
                decode(tagged_inputs),
                options,
                policy.timeout_s,
                on_output=relay,
                host_calls=host_calls,
            )
            return result_from_payload(payload, outcome, policy, isolation="inline")
        reuse_key = self._reuse_key(domain, policy)
        if reuse_key is not None:
            return self._execute_warm(reuse_key, request, tagged_inputs, domain, attached)
        try:
            child = self._process_runner().run(
                request.part.encoded(),
                child_limits(policy),
                inputs=_child_inputs(tagged_inputs, host_calls),
                expect_again=request.expect_again,
                domain=domain,
                on_output=relay,
                host_calls=host_calls,
            )
        except QueueFull as problem:
            return rejected_result(outcome, policy, str(problem))
        except RunnerClosed:
            raise SandboxClosedError("this Sandbox is closed") from None
        except IsolationUnavailable as problem:
            raise IsolationUnavailableError(str(problem)) from None
        return result_from_child(child, outcome, policy)

    def _reuse_key(self, domain: str | None, policy: Policy) -> Hashable | None:
        """The warm children a run may take (child_reuse), or None: a fresh child."""
        reuse = self._child_reuse
        if reuse is None:
            return None
        caller = None
        if reuse.per == "caller":
            caller = current_caller()
            if caller is None:
                return None  # no finer domain was named: single-use, as documented
        return (trust_domain(domain), caller, policy)  # (a Policy is frozen and hashable)

    def _execute_warm(
        self,
        key: Hashable,
        request: RunRequest,
        tagged_inputs: dict[str, Any],
        domain: str | None,
        attached: _Attached,
    ) -> ExecutionResult:
        policy, outcome = request.policy, request.outcome
        relay, host_calls = attached
        limits = child_limits(policy)
        assert self._child_reuse is not None
        warm = self._warm_children()
        try:
            self._process_runner().require_layers(limits)  # as a single-use run is refused
            # Its CPU over all its runs; each run still ends at its own deadline.
            budget_s = self._child_reuse.runs * limits.cpu_s + 1.0
            child = warm.checkout(key, domain, cpu_budget_s=budget_s)
        except RunnerClosed:
            raise SandboxClosedError("this Sandbox is closed") from None
        except IsolationUnavailable as problem:
            raise IsolationUnavailableError(str(problem)) from None
        reusable = False
        try:
            ended = child.run(
                request.part.encoded(),
                limits,
                inputs=_child_inputs(tagged_inputs, host_calls),
                on_output=relay,
                host_calls=host_calls,
            )
            result = result_from_child(ended, outcome, policy)
            reusable = result.status in ("ok", "error")
            return result
        except QueueFull as problem:
            return rejected_result(outcome, policy, str(problem))
        except RunnerClosed:
            raise SandboxClosedError("this Sandbox is closed") from None
        finally:
            warm.checkin(key, child, reusable=reusable, memory_mb=limits.memory_mb)

    def _expect_warm_run(self, tenant: str | None, policy: Policy, hooks: RunHooks) -> None:
        """Tell the warm child this thread's next run of ``tenant`` under ``policy`` would
        take that it comes soon (SessionChild.expect_request), if no other run is in flight
        (under load the CPU its look would take is other runs') and this thread holds the run's
        conversation (host functions and streamed output hold it on other threads)."""
        warm, runner = self._warm, self._runner
        if warm is None or runner is None or policy.isolation != "process" or not runner.idle():
            return
        if hooks.on_output is not None or hooks.functions:
            return
        if policy.deterministic and self._results.enabled:
            return  # it may be answered from the result cache, without a child
        key = self._reuse_key(tenant, policy)
        if key is not None:
            warm.expect(key)

    def _warm_children(self) -> WarmChildren:
        runner = self._process_runner()
        with self._lock:
            if self._warm is None:
                assert self._child_reuse is not None
                reuse = self._child_reuse
                self._warm = WarmChildren(
                    runner, ReuseRules(reuse.runs, reuse.idle_s, reuse.max_idle)
                )
            return self._warm

    def _process_runner(self) -> ProcessRunner:
        with self._lock:
            if self._closed:
                raise SandboxClosedError("this Sandbox is closed")
            if self._runner is None:
                # The runner probes the kernel once; whether a run may proceed
                # with missing layers is decided per run from its policy.
                try:
                    # One admission layer: the FairScheduler admits at most max_concurrency
                    # runs, and a run leaves the runner before it gives its slot back, so the
                    # runner never queues for a Sandbox (queue_limit=0: a run it would have
                    # to queue is a bug, reported as rejected rather than waited for).
                    self._runner = ProcessRunner(
                        max_concurrency=self._max_concurrency,
                        prefork=self._prefork,
                        queue_limit=0,
                        allow_degraded=True,
                    )
                except IsolationUnavailable as problem:
                    raise IsolationUnavailableError(str(problem)) from None
            return self._runner


def _child_inputs(tagged_inputs: dict[str, Any], host_calls: RunHostCalls | None) -> bytes:
    """A child request's inputs part: the inputs and the names of the run's host functions."""
    return encode_inputs(tagged_inputs, host_calls.names if host_calls is not None else ())


# -- module-level convenience --------------------------------------------------

_default_sandbox: Sandbox | None = None
_default_lock = threading.Lock()


def _default() -> Sandbox:
    global _default_sandbox
    with _default_lock:
        if _default_sandbox is None or _default_sandbox._closed:
            _default_sandbox = Sandbox()
            atexit.register(_default_sandbox.close)
        return _default_sandbox


def run(
    code: str,
    *,
    inputs: dict[str, Any] | None = None,
    policy: Policy | None = None,
    on_output: OutputCallback | None = None,
    functions: Mapping[str, HostFunction] | None = None,
) -> ExecutionResult:
    """Run ``code`` once in the default Sandbox (created on first use).

    Args:
        code: the program's source.
        inputs: values bound as the program's globals (plain data only).
        policy: limits and permissions; ``Policy()`` if omitted.
        on_output: called with the program's output as it comes (see Program.run).
        functions: host functions the program may call (see Program.run).

    Returns:
        An ExecutionResult; never raises for anything the program does.

    Raises:
        InputError: an input is not plain data.
    """
    return _default().run(
        code, inputs=inputs, policy=policy, on_output=on_output, functions=functions
    )


def compile_program(code: str, *, policy: Policy | None = None) -> Program:
    """Compile ``code`` once in the default Sandbox; ``Program.run`` runs it."""
    return _default().compile_program(code, policy=policy)
