"""What the host observed about one child, and the pure function that classifies it."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Literal

from restricted_exec.child.protocol import Status
from restricted_exec.isolation.exit_codes import DESCRIPTIONS, EXIT_MEMORY

TimeoutKind = Literal["wall", "cpu"]

# A child that dies by one of these signals with its peak RSS near its memory ceiling is taken to
# have died of memory exhaustion: RLIMIT_AS makes mmap fail, and C code that does not check for
# NULL (or a stack that cannot grow) then faults or aborts, and the kernel's OOM killer SIGKILLs.
_MEMORY_DEATH_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGKILL})
# How close to its ceiling the peak RSS must be: the ceiling is computed from the baseline RSS plus
# the program's budget, and part of the baseline may have been paged out since.
_MEMORY_CEILING_FRACTION = 0.9


@dataclass(frozen=True, slots=True)
class ChildOutcome:
    """Everything the host knows about how one child ended.

    payload: the bytes run_prepared returned, or None if the child died before a complete reply.
    exit_code / term_signal: from the fork server's wait4; both None when the child replied
        (the host returns as soon as the reply is complete and does not wait for the child's
        os._exit).
    wall_ms: from sending the request to the complete reply (or to the kill).
    cpu_ms / peak_rss_kb: the child's CPU time spent on this request and its peak resident set,
        reported by the child with its reply or taken from wait4's rusage otherwise.
    killed_by_watchdog: the host SIGKILLed the child because wall_s elapsed.
    protocol_error: why the conversation with the child failed (garbage, oversize, early close).
    layers: the OS layers that were active for this run.
    cpu_limit_ms / memory_ceiling_kb: the limits in force, so that ``classify`` can tell a limit
        death from a crash without knowing the request.
    streamed: the output the child sent while it ran (OUTPUT frames), checked against the run's
        output limit; the payload's stdout is what it had not sent yet.
    """

    payload: bytes | None
    exit_code: int | None
    term_signal: int | None
    wall_ms: float
    cpu_ms: float | None
    peak_rss_kb: int | None
    killed_by_watchdog: bool
    protocol_error: str | None
    layers: tuple[str, ...]
    cpu_limit_ms: float | None = None
    memory_ceiling_kb: int | None = None
    streamed: str = ""


@dataclass(frozen=True, slots=True)
class Classification:
    """How a child ended. ``status`` is None when it replied: its payload then says how the
    run ended. Otherwise it is the run's status (timeout, memory_limit or crashed)."""

    status: Status | None
    timeout_kind: TimeoutKind | None = None
    signal_name: str | None = None
    detail: str = ""

    @property
    def replied(self) -> bool:
        """The child sent a complete reply."""
        return self.status is None


def signal_name(signum: int) -> str:
    """``SIGSEGV`` for 11; an unnamed real-time signal becomes ``SIG34``."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIG{signum}"


def classify(outcome: ChildOutcome) -> Classification:
    """Classify an ending. Pure: depends only on ``outcome``.

    Order matters: a watchdog kill is a wall timeout even though the child died of SIGKILL, and a
    complete reply wins over everything else because the child finished its work.
    """
    if outcome.payload is not None and outcome.protocol_error is None:
        return Classification(None)
    sig = outcome.term_signal
    name = signal_name(sig) if sig is not None else None
    if outcome.killed_by_watchdog:
        return Classification(
            "timeout", "wall", name, "the wall-clock limit elapsed; the watchdog killed the child"
        )
    if sig == signal.SIGXCPU and _reached_cpu_limit(outcome):
        return Classification("timeout", "cpu", name, "the CPU-time limit was reached (SIGXCPU)")
    if (
        sig == signal.SIGKILL
        and outcome.cpu_limit_ms is not None
        and outcome.cpu_ms is not None
        and outcome.cpu_ms >= outcome.cpu_limit_ms
    ):
        # SIGXCPU was ignored or handled, and the hard limit one second later SIGKILLed it.
        return Classification("timeout", "cpu", name, "the hard CPU-time limit was reached")
    if outcome.exit_code == EXIT_MEMORY:
        return Classification("memory_limit", None, None, DESCRIPTIONS[EXIT_MEMORY])
    if (
        sig is not None
        and sig in _MEMORY_DEATH_SIGNALS
        and outcome.memory_ceiling_kb is not None
        and outcome.peak_rss_kb is not None
        and outcome.peak_rss_kb >= _MEMORY_CEILING_FRACTION * outcome.memory_ceiling_kb
    ):
        return Classification("memory_limit", None, name, f"killed by {name} at its memory ceiling")
    return Classification("crashed", None, name, _crash_detail(outcome, name))


# RLIMIT_CPU's signal comes once the kernel has counted the limit (whole seconds, rounded up);
# wait4's count of the same CPU may lag it by a scheduler tick or so.
_CPU_ACCOUNTING_SLACK_MS = 50.0


def _reached_cpu_limit(outcome: ChildOutcome) -> bool:
    """Whether the kernel's count of the child's CPU (wait4, not the child's word) shows the
    limit reached: a taken-over child can send itself SIGXCPU to pass as a CPU timeout."""
    if outcome.cpu_limit_ms is None or outcome.cpu_ms is None:
        return True  # nothing to check against: the signal is the kernel's usual word
    return outcome.cpu_ms >= outcome.cpu_limit_ms - _CPU_ACCOUNTING_SLACK_MS


def _crash_detail(outcome: ChildOutcome, name: str | None) -> str:
    parts: list[str] = []
    if name is not None:
        parts.append(f"the child was killed by {name}")
    elif outcome.exit_code is not None:
        described = DESCRIPTIONS.get(outcome.exit_code)
        parts.append(described or f"the child exited with code {outcome.exit_code}")
    if outcome.protocol_error is not None:
        parts.append(outcome.protocol_error)
    return "; ".join(parts) or "the child ended without replying"
