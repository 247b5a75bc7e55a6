"""Never trust the child: whatever bytes a compromised child writes to its socket, the host's
``run()`` returns a result (``crashed``, with a reason) at a cost bounded by the reply's size,
and the run is counted and audited.

The child is assumed fully hostile. Most tests feed forged reply bytes into the host's real
decode path (``endings.result_from_child``, which ``Sandbox`` calls on the ``ChildOutcome`` the
pool built from the child's socket); the end-to-end ones have a real, locked-down child (a
plain-Python request of the test entry in isolation/production_entry_with_plain_requests.py,
with only the OS layers) write a forged reply frame straight to its socket. No hostile code
runs in the test's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from isolation.plain_capable import PlainCapableRunner
from isolation.plain_python import encode_plain

import restricted_exec
from restricted_exec import ExecutionResult, Policy, Sandbox
from restricted_exec.audit import AuditLog, AuditRecord, SQLiteSink
from restricted_exec.host.endings import result_from_child
from restricted_exec.isolation import ChildOutcome
from restricted_exec.language.compiler import compile_source

POLICY = Policy()
# CPU-time bounds are far from both sides: the guarded host spends milliseconds on these
# replies; the unguarded one spent ~8-10 s (measured on a 2-core VM).
CPU_BOUND_S = 2.0


def _reply(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "status": "ok",
        "stdout": "",
        "stdout_truncated": False,
        "value": None,
        "error": None,
    }
    payload.update(overrides)
    return payload


def _bytes(payload: Any) -> bytes:
    return json.dumps(payload).encode() if not isinstance(payload, bytes) else payload


def host_reads(reply: Any, policy: Policy = POLICY) -> ExecutionResult:
    """The host's handling of reply bytes a child sent (the path Sandbox takes)."""
    child = ChildOutcome(
        payload=_bytes(reply),
        exit_code=None,
        term_signal=None,
        wall_ms=1.0,
        cpu_ms=1.0,
        peak_rss_kb=1000,
        killed_by_watchdog=False,
        protocol_error=None,
        layers=("seccomp",),
    )
    outcome = compile_source("1", policy.compile_settings())
    return result_from_child(child, outcome, policy)


def assert_malformed(result: ExecutionResult) -> None:
    assert result.status == "crashed", result
    assert result.error is not None
    assert result.error.kind == "crash"
    assert "malformed reply" in result.error.message, result.error


def cpu_seconds_of(action: Any) -> tuple[Any, float]:
    started = time.process_time()
    value = action()
    return value, time.process_time() - started


# -- values whose decoding would raise out of run() or cost the host seconds ------------------


def test_a_child_reply_with_a_huge_fraction_costs_the_host_bounded_cpu() -> None:
    # Fraction("1e10000000") computes 10**10000000: ~9 s of the caller's CPU, after the
    # watchdog, for 46 bytes of reply.
    forged = _reply(value={"$type": "fraction", "value": "1e10000000"})
    result, cpu_s = cpu_seconds_of(lambda: host_reads(forged))
    assert_malformed(result)
    assert cpu_s < CPU_BOUND_S


def test_a_child_reply_with_a_zero_denominator_fraction_is_a_crash_not_an_exception() -> None:
    assert_malformed(host_reads(_reply(value={"$type": "fraction", "value": "1/0"})))


def test_a_child_reply_with_a_malformed_decimal_is_a_crash_not_an_exception() -> None:
    # decimal.InvalidOperation is an ArithmeticError: it used to escape run().
    assert_malformed(host_reads(_reply(value={"$type": "decimal", "value": "not a number"})))


def test_a_child_reply_with_an_out_of_range_timedelta_is_a_crash_not_an_exception() -> None:
    forged = {"$type": "timedelta", "days": 10**30, "seconds": 0, "microseconds": 0}
    assert_malformed(host_reads(_reply(value=forged)))


def test_a_child_reply_nested_deeper_than_any_honest_value_is_a_crash() -> None:
    # The JSON parser raised RecursionError, which escaped run().
    assert_malformed(host_reads(b'{"status": "ok", "value": ' + b"[" * 200_000))


