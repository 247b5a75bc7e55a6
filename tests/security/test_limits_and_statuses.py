"""Statuses follow what happened, and the text describing a failure is bounded.

Each hostile program runs in process mode. What plain CPython does with the same
benign computation is the reference: a program raising MemoryError is an
``error`` (a real out-of-memory is ``memory_limit``), a value CPython cannot turn
into text is an ``error``, deep recursion is a RecursionError - never ``crashed``.
"""

from __future__ import annotations

import fractions
from collections.abc import Iterator

import pytest

import restricted_exec
from restricted_exec import ExecutionResult, Policy, Sandbox
from restricted_exec.child.executor import (
    ERROR_MESSAGE_BYTES,
    ERROR_TRACEBACK_BYTES,
    ERROR_TYPE_BYTES,
)
from restricted_exec.host.compile_cache import CompileCache
from restricted_exec.language.compiler import MAX_VIOLATIONS, compile_source
from restricted_exec.language.text import TRUNCATION_NOTE


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(Policy(timeout_s=30, memory_mb=128)) as box:
        yield box


def _note_room() -> int:
    return len(TRUNCATION_NOTE.format(omitted=10**12))


@pytest.mark.parametrize(
    "program", ["raise MemoryError", "raise MemoryError('mine')", "x = MemoryError()\nraise x"]
)
def test_a_program_raising_memory_error_itself_is_an_error_not_memory_limit(
    sandbox: Sandbox, program: str
) -> None:
    result = sandbox.run(program)
    assert result.status == "error" and result.error is not None
    assert (result.error.kind, result.error.type, result.error.line) == (
        "exception",
        "MemoryError",
        program.count("\n") + 1,
    )


def test_a_memory_error_subclass_of_the_program_is_an_error(sandbox: Sandbox) -> None:
    result = sandbox.run("class Full(MemoryError):\n    pass\nraise Full('disk')")
    assert result.status == "error" and result.error is not None
    assert (result.error.type, result.error.message) == ("Full", "disk")


@pytest.mark.parametrize(
    "program",
    [
        "x = 'a' * 10**10",
        "chunks = []\nwhile True:\n    chunks.append('x' * 10**6)",
        "try:\n    x = [0] * 10**10\nexcept MemoryError as error:\n    raise error",
    ],
)
def test_a_real_out_of_memory_is_still_memory_limit(sandbox: Sandbox, program: str) -> None:
    assert sandbox.run(program).status == "memory_limit"


def test_a_fraction_over_the_int_to_str_limit_as_value_comes_back_exactly(
    sandbox: Sandbox,
) -> None:
    # CPython can hold it; only its repr is over the limit. The value travels as hex
    # (values.encode), so the run is ok, not crashed as it was.
    big = fractions.Fraction(10**5000 + 1, 3)
    result = sandbox.run("from fractions import Fraction\nFraction(10**5000 + 1, 3)")
    assert result.status == "ok", result.error
    assert result.value == big


def test_a_deep_dict_with_megabyte_keys_as_value_is_an_error_not_a_crash() -> None:
    program = (
        "d = {}\ncur = d\nfor i in range(60):\n    nxt = {}\n"
        "    cur[str(i) + 'k' * 1_000_000] = nxt\n    cur = nxt\nd"
    )
    with Sandbox() as sandbox:  # the default memory_mb: the value itself is 60 MB
        result = sandbox.run(program)
    assert result.status == "error" and result.error is not None
    assert (result.error.kind, result.error.type) == ("value", "UnsupportedValue")


def test_recursion_on_a_30kb_line_is_a_recursion_error_like_cpython(sandbox: Sandbox) -> None:
    program = 'def f(n):\n    return f(n + 1) or "' + "a" * 30_000 + '"\nf(0)'
    with pytest.raises(RecursionError) as cpython:
        exec(program, {})
    result = sandbox.run(program)
    assert result.status == "error" and result.error is not None
    assert (result.error.type, result.error.message) == ("RecursionError", str(cpython.value))
    assert result.error.line == 2
    traceback = result.error.traceback
    assert len(traceback.encode()) <= ERROR_TRACEBACK_BYTES
    # As CPython shows it: three equal frames, then a count of the rest.
    assert "[Previous line repeated" in traceback
    assert "more bytes]" in traceback  # the 30 KB source line is cut, and says so
    assert traceback.endswith("RecursionError: " + str(cpython.value))


