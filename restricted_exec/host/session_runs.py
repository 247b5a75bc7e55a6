"""A session on the host's side: its state, its child (or inline namespace), and one run of it.

``restricted_exec.Session`` is the public face; this is what its runs do once the Sandbox has
admitted them: take the session's child (a new one if the last died, with the state made
again), run the program there, and keep the state its reply carries.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from restricted_exec.child.executor import InlineNamespace, ending
from restricted_exec.child.protocol import encode_inputs
from restricted_exec.host.endings import (
    host_failure_result,
    result_and_state_from_child,
    result_from_payload,
)
from restricted_exec.host.host_calls import HostFunction, RunHostCalls
from restricted_exec.host.inline import run_inline
from restricted_exec.host.output_relay import OutputRelay
from restricted_exec.host.reply import MalformedReply, max_reply_bytes
from restricted_exec.host.run_plan import ProgramPart, child_limits, run_options
from restricted_exec.host.session_state import SessionState, definitions_of
from restricted_exec.isolation import ChildLimits
from restricted_exec.isolation.session_child import SessionChild
from restricted_exec.language.compiler import CompileOutcome
from restricted_exec.language.values import decode
from restricted_exec.policy import Policy
from restricted_exec.result import ExecutionResult, mark_state_restored

__all__ = ["Compile", "OpenChild", "SessionCell", "SessionCore"]

Compile = Callable[[str, Policy, "str | None"], CompileOutcome]
"""The Sandbox's compile (cached, per trust domain): source, policy, tenant."""
OpenChild = Callable[["str | None"], SessionChild]
"""Opens a new child for a session of this tenant."""

# A session's cells kept by source: a chat re-runs the same cells.
_CELLS_KEPT = 32


class SessionCell(NamedTuple):
    """A source as a session runs it: compiled under the session's policy (and trust domain),
    and its program part."""

    source: str
    outcome: CompileOutcome
    part: ProgramPart