def test_a_deep_reply_cannot_overflow_the_hosts_c_stack_when_the_recursion_limit_is_raised() -> (
    None
):
    # A host that raised the recursion limit no longer has the parser's RecursionError to stop
    # 8 MB of "[" : the C parser would recurse until the stack overflows (a segfault of the
    # caller). In a subprocess, so that a failure cannot take the test run down.
    script = textwrap.dedent(
        """
        import sys, threading
        sys.path[:0] = %r
        from test_untrusted_child_replies import host_reads
        sys.setrecursionlimit(10**7)
        threading.stack_size(64 << 20)
        def main():
            print(host_reads(b"[" * 8_000_000).status)
        t = threading.Thread(target=main); t.start(); t.join()
        """
    ) % ([str(Path(__file__).parent), str(Path(__file__).parents[1])],)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout.strip()) == (0, "crashed"), done.stderr[-2000:]


def test_a_child_reply_with_a_many_digit_json_int_costs_bounded_cpu_even_without_the_digit_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With sys.set_int_max_str_digits(0) in the caller's process, int() of 1.5 million
    # decimal digits is quadratic: ~9 s. No honest child writes more than ~3,900 digits.
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        forged = b'{"status": "ok", "stdout": "", "stdout_truncated": false, "error": null, '
        forged += b'"value": ' + b"9" * 1_500_000 + b"}"
        result, cpu_s = cpu_seconds_of(lambda: host_reads(forged))
    finally:
        sys.set_int_max_str_digits(previous)
    assert_malformed(result)
    assert cpu_s < CPU_BOUND_S


def test_a_child_reply_whose_dict_keys_collide_in_hash_costs_bounded_cpu() -> None:
    # Ints k * (2**61 - 1) all hash to 0: building a dict of 40,000 of them is 800 million
    # equality tests (~8 s). The child never paid that; it only wrote the keys.
    modulus = (1 << 61) - 1
    forged = {"$type": "dict", "items": [[k * modulus, 0] for k in range(40_000)]}
    result, cpu_s = cpu_seconds_of(lambda: host_reads(_reply(value=forged)))
    assert_malformed(result)
    assert cpu_s < CPU_BOUND_S


@pytest.mark.parametrize(
    "value",
    [
        {"$type": "fraction", "value": "1.5e3"},  # str(Fraction) has no exponent
        {"$type": "int", "value": "1" * 5000},  # encode writes hex
        {"$type": "decimal", "value": "1_000"},
        {"$type": "float", "value": "1.5"},  # only non-finite floats are tagged
        {"$type": "date", "value": "2024-01-01", "extra": 1},
    ],
    ids=["fraction-exponent", "int-decimal", "decimal-underscore", "float-finite", "extra-key"],
)  # fmt: skip
def test_a_child_reply_with_a_value_no_encoder_writes_is_a_crash(value: Any) -> None:
    assert_malformed(host_reads(_reply(value=value)))


def test_a_child_reply_with_a_nan_json_constant_is_a_crash() -> None:
    # json.dumps never writes NaN here (non-finite floats travel tagged); json.loads accepts it.
    forged = b'{"status": "ok", "stdout": "", "stdout_truncated": false, "value": NaN, '
    assert_malformed(host_reads(forged + b'"error": null}'))


# -- sizes re-checked against the Policy --------------------------------------------------------


def test_a_child_reply_cannot_return_more_stdout_than_output_bytes() -> None:
    policy = Policy(output_bytes=100)
    result = host_reads(_reply(stdout="x" * 6_000_000), policy)
    assert_malformed(result)
    assert result.stdout == ""
    # Exactly output_bytes (counted in UTF-8, as the child counts) is what an honest child sends.
    honest = host_reads(_reply(stdout="é" * 50, stdout_truncated=True, value=[1]), policy)
    assert (honest.status, honest.stdout, honest.value) == ("ok", "é" * 50, [1])
    assert_malformed(host_reads(_reply(stdout="é" * 51), policy))


def test_a_child_reply_cannot_return_more_value_items_than_max_value_items() -> None:
    result = host_reads(_reply(value=list(range(1_000))), Policy(max_value_items=100))
    assert_malformed(result)


def test_a_child_reply_larger_than_any_honest_reply_is_refused_before_parsing() -> None:
    policy = Policy(output_bytes=10)
    # Padding between JSON tokens: only the size can tell it apart from an honest reply.
    forged = b'{"status": "ok",' + b" " * 9_000_000 + json.dumps(_reply())[1:].encode()
    result = host_reads(forged, policy)
    assert_malformed(result)
    assert "bytes; an honest reply is at most" in result.error.message  # type: ignore[union-attr]


