"""How each ending of a run becomes an ExecutionResult (never an exception).

A refusal by the compiler, a rejection at admission, a payload from the
runtime (inline or a child's reply), and a child that died: each is mapped here
so that the caller sees one shape whatever happened. ``duration_ms`` is not theirs to
set: the Sandbox stamps it once, on whatever result a run ends with.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from restricted_exec.child.executor import ending
from restricted_exec.child.protocol import RunReport
from restricted_exec.host.reply import MalformedReply, read_reply
from restricted_exec.isolation import ChildOutcome, classify
from restricted_exec.language.compiler import CompileOutcome
from restricted_exec.language.text import exception_text
from restricted_exec.language.values import decode
from restricted_exec.policy import Policy
from restricted_exec.result import ErrorInfo, ExecutionResult, Violation

__all__ = [
    "host_call_limit_result",
    "host_failure_result",
    "output_callback_failed_result",
    "refused_result",
    "rejected_result",
    "result_and_state_from_child",
    "result_from_child",
    "result_from_payload",
]


def refused_result(outcome: CompileOutcome, policy: Policy) -> ExecutionResult:
    """A program the compiler refused: every violation, the first one's line."""
    violations = tuple(
        Violation(line=v.line, column=v.column, message=v.message) for v in outcome.violations
    )
    first = violations[0] if violations else Violation(line=None, column=None, message="refused")
    syntax = outcome.kind == "syntax_error"
    message = (
        first.message
        if len(violations) == 1
        else "; ".join(f"line {v.line}: {v.message}" if v.line else v.message for v in violations)
    )
    return ExecutionResult(
        status="syntax_error" if syntax else "policy_violation",
        error=ErrorInfo(
            kind="syntax" if syntax else "policy",
            type="SyntaxError" if syntax else "PolicyViolation",
            message=message,
            line=first.line,
            violations=violations,
        ),
        code_sha256=outcome.source_sha256,
        isolation=policy.isolation,
    )


def rejected_result(outcome: CompileOutcome, policy: Policy, reason: str) -> ExecutionResult:
    """A run that admission turned away (quota, full queue), with the reason."""
    return ExecutionResult(
        status="rejected",
        error=ErrorInfo(kind="rejected", type="RunRejected", message=reason),
        code_sha256=outcome.source_sha256,
        isolation=policy.isolation,
    )


def host_failure_result(
    outcome: CompileOutcome, policy: Policy, problem: BaseException | str
) -> ExecutionResult:
    """A run the host itself could not finish (a bug of ours, an interrupt): ``crashed``, with
    the reason, rather than an exception out of ``run()``."""
    if isinstance(problem, BaseException):
        problem = exception_text(problem)  # str() of it could run a program's code
    return ExecutionResult(
        status="crashed",
        error=ErrorInfo(
            kind="crash",
            type="SandboxCrashed",
            message=f"the sandbox failed on the host: {problem}"[:2_000],
        ),
        code_sha256=outcome.source_sha256,
        isolation=policy.isolation,
    )


def host_call_limit_result(
    outcome: CompileOutcome, policy: Policy, problem: BaseException
) -> ExecutionResult:
    """A run stopped at ``max_host_calls``: a ``policy_violation``, saying so."""
    return ExecutionResult(
        status="policy_violation",
        error=ErrorInfo(kind="policy", type="HostCallLimitExceeded", message=str(problem)),
        code_sha256=outcome.source_sha256,
        isolation=policy.isolation,
    )


def output_callback_failed_result(
    outcome: CompileOutcome, policy: Policy, problem: BaseException
) -> ExecutionResult:
    """A run the caller's ``on_output`` stopped by raising: ``crashed``, naming the type of
    what it raised (its message and traceback stay the caller's)."""
    return ExecutionResult(
        status="crashed",
        error=ErrorInfo(
            kind="crash",
            type="OutputCallbackError",
            message=f"{problem}; the run was stopped",
        ),
        code_sha256=outcome.source_sha256,
        isolation=policy.isolation,
    )


def result_from_payload(
    payload: RunReport,
    outcome: CompileOutcome,
    policy: Policy,
    *,
    isolation: str,
    extra: dict[str, Any] | None = None,
) -> ExecutionResult:
    """The runtime's payload (inline, or a child's decoded reply) as a result; ``extra``
    adds what only the parent knows (CPU, peak RSS, layers, signal)."""
    error = payload.get("error")
    fields: dict[str, Any] = {
        "status": payload["status"],
        "stdout": payload.get("stdout", ""),
        "stdout_truncated": payload.get("stdout_truncated", False),
        "value": decode(payload.get("value")),
        "error": ErrorInfo(**error) if error else None,
        "timeout_kind": payload.get("timeout_kind"),
        "code_sha256": outcome.source_sha256,
        "isolation": isolation,
    }
    if extra:
        fields.update(extra)
    return ExecutionResult(**fields)