@dataclass(eq=False)
class SessionCore:
    """What the host holds of one session. Its runs happen one at a time, under ``lock``."""

    tenant: str | None
    policy: Policy
    functions: dict[str, HostFunction]
    state: SessionState
    # A loaded session's state must be made again before its first run.
    restore_pending: bool = False
    child: SessionChild | None = None
    namespace: InlineNamespace | None = None  # an inline session's globals
    unrestored: tuple[str, ...] = ()
    cells: dict[str, SessionCell] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False
    ended_because: str | None = None
    _child_limits: ChildLimits | None = field(default=None, init=False, repr=False)

    def cell(self, source: str, compile_for: Compile) -> SessionCell:
        """``source`` as this session runs it (under ``lock``): a source it ran lately is not
        compiled again (its policy and trust domain never change)."""
        cell = self.cells.get(source)
        if cell is not None:
            self.cells[source] = self.cells.pop(source)  # now the most recently used
        else:
            outcome = compile_for(source, self.policy, self.tenant)
            part = ProgramPart(source, outcome, self.policy)
            cell = self.cells[source] = SessionCell(source, outcome, part)
            if len(self.cells) > _CELLS_KEPT:
                del self.cells[next(iter(self.cells))]
        return cell

    def end(self, reason: str | None) -> SessionChild | None:
        """Mark the session ended (under ``lock``); its child, for the caller to close."""
        if reason is not None and not self.closed:
            self.ended_because = reason
        self.closed = True
        child, self.child = self.child, None
        return child

    def run_in_child(
        self,
        cell: SessionCell,
        tagged_inputs: dict[str, Any],
        relay: OutputRelay | None,
        host_calls: RunHostCalls | None,
        compile_for: Compile,
        open_child: OpenChild,
    ) -> ExecutionResult:
        """One run in the session's child; a new child first if the last one died, given the
        state again within the run's own deadline. Raises what the child's run raises to the
        Sandbox (QueueFull, RunnerClosed, a callback's or a limit's stop)."""
        policy, outcome = self.policy, cell.outcome
        limits = self._limits()
        restored = False
        # The run's timeout covers making the state again, if this run has to.
        deadline = time.monotonic() + min(limits.wall_s, limits.cpu_s)
        child = self.child
        if child is None or child.dead:
            child = self.child = open_child(self.tenant)
            if self.restore_pending or not self.state.empty:
                if not self._restore(child, limits, deadline, compile_for):
                    child.close()
                    return _restore_timed_out(outcome, policy)
                restored = True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _restore_timed_out(outcome, policy)
        names = host_calls.names if host_calls is not None else ()
        ended = child.run(
            cell.part.encoded(),
            dataclasses.replace(limits, wall_s=remaining, cpu_s=remaining),
            inputs=encode_inputs(tagged_inputs, names),
            on_output=relay,
            host_calls=host_calls,
        )
        result, snapshot = result_and_state_from_child(ended, outcome, policy, session=True)
        if snapshot is not None:
            try:
                self.state = self.state.after(
                    definitions_of(cell.source), snapshot, policy.max_value_items
                )
            except MalformedReply as problem:
                child.close()  # a child that lies about its state serves this session no more
                result = host_failure_result(
                    outcome, policy, f"the session's child sent a malformed state: {problem}"
                )
        if restored:
            mark_state_restored(result)
        return result

    def run_in_namespace(
        self,
        cell: SessionCell,
        tagged_inputs: dict[str, Any],
        relay: OutputRelay | None,
        host_calls: RunHostCalls | None,
        compile_for: Compile,
    ) -> ExecutionResult:
        """One run of an inline session: its namespace lives in this process, so nothing is
        ever lost with a child; a loaded session's state is made again on its first run."""
        policy, outcome = self.policy, cell.outcome
        if self.namespace is None:
            self.namespace = InlineNamespace()
        if self.restore_pending:

            def run_inline_restore(source: str, restore: CompileOutcome) -> tuple[str, Any]:
                payload = run_inline(
                    restore,
                    decode(self.state.data),
                    run_options(policy, source),
                    policy.timeout_s,
                    namespace=self.namespace,
                )
                return payload["status"], payload.get("state")

            made = self._make_state_again(
                run_inline_restore, compile_for, time.monotonic() + policy.timeout_s
            )
            self.restore_pending = False
            self.unrestored = self.state.unrestored(made, policy.max_value_items)
        payload = run_inline(
            outcome,
            decode(tagged_inputs),
            run_options(policy, cell.source),
            policy.timeout_s,
            on_output=relay,
            host_calls=host_calls,
            namespace=self.namespace,
        )
        snapshot = payload.pop("state", None)
        if snapshot is not None:
            self.state = self.state.after(
                definitions_of(cell.source), snapshot, policy.max_value_items
            )
        return result_from_payload(payload, outcome, policy, isolation="inline")

    def _limits(self) -> ChildLimits:
        """The limits of this session's runs (its policy's), before each run's deadline."""
        limits = self._child_limits
        if limits is None:
            limits = self._child_limits = dataclasses.replace(
                child_limits(self.policy),
                max_payload_bytes=max_reply_bytes(self.policy.output_bytes, session=True),
            )
        return limits

    def _make_state_again(
        self,
        run_one: Callable[[str, CompileOutcome], tuple[str, Any]],
        compile_for: Compile,
        deadline: float,
    ) -> Any:
        """Run the definitions again, batch by batch (``SessionState.restore_batches``), then
        the empty program that binds the data over them; each compile and each run only while
        the deadline has not passed. A batch the policy refuses, or one that fails (say a class
        body that calls a host function, which a restore does not have), is run again one
        definition at a time, so the others stand. Returns the state the last run reported
        (None if the deadline passed first: nothing is known to have been made)."""
        policy, tenant = self.policy, self.tenant

        def run_source(source: str) -> tuple[str, Any] | None:
            if time.monotonic() >= deadline:
                raise _OutOfTime
            outcome = compile_for(source, policy, tenant)
            if outcome.code is None:
                return None
            if time.monotonic() >= deadline:
                raise _OutOfTime
            return run_one(source, outcome)

        made: Any = None
        try:
            for batch in self.state.restore_batches(policy.max_source_bytes):
                ran = run_source("\n".join(batch) + "\n")
                if ran is not None and ran[0] == "ok":
                    made = ran[1]
                    continue
                if len(batch) > 1:
                    for definition in batch:
                        ran = run_source(definition + "\n")
                        if ran is not None:
                            made = ran[1]
            ran = run_source("")
            if ran is not None:
                made = ran[1]
        except _OutOfTime:
            return None
        return made

    def _restore(
        self, child: SessionChild, limits: ChildLimits, deadline: float, compile_for: Compile
    ) -> bool:
        """Make a new child hold the session's state: its definitions run again, then its data
        bound over them (runs whose output and values nobody sees), all within the run's own
        deadline. No host function is there to call: a default argument, decorator or class
        body that calls one is not made again (and reported unrestored) rather than calling it
        again unseen. False if the deadline passed first, or the child died."""
        policy = self.policy
        data = encode_inputs(self.state.data)

        def run_in_child(source: str, outcome: CompileOutcome) -> tuple[str, Any]:
            remaining = max(0.001, deadline - time.monotonic())
            ended = child.run(
                ProgramPart(source, outcome, policy).encoded(),
                dataclasses.replace(limits, wall_s=remaining, cpu_s=remaining),
                inputs=data,
            )
            if child.dead:
                raise _OutOfTime
            result, made = result_and_state_from_child(ended, outcome, policy, session=True)
            return result.status, made

        made = self._make_state_again(run_in_child, compile_for, deadline)
        if made is None or child.dead:
            return False
        self.restore_pending = False
        self.unrestored = self.state.unrestored(made, policy.max_value_items)
        return True


class _OutOfTime(Exception):
    """A restore ran out of its run's deadline (or its child)."""


def _restore_timed_out(outcome: CompileOutcome, policy: Policy) -> ExecutionResult:
    """A session's run whose whole timeout went into making its state again."""
    payload = ending(
        "timeout",
        "timeout",
        "TimeoutError",
        f"restoring the session's state on a new child took the run's {policy.timeout_s:g} s "
        "(timeout_s); the next run tries again",
    )
    payload["timeout_kind"] = "wall"
    return result_from_payload(payload, outcome, policy, isolation="process")