def test_a_child_reply_cannot_hand_the_caller_a_megabyte_error_message() -> None:
    error = {
        "kind": "exception",
        "type": "E" * 100_000,
        "message": "m" * 1_000_000,
        "line": 1,
        "traceback": "t" * 1_000_000,
    }
    result = host_reads(_reply(status="error", error=error))
    assert result.status == "error" and result.error is not None
    assert len(result.error.type) < 2_000
    assert len(result.error.message) < 20_000
    assert len(result.error.traceback) < 70_000
    assert result.error.message.endswith("more bytes]")


# -- the envelope: exact keys, exact types, statuses a child may report -------------------------


@pytest.mark.parametrize("status", ["timeout", "rejected", "syntax_error", "policy_violation"])
def test_a_child_cannot_report_a_status_only_the_host_decides(status: str) -> None:
    error = {"kind": "timeout", "type": "T", "message": "", "line": None, "traceback": ""}
    assert_malformed(host_reads(_reply(status=status, error=error)))


@pytest.mark.parametrize(
    "reply",
    [
        [],
        "ok",
        _reply(extra=1),
        _reply(status="ok", value=1, timeout_kind="wall"),
        _reply(status="error", value=1, error={
            "kind": "exception", "type": "E", "message": "", "line": None, "traceback": ""
        }),
        _reply(status="error", error=None),
        _reply(status="ok", error={
            "kind": "crash", "type": "E", "message": "", "line": None, "traceback": ""
        }),
        _reply(status="memory_limit", error={
            "kind": "exception", "type": "E", "message": "", "line": None, "traceback": ""
        }),
        _reply(stdout_truncated="yes"),
    ],
    ids=["list", "string", "extra-key", "host-only-key", "value-with-error", "error-without-info",
         "ok-with-error", "kind-of-another-status", "truncated-not-bool"],
)  # fmt: skip
def test_a_child_reply_off_the_payload_schema_is_a_crash_not_an_exception(reply: Any) -> None:
    assert_malformed(host_reads(reply))


# -- honest results still decode, at linear cost ------------------------------------------------


def test_a_huge_honest_fraction_decodes_in_linear_time() -> None:
    # Reducing a Fraction costs a gcd, quadratic in its digits; an honest child's is reduced
    # already. 2 x 800,000 hex digits (~1,000,000 decimal digits each): milliseconds, where
    # reducing it took ~12 s.
    numerator, denominator = (1 << 3_200_000) + 1, 3**2_000_000
    text = f"{hex(numerator)}/{hex(denominator)}"
    result, cpu_s = cpu_seconds_of(
        lambda: host_reads(_reply(value={"$type": "fraction", "value": text}))
    )
    assert result.status == "ok", result.error
    assert (result.value.numerator, result.value.denominator) == (numerator, denominator)
    assert cpu_s < CPU_BOUND_S


# -- end to end: a real child writes a forged reply to its socket -------------------------------


def _forging_child_source(payload: bytes, cpu_us: int = 0, peak_rss_kb: int = 0) -> str:
    """Plain Python for the child (see isolation/production_entry_with_plain_requests.py) that
    writes a complete reply frame carrying ``payload`` to its socket, then exits before the
    runtime can send the honest one."""
    return textwrap.dedent(
        f"""
        import os
        from restricted_exec.isolation import wire
        payload = {payload!r}
        header = wire.ReplyHeader(0, {cpu_us}, {peak_rss_kb}, len(payload))
        frame = wire.encode_reply(header) + payload
        view = memoryview(frame)
        while view:
            view = view[os.write(wire.CHILD_SOCKET_FD, view):]
        os._exit(0)
        """
    )


class _ListSink:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def write(self, records: Any) -> None:
        self.records.extend(records)

    def close(self) -> None:
        return None


@contextlib.contextmanager
def _plain_capable_sandboxes() -> Iterator[None]:
    # Sandboxes made inside run their children from the test entry that also takes plain
    # Python (production requests still run the production runtime).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("restricted_exec.sandbox.ProcessRunner", PlainCapableRunner)
        yield


@pytest.fixture(scope="module")
def audited() -> Iterator[tuple[Sandbox, _ListSink, AuditLog]]:
    sink = _ListSink()
    audit = AuditLog(sink)
    with _plain_capable_sandboxes(), Sandbox(prefork=1, audit=audit) as sandbox:
        yield sandbox, sink, audit