def result_from_child(
    child: ChildOutcome, outcome: CompileOutcome, policy: Policy
) -> ExecutionResult:
    """Map how a child ended onto an ExecutionResult (never raises)."""
    return result_and_state_from_child(child, outcome, policy)[0]


def result_and_state_from_child(
    child: ChildOutcome, outcome: CompileOutcome, policy: Policy, *, session: bool = False
) -> tuple[ExecutionResult, Any]:
    """Map how a child ended onto an ExecutionResult, and, for a session child that replied,
    the state its reply carried (raw: ``host/session_state`` checks it), else None. Never
    raises."""
    verdict = classify(child)
    extra: dict[str, Any] = {
        "cpu_ms": _plausible_cpu_ms(child.cpu_ms, policy),
        "peak_rss_kb": _plausible_rss_kb(child.peak_rss_kb),
        "layers": child.layers,
    }
    streamed = child.streamed
    streamed_bytes = len(streamed.encode("utf-8")) if streamed else 0
    if verdict.replied:
        assert child.payload is not None
        try:
            fields = read_reply(
                child.payload,
                # What the child sent while it ran counts against the same limit.
                output_bytes=policy.output_bytes - streamed_bytes,
                max_value_items=policy.max_value_items,
                session=session,
            )
        except MalformedReply as problem:
            # A child is untrusted: a reply no honest child sends is a crash, not our exception.
            payload = ending(
                "crashed",
                "crash",
                "SandboxCrashed",
                f"the sandbox child sent a malformed reply: {problem}",
            )
        else:
            state = fields.pop("state", None)
            fields["stdout"] = streamed + fields["stdout"]
            result = ExecutionResult(
                **fields,
                code_sha256=outcome.source_sha256,
                isolation="process",
                **extra,
            )
            return result, state
    elif verdict.status == "timeout":
        kind: Literal["wall", "cpu"] = "wall" if verdict.timeout_kind == "wall" else "cpu"
        limit = policy.timeout_s if kind == "wall" else policy.effective_cpu_time_s
        name = "timeout_s" if kind == "wall" else "cpu_time_s"
        payload = ending(
            "timeout",
            "timeout",
            "TimeoutError",
            f"the program ran longer than {limit:g} s of "
            f"{'wall-clock' if kind == 'wall' else 'CPU'} time ({name})",
        )
        payload["timeout_kind"] = kind
    elif verdict.status == "memory_limit":
        payload = ending(
            "memory_limit",
            "memory",
            "MemoryError",
            f"the program tried to use more than {policy.memory_mb} MB (memory_mb)",
        )
    else:
        payload = ending("crashed", "crash", "SandboxCrashed", _first_line(verdict.detail))
        extra["signal"] = verdict.signal_name
    # However the child ended, what it printed and sent before is the run's output.
    payload["stdout"] = streamed + payload["stdout"]
    return result_from_payload(payload, outcome, policy, isolation="process", extra=extra), None


# A child that replied reports its own CPU time and peak RSS (in its reply's header): a hostile
# one can write any u64 there. An honest child cannot use more CPU than every core for its
# wall-clock limit (the watchdog) and no process has 2**53 KB of memory; a number past these is
# a lie and is reported as unknown. (An int past 2**63 also made an audit log's SQLite batch
# fail, losing the other runs' records with it.)
_CPU_MS_MARGIN = 5_000.0
_MAX_RSS_KB = 1 << 53
_CPUS = os.cpu_count() or 1  # read once: it reads sysfs


def _plausible_cpu_ms(cpu_ms: float | None, policy: Policy) -> float | None:
    most = max(policy.timeout_s, policy.effective_cpu_time_s) * 1000 * _CPUS
    if cpu_ms is None or not 0 <= cpu_ms <= most + _CPU_MS_MARGIN:
        return None
    return cpu_ms


def _plausible_rss_kb(peak_rss_kb: int | None) -> int | None:
    if peak_rss_kb is None or not 0 <= peak_rss_kb < _MAX_RSS_KB:
        return None
    return peak_rss_kb


def _first_line(detail: str) -> str:
    # A child's own failure report carries a traceback of sandbox internals; the
    # caller gets one readable line (the last, which names the exception).
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    if len(lines) <= 1:
        return detail.strip()
    return f"{lines[0]} ... {lines[-1]}"