def test_a_traceback_too_long_keeps_its_newest_frames_and_says_so(sandbox: Sandbox) -> None:
    # Two alternating frames never repeat one line, so nothing is collapsed.
    program = (
        "def f(n):\n    return g(n) " + "+ 0 " * 100 + "\ndef g(n):\n    return f(n + 1)\nf(0)"
    )
    result = sandbox.run(program)
    assert result.status == "error" and result.error is not None
    traceback = result.error.traceback
    assert len(traceback.encode()) <= ERROR_TRACEBACK_BYTES
    assert traceback.startswith("Traceback (most recent call last):\n  [")
    assert "older traceback entries truncated]" in traceback
    assert traceback.endswith("RecursionError: maximum recursion depth exceeded")


def test_exception_messages_are_capped_with_a_note_even_with_output_bytes_0() -> None:
    with Sandbox(Policy(output_bytes=0)) as sandbox:
        result = sandbox.run("raise ValueError('x' * 4_000_000)")
    assert result.status == "error" and result.error is not None
    message = result.error.message
    assert message.startswith("x" * 1000)
    assert len(message.encode()) <= ERROR_MESSAGE_BYTES + _note_room()
    assert message.endswith(TRUNCATION_NOTE.format(omitted=4_000_000 - ERROR_MESSAGE_BYTES))
    assert len(result.error.traceback.encode()) <= ERROR_TRACEBACK_BYTES


def test_a_long_exception_class_name_is_capped_with_a_note(sandbox: Sandbox) -> None:
    name = "E" + "x" * 20_000
    result = sandbox.run(f"class {name}(Exception):\n    pass\nraise {name}('m')")
    assert result.status == "error" and result.error is not None
    assert result.error.type.startswith("Exx")
    assert len(result.error.type.encode()) <= ERROR_TYPE_BYTES + _note_room()
    assert "more bytes]" in result.error.type


