"""classify() is a pure function: every ending maps to one status."""

from __future__ import annotations

import signal

from restricted_exec.isolation import ChildOutcome, classify, signal_name
from restricted_exec.isolation.exit_codes import EXIT_INTERNAL, EXIT_MEMORY

LAYERS = ("rlimits", "seccomp", "landlock", "watchdog")


def outcome(**fields: object) -> ChildOutcome:
    values: dict[str, object] = {
        "payload": None,
        "exit_code": None,
        "term_signal": None,
        "wall_ms": 1.0,
        "cpu_ms": 1.0,
        "peak_rss_kb": 10_000,
        "killed_by_watchdog": False,
        "protocol_error": None,
        "layers": LAYERS,
        "cpu_limit_ms": 2_000.0,
        "memory_ceiling_kb": 100_000,
    }
    values.update(fields)
    return ChildOutcome(**values)  # type: ignore[arg-type]


def test_a_complete_reply_leaves_the_status_to_the_payload() -> None:
    result = classify(outcome(payload=b"{}"))
    assert result.replied
    assert (result.status, result.timeout_kind, result.signal_name) == (None, None, None)


def test_a_watchdog_kill_is_a_wall_timeout_even_though_the_signal_is_sigkill() -> None:
    result = classify(outcome(term_signal=signal.SIGKILL, killed_by_watchdog=True))
    assert (result.status, result.timeout_kind, result.signal_name) == (
        "timeout",
        "wall",
        "SIGKILL",
    )


def test_sigxcpu_is_a_cpu_timeout() -> None:
    result = classify(
        outcome(term_signal=signal.SIGXCPU, cpu_ms=2_001.0, protocol_error="closed early")
    )
    assert (result.status, result.timeout_kind, result.signal_name) == (
        "timeout",
        "cpu",
        "SIGXCPU",
    )


def test_sigxcpu_before_the_kernel_counted_the_cpu_limit_is_a_crash_not_a_timeout() -> None:
    # A taken-over child can send itself SIGXCPU; wait4's CPU count says the limit was not met.
    result = classify(outcome(term_signal=signal.SIGXCPU, cpu_ms=2.0))
    assert (result.status, result.timeout_kind, result.signal_name) == (
        "crashed",
        None,
        "SIGXCPU",
    )


def test_sigkill_after_the_cpu_limit_is_a_cpu_timeout_from_the_hard_limit() -> None:
    result = classify(outcome(term_signal=signal.SIGKILL, cpu_ms=3_100.0))
    assert (result.status, result.timeout_kind) == ("timeout", "cpu")


def test_the_reserved_memory_exit_code_is_memory_limit() -> None:
    assert classify(outcome(exit_code=EXIT_MEMORY)).status == "memory_limit"


def test_a_segfault_at_the_memory_ceiling_is_memory_limit() -> None:
    result = classify(outcome(term_signal=signal.SIGSEGV, peak_rss_kb=99_000))
    assert (result.status, result.signal_name) == ("memory_limit", "SIGSEGV")


def test_a_segfault_far_below_the_memory_ceiling_is_a_crash_with_the_signal_name() -> None:
    result = classify(outcome(term_signal=signal.SIGSEGV, peak_rss_kb=20_000))
    assert (result.status, result.signal_name) == ("crashed", "SIGSEGV")
    assert "SIGSEGV" in result.detail


def test_an_abort_is_a_crash_named_sigabrt() -> None:
    assert classify(outcome(term_signal=signal.SIGABRT)).signal_name == "SIGABRT"


def test_a_protocol_error_is_a_crash_even_with_a_payload() -> None:
    result = classify(outcome(payload=b"partial", protocol_error="garbage"))
    assert result.status == "crashed"
    assert "garbage" in result.detail


def test_an_early_close_with_an_exit_code_is_a_crash_that_says_why() -> None:
    result = classify(outcome(exit_code=EXIT_INTERNAL, protocol_error="closed early"))
    assert result.status == "crashed"
    assert result.signal_name is None
    assert "machinery" in result.detail


def test_a_child_lost_with_its_fork_server_is_a_crash() -> None:
    result = classify(outcome(protocol_error="the fork server died during the run", cpu_ms=None))
    assert result.status == "crashed"


def test_unnamed_signals_get_a_readable_name() -> None:
    assert signal_name(signal.SIGSEGV) == "SIGSEGV"
    assert signal_name(200) == "SIG200"