def _plain_program(
    sandbox: Sandbox, source: str, policy: Policy | None = None
) -> restricted_exec.Program:
    program = sandbox.compile_program("1", policy=policy)
    # Replace the program part the Sandbox would encode with a plain-Python one: the
    # Sandbox's own process path then runs it in a real child (a policy assigned later
    # would make a new part: pass it here).
    program._compiled = program._compiled._replace(part=_PlainPart(source))  # type: ignore[arg-type]
    return program


class _PlainPart:
    def __init__(self, source: str) -> None:
        self._part = encode_plain(source)

    def encoded(self) -> bytes:
        return self._part


def _forged_program(
    sandbox: Sandbox, payload: bytes, policy: Policy | None = None, **header: int
) -> restricted_exec.Program:
    return _plain_program(sandbox, _forging_child_source(payload, **header), policy)


def test_a_real_child_that_forges_its_reply_gets_a_crash_and_the_run_is_counted_and_audited(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, sink, audit = audited
    before = sandbox.stats().runs
    forged = _bytes(_reply(value={"$type": "fraction", "value": "1/0"}))
    result = _forged_program(sandbox, forged).run(tenant="forger")
    assert_malformed(result)
    assert result.isolation == "process" and result.cpu_ms is not None
    stats = sandbox.stats()
    assert stats.runs == before + 1
    assert stats.tenants["forger"].by_status["crashed"].runs == 1
    assert audit.flush(timeout=30)
    assert [r.status for r in sink.records if r.tenant == "forger"] == ["crashed"]


def test_run_async_of_a_child_that_forges_its_reply_returns_a_crash(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    forged = _bytes(_reply(status="ok", stdout="x" * 5_000))
    program = _forged_program(sandbox, forged, Policy(output_bytes=100))
    result = asyncio.run(program.run_async())
    assert_malformed(result)


def test_a_child_cannot_make_the_audit_log_lose_records_with_an_absurd_rss_or_cpu_time(
    tmp_path: Path,
) -> None:
    # The reply header's CPU time and peak RSS are the child's word: a u64 past 2**63 made the
    # SQLite batch holding the run fail, and every other run in that batch was lost with it.
    audit = AuditLog(SQLiteSink(tmp_path / "audit.db"))
    with _plain_capable_sandboxes(), Sandbox(prefork=1, audit=audit) as sandbox:
        honest_run = sandbox.run("1 + 1", tenant="bystander")
        assert honest_run.ok, honest_run.error
        forged = _forged_program(
            sandbox, _bytes(_reply(value=1)), cpu_us=2**64 - 1, peak_rss_kb=2**64 - 1
        ).run(tenant="liar")
        assert forged.status == "ok"
        assert (forged.cpu_ms, forged.peak_rss_kb) == (None, None)
        assert audit.flush(timeout=30)
    assert (audit.failed_batches, audit.lost_records) == (0, 0)


def test_a_run_whose_host_side_fails_is_still_a_result_counted_and_audited(
    audited: tuple[Sandbox, _ListSink, AuditLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever escapes the host's own code (a bug, a reply nobody foresaw) becomes a crashed
    # result in the one place that counts and audits runs.
    sandbox, sink, audit = audited

    def broken(*args: object, **kwargs: object) -> ExecutionResult:
        raise RuntimeError("a host-side bug")

    monkeypatch.setattr("restricted_exec.sandbox.result_from_child", broken)
    result = sandbox.run("print(1)", tenant="host-bug")
    assert result.status == "crashed" and result.error is not None
    assert "a host-side bug" in result.error.message
    assert sandbox.stats().tenants["host-bug"].by_status["crashed"].runs == 1
    assert audit.flush(timeout=30)
    assert [r.status for r in sink.records if r.tenant == "host-bug"] == ["crashed"]


def test_an_honest_program_returning_a_5000_digit_fraction_gets_it_back_exactly() -> None:
    # str() of a Fraction past 4,300 digits raises in the child; it travels in hex instead.
    expected = Fraction(10**5000 + 1, 3)
    result = restricted_exec.run("from fractions import Fraction\nFraction(10**5000 + 1, 3)")
    assert result.status == "ok", result.error
    assert result.value == expected


# -- red-team round 2 ---------------------------------------------------------------------


def test_a_forged_reply_cannot_pass_output_bytes_with_text_that_looks_like_escapes() -> None:
    from restricted_exec.host.reply import MalformedReply, read_reply

    forged = _bytes(_reply(status="ok", stdout="\\ud" * 100_000))
    with pytest.raises(MalformedReply, match="output_bytes"):
        read_reply(forged, output_bytes=1000, max_value_items=100)


@pytest.mark.parametrize(
    "text", ['"hi \\ud800"', '"\\uD83D\\uDE00"', '"\\\\\\udfff"'], ids=["lone", "pair", "odd"]
)
def test_a_forged_reply_cannot_put_surrogates_into_the_callers_result(text: str) -> None:
    from restricted_exec.host.reply import MalformedReply, read_reply

    forged = (
        b'{"status":"ok","stdout":' + text.encode() + b',"stdout_truncated":false,'
        b'"value":null,"error":null}'
    )
    with pytest.raises(MalformedReply, match="surrogate"):
        read_reply(forged, output_bytes=1000, max_value_items=100)


def test_an_honest_backslash_u_in_stdout_still_arrives() -> None:
    from restricted_exec.host.reply import read_reply

    honest = (
        b'{"status":"ok","stdout":"C:\\\\ud800 \\\\u","stdout_truncated":false,'
        b'"value":null,"error":null}'
    )
    assert read_reply(honest, output_bytes=1000, max_value_items=100)["stdout"] == "C:\\ud800 \\u"


def test_a_length_announced_and_never_sent_costs_the_host_no_memory() -> None:
    import socket
    import tracemalloc

    from restricted_exec.isolation import channel

    left, right = socket.socketpair()
    try:
        right.sendall(b"x" * 1000)
        right.close()
        tracemalloc.start()
        with pytest.raises(channel.Closed):
            channel.recv_exactly(left, 300 * 1024 * 1024, time.monotonic() + 5)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        left.close()
    assert peak < 4 * 1024 * 1024


def test_measuring_a_forged_reply_s_nesting_costs_linear_time() -> None:
    # Red-team round 3: with the recursion limit raised (which makes the host measure nesting
    # before parsing), an unterminated string of escaped quotes made that measure quadratic.
    import sys

    from restricted_exec.host.reply import MalformedReply, read_reply

    forged = b"[" * 1000 + b'"' + b'\\"' * 200_000
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)
    started = time.process_time()
    try:
        with pytest.raises(MalformedReply):
            read_reply(forged, output_bytes=10**6, max_value_items=10**6)
    finally:
        sys.setrecursionlimit(limit)
    cpu_s = time.process_time() - started
    assert cpu_s < CPU_BOUND_S


def test_a_forged_decimal_key_colliding_with_a_huge_int_costs_the_host_little() -> None:
    # Red-team round 4: Decimal == int converts the int, quadratic in its size; 20 Decimal keys
    # sharing a hash with one 400,000-bit int cost the host 6.7 s, and again on every cache hit.
    from restricted_exec.host.reply import MalformedReply, read_reply

    prime = 2**61 - 1
    big = (1 << 400_000) + 12_345
    items: list[list[Any]] = [[{"$type": "int", "value": hex(big)}, 0]]
    items += [
        [{"$type": "decimal", "value": str(big % prime + i * prime)}, i] for i in range(1, 20)
    ]
    forged = _bytes(_reply(value={"$type": "dict", "items": items}))
    started = time.process_time()
    with pytest.raises(MalformedReply, match="too large to compare"):
        read_reply(forged, output_bytes=1000, max_value_items=10_000)
    assert time.process_time() - started < CPU_BOUND_S


# -- what parsing a reply costs, bounded before parsing (red-team round 8) ---------------------


def _tracemalloc_peak_of(action: Any) -> tuple[Any, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        value = action()
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_reply_of_millions_of_empty_containers_is_refused_before_it_is_parsed() -> None:
    # 14 MB of `[],` parsed into ~350 MB of lists before the item limit saw them.
    allowance = 6 * POLICY.output_bytes + 8 * 2**20
    head = b'{"status": "ok", "stdout": "", "stdout_truncated": false, "error": null, "value": ['
    forged = head + b"[]," * ((allowance - len(head)) // 3) + b"[]]}"
    result, peak = _tracemalloc_peak_of(lambda: host_reads(forged))
    assert_malformed(result)
    assert "commas and brackets" in result.error.message  # type: ignore[union-attr]
    assert peak < 3 * len(forged), (peak, len(forged))


def test_a_reply_with_a_float_longer_than_any_repr_is_refused_before_it_is_parsed() -> None:
    forged = json.dumps(_reply(value=0.5)).replace("0.5", "1." + "1" * 5_000_000).encode()
    result, seconds = cpu_seconds_of(lambda: host_reads(forged))
    assert_malformed(result)
    assert seconds < CPU_BOUND_S
    assert "longer than the encoder writes a float" in result.error.message  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "source",
    [
        "import datetime\n{datetime.timedelta(i): datetime.timedelta(i) for i in range(200)}",
        "import datetime\n[datetime.timedelta(1, 2, 3)] * 400",
        "{(i, ()): () for i in range(100)}",
        "[{'$type': i} for i in range(133)]",
    ],
)
def test_an_honest_value_at_max_value_items_passes_the_structure_bound(source: str) -> None:
    policy = Policy(isolation="process", max_value_items=401)
    result = restricted_exec.run(source, policy=policy)
    assert result.status == "ok", result.error
    expected = restricted_exec.run(source, policy=policy.replace(isolation="inline"))
    assert result.value == expected.value


def test_a_forged_error_is_cut_to_the_caps_the_runtime_keeps() -> None:
    from restricted_exec.child.executor import (
        ERROR_MESSAGE_BYTES,
        ERROR_TRACEBACK_BYTES,
        ERROR_TYPE_BYTES,
    )

    error = {
        "kind": "exception",
        "type": "É" * 10_000,
        "message": "€" * 100_000,
        "line": 1,
        "traceback": "€" * 100_000,
    }
    result = host_reads(_reply(status="error", error=error))
    assert result.error is not None
    note = 60  # the runtime's "... [truncated: N more bytes]"
    assert len(result.error.type.encode()) <= ERROR_TYPE_BYTES + note
    assert len(result.error.message.encode()) <= ERROR_MESSAGE_BYTES + note
    assert len(result.error.traceback.encode()) <= ERROR_TRACEBACK_BYTES + note
    assert result.error.message.endswith("more bytes]")


def test_an_honest_cut_error_arrives_as_the_runtime_cut_it() -> None:
    result = restricted_exec.run(
        "raise ValueError('€' * 100_000)", policy=Policy(isolation="process")
    )
    assert result.error is not None
    assert result.error.message.startswith("€") and result.error.message.endswith("more bytes]")
    assert "cut by the host" not in result.error.message


def test_a_child_that_sends_itself_sigxcpu_cannot_pass_as_a_cpu_timeout(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    program = _plain_program(sandbox, "import os, signal\nos.kill(os.getpid(), signal.SIGXCPU)")
    result = program.run()
    assert result.status == "crashed", result
    assert result.error is not None and "SIGXCPU" in result.error.message


def test_a_forged_signalling_nan_decimal_is_a_crash_not_a_result_that_raises() -> None:
    assert_malformed(host_reads(_reply(value={"$type": "decimal", "value": "sNaN"})))


@pytest.mark.parametrize(
    "tag",
    [
        {"$type": "time", "value": "01:02:03.000004-00:00:00.999995"},
        {"$type": "datetime", "value": "2021-01-01 00:00:00"},  # isoformat writes a "T"
        {"$type": "datetime", "value": "2021-01-01T00:00:00", "fold": 2},
        {"$type": "date", "value": "2021-01-01", "fold": 1},
    ],
)
def test_a_forged_date_or_time_that_isoformat_never_writes_is_a_crash(tag: Any) -> None:
    assert_malformed(host_reads(_reply(value=tag)))


def test_decoding_many_large_fractions_costs_the_host_no_gcd_each() -> None:
    # Red-team round 15: each decoded Fraction was reduced (a gcd, ~3 ms at 50,000 bits), and
    # a reply of hundreds of them cost the caller seconds, again on every result-cache hit.
    a, b = 0, 1
    while b.bit_length() < 49_990:
        a, b = b, a + b
    text = f"{hex(a)}/{hex(b)}"
    forged = _reply(value=[{"$type": "fraction", "value": text}] * 560)
    result, seconds = cpu_seconds_of(lambda: host_reads(forged, Policy(output_bytes=1_000_000)))
    assert result.status == "ok", result.error
    assert result.value[0] == Fraction(a, b)  # type: ignore[index]
    assert seconds < 1.0, seconds  # ~2.4 s with a gcd each


def test_an_unreduced_fraction_is_refused_where_it_is_made() -> None:
    result = restricted_exec.run(
        "import fractions\nclass I(int):\n"
        "    numerator = property(lambda self: 2)\n    denominator = property(lambda self: 4)\n"
        "fractions.Fraction(I(1))",
        policy=Policy(isolation="process"),
    )
    assert result.status == "error", result
    assert result.error is not None and "not in lowest terms" in result.error.message


# -- streamed output: OUTPUT frames a child sends while it runs ---------------------------------


def _output_frames_then(chunks: list[bytes], ending: str) -> str:
    """Plain Python for the child that sends ``chunks`` as OUTPUT frames, then ``ending``."""
    return (
        textwrap.dedent(
            f"""
            import os, signal, time
            from restricted_exec.isolation import wire
            def send(kind, body):
                frame = wire.encode_reply(wire.ReplyHeader(0, 0, 0, len(body), kind=kind)) + body
                view = memoryview(frame)
                while view:
                    view = view[os.write(wire.CHILD_SOCKET_FD, view):]
            for chunk in {chunks!r}:
                send(wire.ChildFrame.OUTPUT, chunk)
            """
        )
        + ending
    )


def test_a_child_that_streams_more_than_output_bytes_is_stopped_by_the_host(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    # The child's own stdout keeps the limit; a child taken over does not, so the host counts
    # what it accepts itself.
    sandbox, _, _ = audited
    source = _output_frames_then([b"a" * 60, b"b" * 60], "time.sleep(30)")
    result = _plain_program(sandbox, source, Policy(output_bytes=100, timeout_s=10)).run()
    assert result.status == "crashed", result
    assert result.error is not None and "output_bytes" in result.error.message
    assert result.stdout == "a" * 60  # what was accepted is kept; nothing past the limit


def test_a_child_that_streams_bytes_that_are_not_utf8_is_stopped_by_the_host(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    source = _output_frames_then([b"fine ", b"\xff\xfe"], "time.sleep(30)")
    result = _plain_program(sandbox, source, Policy(timeout_s=10)).run()
    assert result.status == "crashed", result
    assert result.error is not None and "not UTF-8" in result.error.message
    assert result.stdout == "fine "


def test_a_childs_streamed_output_and_its_reply_share_one_output_limit(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    reply = _bytes(_reply(stdout="r" * 50))
    payload_frame = f"send(wire.ChildFrame.RESULT, {reply!r})\nos._exit(0)"
    source = _output_frames_then([b"s" * 60], payload_frame)
    result = _plain_program(sandbox, source, Policy(output_bytes=100)).run()
    assert_malformed(result)
    assert result.stdout == "s" * 60


def test_a_child_that_dies_after_streaming_keeps_its_output_in_a_crash(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    source = _output_frames_then([b"partial\n"], "os.kill(os.getpid(), signal.SIGSEGV)")
    result = _plain_program(sandbox, source).run()
    assert result.status == "crashed" and result.signal == "SIGSEGV", result
    assert result.stdout == "partial\n"


def test_a_child_that_floods_empty_output_frames_still_times_out_on_time(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    source = _output_frames_then([], "while True:\n    send(wire.ChildFrame.OUTPUT, b'')")
    started = time.monotonic()
    result = _plain_program(sandbox, source, Policy(timeout_s=0.5)).run()
    assert result.status == "timeout", result
    assert time.monotonic() - started < 5


# -- host functions: HOST_CALL frames a child sends ---------------------------------------------


def _calls_then(bodies: list[bytes], ending: str = "os._exit(0)") -> str:
    """Plain Python for the child that sends each body as a HOST_CALL frame, reads each answer,
    and then runs ``ending``."""
    return (
        _output_frames_then([], "")
        + textwrap.dedent(
            f"""
            def read(size):
                data = b""
                while len(data) < size:
                    chunk = os.read(wire.CHILD_SOCKET_FD, size - len(data))
                    if not chunk:
                        os._exit(3)
                    data += chunk
                return data
            for body in {bodies!r}:
                send(wire.ChildFrame.HOST_CALL, body)
                header = wire.decode_request(read(wire.REQUEST.size))
                read(header.length)
            """
        )
        + ending
    )


def _call(name: str, args: Any = (), kwargs: Any = None) -> bytes:
    return json.dumps({"name": name, "call": [list(args), kwargs or {}]}).encode()


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> int:
        self.calls.append(args)
        return 1


def test_a_child_cannot_call_a_function_its_run_was_not_given(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    recorder = _Recorder()
    program = _plain_program(sandbox, _calls_then([_call("secret", [1])]))
    result = program.run(functions={"public": recorder})
    assert result.status == "crashed" and result.error is not None, result
    assert "does not have" in result.error.message
    assert recorder.calls == []


def test_a_child_that_calls_a_host_function_in_a_run_without_any_is_stopped(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    result = _plain_program(sandbox, _calls_then([_call("anything")])).run()
    assert result.status == "crashed" and result.error is not None, result
    assert "HOST_CALL frame, which this run did not ask for" in result.error.message


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"name": "f"}',
        b'{"name": "f", "call": [[1]]}',
        b'{"name": "f", "call": {"$type": "dict", "items": [[1, 2]]}}',
        b'{"name": "f", "call": [[], {"$type": "dict", "items": [[1, 2]]}]}',
        b'{"name": "f", "call": [[' + b"[" * 100_000 + b"]]}",
        b'{"name": "f", "call": [[{"$type": "fraction", "value": "1e10000000"}], {}]}',
    ],
    ids=[
        "garbage",
        "no-call",
        "no-kwargs",
        "dict-call",
        "int-keyword",
        "deep",
        "costly-fraction",
    ],
)
def test_a_malformed_host_call_is_a_crash_and_calls_nothing(
    audited: tuple[Sandbox, _ListSink, AuditLog], body: bytes
) -> None:
    sandbox, _, _ = audited
    recorder = _Recorder()
    result, cpu_s = cpu_seconds_of(
        lambda: _plain_program(sandbox, _calls_then([body])).run(functions={"f": recorder})
    )
    assert result.status == "crashed" and result.error is not None, result
    assert "malformed host call" in result.error.message
    assert recorder.calls == []
    assert cpu_s < CPU_BOUND_S


def test_a_host_call_longer_than_host_call_bytes_is_refused_before_it_is_read(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    recorder = _Recorder()
    source = _output_frames_then(
        [],
        "os.write(wire.CHILD_SOCKET_FD, wire.encode_reply("
        "wire.ReplyHeader(0, 0, 0, 2**60, kind=wire.ChildFrame.HOST_CALL)))\ntime.sleep(30)",
    )
    started = time.monotonic()
    result = _plain_program(sandbox, source, Policy(timeout_s=10)).run(functions={"f": recorder})
    assert result.status == "crashed" and result.error is not None, result
    assert "host_call_bytes" in result.error.message
    assert time.monotonic() - started < 5
    assert recorder.calls == []


def test_a_flood_of_host_calls_stops_at_max_host_calls(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    recorder = _Recorder()
    program = _plain_program(
        sandbox, _calls_then([_call("f", [i]) for i in range(500)]), Policy(max_host_calls=5)
    )
    result = program.run(functions={"f": recorder})
    assert result.status == "policy_violation" and result.error is not None, result
    assert result.error.type == "HostCallLimitExceeded"
    assert len(recorder.calls) == 5


def test_a_child_that_dies_during_a_host_call_gives_a_status_not_an_exception(
    audited: tuple[Sandbox, _ListSink, AuditLog],
) -> None:
    sandbox, _, _ = audited
    finished = threading.Event()

    def slow() -> int:
        time.sleep(0.3)
        finished.set()
        return 1

    source = _output_frames_then(
        [], f"send(wire.ChildFrame.HOST_CALL, {_call('slow')!r})\nos._exit(0)"
    )
    result = _plain_program(sandbox, source).run(functions={"slow": slow})
    assert result.status == "crashed", result
    assert finished.wait(5)


def test_closing_the_sandbox_during_a_host_call_gives_the_run_a_status() -> None:
    entered = threading.Event()
    results: list[ExecutionResult] = []

    def blocking() -> int:
        entered.set()
        time.sleep(1)
        return 1

    with _plain_capable_sandboxes():
        sandbox = Sandbox(prefork=1)
        worker = threading.Thread(
            target=lambda: results.append(
                sandbox.run(
                    "blocking()", policy=Policy(timeout_s=20), functions={"blocking": blocking}
                )
            )
        )
        worker.start()
        assert entered.wait(30)
        sandbox.close()
        worker.join(30)
    assert not worker.is_alive()
    assert len(results) == 1 and results[0].status in {"crashed", "timeout"}, results