_UNDERSCORE_LINES = "_a_\n" * (65_536 // 4)


def test_a_refused_program_lists_at_most_max_violations_and_counts_the_rest() -> None:
    outcome = compile_source(_UNDERSCORE_LINES, Policy().compile_settings())
    assert outcome.kind == "policy_violation"
    assert len(outcome.violations) == MAX_VIOLATIONS + 1
    unlisted = 65_536 // 4 - MAX_VIOLATIONS
    assert outcome.violations[-1].message == f"and {unlisted:,} more violations (not listed)"


def test_the_compile_cache_weighs_a_refusal_by_the_violations_it_keeps_not_its_source() -> None:
    settings = Policy().compile_settings()
    many = CompileCache(256, 4 << 20)
    outcome = many.get_or_compile(_UNDERSCORE_LINES, settings, compile_source)
    kept_text = sum(len(violation.message) for violation in outcome.violations)
    assert many.source_bytes >= kept_text + len(outcome.violations) * 100
    one = CompileCache(256, 4 << 20)
    padded = "_a_ = 1\n" + "# padding\n" * 6_000  # 60 KB of source, one violation
    assert one.get_or_compile(padded, settings, compile_source).kind == "policy_violation"
    assert one.source_bytes < 2_000


# -- red-team round 1: text a program hands over through a str subclass ----------------

LYING_STR = """
class S(str):
    def encode(self, *args, **kwargs):
        return b""
    def isascii(self):
        return True
    def __len__(self):
        return 0
    def __format__(self, spec):
        raise KeyboardInterrupt
    def __str__(self):
        return self
"""


def test_a_str_subclass_cannot_print_past_output_bytes() -> None:
    with Sandbox(Policy(output_bytes=100)) as box:
        result = box.run(LYING_STR + 'print(S("x" * 5_000_000))')
    assert result.status == "output_limit", result.status
    assert len(result.stdout.encode()) <= 100 and result.stdout_truncated


def test_a_str_subclass_cannot_print_a_lone_surrogate(sandbox: Sandbox) -> None:
    result = sandbox.run(LYING_STR + 'print(S("ok" + chr(0xD800)))')
    assert result.status == "ok", result.error
    assert result.stdout == "ok\\ud800\n"
    result.model_dump_json()  # serialises


def test_a_str_subclass_message_cannot_pass_the_error_cap_or_forge_crashed(
    sandbox: Sandbox,
) -> None:
    result = sandbox.run(
        LYING_STR
        + """
class E(Exception):
    def __str__(self):
        return S("m" * 3_000_000 + chr(0xD800))
raise E()
"""
    )
    assert result.status == "error", result.error
    assert result.error is not None and result.error.type == "E"
    assert len(result.error.message.encode()) <= ERROR_MESSAGE_BYTES + _note_room()
    result.model_dump_json()


def test_the_value_limit_counts_bytes_not_characters() -> None:
    with Sandbox(Policy(memory_mb=512, timeout_s=30)) as box:
        result = box.run("'€' * (8 * 1024 * 1024 - 16)")
    assert result.status == "error", result.error
    assert result.error is not None and result.error.type == "UnsupportedValue"


def test_keys_that_would_collide_in_hash_on_the_host_are_refused_in_the_child(
    sandbox: Sandbox,
) -> None:
    # frozenset keys whose tuples (what the host rebuilds) share one hash: building that
    # dict on the host cost ~7 s of the caller's CPU under timeout_s=1.
    program = """
M = 2**64; P1 = 11400714785074694791; P2 = 14029467366897019727; P5 = 2870177450012600261
def rot(x):
    return ((x << 31) | (x >> 33)) % M
inverse = pow(P2, -1, M); out = {}; a = 1
while len(out) < 5000:
    acc = (rot((P5 + a * P2) % M) * P1) % M; b = ((-acc) * inverse) % M
    if a < b < 2**61 - 1:
        out[frozenset([a, b])] = None
    a += 1
out
"""
    result = sandbox.run(program)
    assert result.status == "error", result.error
    assert result.error is not None and "collide in hash" in result.error.message


def test_a_tuple_key_and_a_frozenset_key_are_never_merged(sandbox: Sandbox) -> None:
    result = sandbox.run("{(1, 2): 'a', frozenset({1, 2}): 'b'}")
    assert result.status == "error", result.error
    assert result.error is not None and "would become one" in result.error.message


# -- red-team round 2 ----------------------------------------------------------------------

COLLIDING_TUPLES = """
M64 = (1 << 64) - 1
P1 = 11400714785074694791; P2 = 14029467366897019727; P5 = 2870177450012600261
MOD = (1 << 61) - 1
def rotl(x, r): return ((x << r) | (x >> (64 - r))) & M64
def rotr(x, r): return ((x >> r) | (x << (64 - r))) & M64
P1inv = pow(P1, -1, 1 << 64); P2inv = pow(P2, -1, 1 << 64)
def step(acc, v):
    acc = (acc + (v % MOD) * P2) & M64; acc = rotl(acc, 31); return (acc * P1) & M64
prefix = list(range(1000, 1068))
acc = P5
for item in prefix:
    acc = step(acc, item)
want = step(step(acc, 5), 7)
keys = []
a = 1000
while len(keys) < 400:
    a += 1
    x = rotr((want * P1inv) & M64, 31)
    lane = ((x - step(acc, a)) * P2inv) & M64
    if lane < MOD - 1:
        keys.append(tuple(prefix + [a, lane]))
{key: index for index, key in enumerate(keys)}
"""


def test_colliding_tuple_keys_are_weighed_by_their_length(sandbox: Sandbox) -> None:
    # 400 keys of 70 items sharing one hash: 79,800 pairs, each comparison walking 70 items;
    # the pair count alone passed the bound and the host paid seconds per decode.
    result = sandbox.run(COLLIDING_TUPLES)
    assert result.status == "error", result.error
    assert result.error is not None and "collide in hash" in result.error.message


def test_a_deep_dict_value_serialises_and_caches_consistently() -> None:
    program = "v = 1\nfor i in range(67):\n    v = {1: v}\nv"
    with Sandbox(Policy(deterministic=True)) as box:
        results = [box.run(program) for _ in range(3)]
    assert [r.status for r in results] == [results[0].status] * 3, results
    for result in results:
        result.model_dump_json()


def test_a_run_with_no_tenant_and_tenant_default_share_no_cached_result() -> None:
    with Sandbox(Policy(deterministic=True)) as box:
        first = box.run("print('mine')")
        other = box.run("print('mine')", tenant="default")
        again = box.run("print('mine')")
    assert first.ok and not first.cache_hit
    assert not other.cache_hit
    assert again.cache_hit


def test_a_value_whose_keys_share_a_hash_with_a_huge_number_is_refused_in_the_child(
    sandbox: Sandbox,
) -> None:
    program = (
        "import decimal\nP = 2**61 - 1\nbig = (1 << 20000) + 12345\nd = {big: 0}\n"
        "for i in range(1, 14):\n    d[decimal.Decimal(big % P + i * P)] = i\nd"
    )
    result = sandbox.run(program)
    assert result.status == "error", result.error
    assert result.error is not None and "too large to compare" in result.error.message


def test_honest_dicts_with_big_number_keys_still_come_back(sandbox: Sandbox) -> None:
    import math

    result = sandbox.run("import math\n{math.factorial(n): n for n in range(200, 210)}")
    assert result.status == "ok", result.error
    assert result.value == {math.factorial(n): n for n in range(200, 210)}


def test_a_few_long_colliding_tuple_keys_are_refused_too(sandbox: Sandbox) -> None:
    # Red-team round 5: under 64 keys the collision check did not run; 63 keys of 1,500 items
    # (Fraction and float items, slow to compare) cost the host 4 s per decode and per hit.
    program = COLLIDING_TUPLES.replace("range(1000, 1068)", "range(1000, 2000)").replace(
        "len(keys) < 400", "len(keys) < 40"
    )
    result = sandbox.run(program)
    assert result.status == "error", result.error
    assert result.error is not None and "collide in hash" in result.error.message


def test_keys_minus_one_and_minus_two_still_share_a_dict(sandbox: Sandbox) -> None:
    # hash(-1) == hash(-2): the one collision honest data meets.
    result = sandbox.run("{-1: 'a', -2: 'b', (1, -1): 'c', (1, -2): 'd'}")
    assert result.status == "ok", result.error
    assert result.value == {-1: "a", -2: "b", (1, -1): "c", (1, -2): "d"}


# -- red-team round 6 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "program",
    [
        'n1 = float("nan")\nn2 = float("nan")\n{n1: 1, n2: 2}',
        "{(float('nan'),): 1, (float('nan'),): 2}",
        "a = chr(0xD800)\nb = chr(92) + 'ud800'\n{a: 1, b: 2}",
        "a = chr(0xD800)\nb = chr(92) + 'ud800'\n{(a,): 1, (b,): 2}",
    ],
    ids=["nan", "nan_in_tuples", "escaped_surrogate", "escaped_surrogate_in_tuples"],
)
def test_keys_that_would_merge_on_the_host_are_refused_not_lost(
    sandbox: Sandbox, program: str
) -> None:
    # Distinct keys in the child became one on the host (NaN decodes to one shared NaN; a lone
    # surrogate escapes to the text of its escape): a value was silently lost.
    result = sandbox.run(program)
    assert result.status == "error", result
    assert result.error is not None and "would become one" in result.error.message


def test_the_compile_cache_is_kept_per_trust_domain() -> None:
    # A hit is faster than a compile: one tenant could time which exact source another ran.
    with Sandbox() as box:
        box.compile_program("x = 1", tenant="victim")
        entries_before = len(box._cache._entries)
        box.compile_program("x = 1", tenant="attacker")
        box.compile_program("x = 1")
        box.compile_program("x = 1", tenant="victim")
        assert len(box._cache._entries) == entries_before + 2


@pytest.mark.parametrize("text", ["sNaN", "-sNaN", "sNaN123"])
def test_a_signalling_nan_decimal_is_refused_so_results_stay_comparable(text: str) -> None:
    # Red-team round 9: a returned Decimal('sNaN') made `result == other` raise
    # InvalidOperation (and the result cache's own comparisons) and hash() raise TypeError.
    result = restricted_exec.run(
        f"import decimal\ndecimal.Decimal({text!r})", policy=Policy(isolation="process")
    )
    assert result.status == "error", result
    assert result.error is not None and "signalling NaN" in result.error.message
    assert result == ExecutionResult.model_validate_json(result.model_dump_json())
    quiet = restricted_exec.run(
        "import decimal\n[decimal.Decimal('NaN')]", policy=Policy(isolation="process")
    )
    assert quiet.status == "ok" and quiet.value is not None and quiet.value[0].is_qnan()


@pytest.mark.parametrize(
    "expression",
    [
        "datetime.time(1, 2, 3, 4, tzinfo=datetime.timezone("
        "datetime.timedelta(seconds=-1, microseconds=5)))",
        "datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone("
        "datetime.timedelta(hours=1), 'CET'))",
    ],
)
def test_a_date_or_time_isoformat_would_change_is_refused_not_returned_changed(
    expression: str,
) -> None:
    # Red-team round 11: a negative UTC offset under a second came back as UTC.
    result = restricted_exec.run(
        f"import datetime\n{expression}", policy=Policy(isolation="process")
    )
    assert result.status == "error", result
    assert result.error is not None and "cannot be returned exactly" in result.error.message


def test_the_fold_of_a_datetime_or_time_comes_back() -> None:
    result = restricted_exec.run(
        "import datetime\n[datetime.datetime(2021, 11, 7, 1, 30, fold=1), "
        "datetime.time(1, 30, fold=1), datetime.datetime(2021, 11, 7, 1, 30)]",
        policy=Policy(isolation="process"),
    )
    assert result.status == "ok", result
    assert [value.fold for value in result.value] == [1, 1, 0]  # type: ignore[union-attr]
