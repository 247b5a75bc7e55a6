"""Resource exhaustion through the public API, in the default process isolation.

Every program runs under ``Policy(timeout_s=1, memory_mb=64, output_bytes=10_000)`` in one
Sandbox created *after* the host canaries are planted (see ``tests/fuzz/hostguard.py``). Each
test asserts three things:

- the run ends with the status this ending deserves (found by running it, not guessed: a bomb
  the kernel's address-space limit stops inside one allocation is ``memory_limit``; CPU burnt
  inside one C call is ``timeout``, ended by the parent's SIGKILL; CPython's own guards - the
  4300-digit int/str limit, the recursion limit - make it an ``error``);
- it ends within its limit plus a generous margin (``limit + 3 s``; never a tight timing claim);
- the host survives: ``run("print(1)")`` still works, host RSS grew by less than 20 MB, no canary
  leaked, no file appeared in /tmp or the host's cwd, host state is unchanged; at module
  teardown the fd count is what it was and no child is left a zombie.

Hostile *source*, refused before a child starts, is measured in fresh interpreters by
``test_host_cost_of_hostile_source.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from fuzz.hostguard import HostGuard, guarded_sandbox, rss_kb  # tests/ is on sys.path
from isolation.support import lasting_zombies, open_fds

from restricted_exec import ExecutionResult, Policy, Sandbox

POLICY = Policy(timeout_s=1, memory_mb=64, output_bytes=10_000)
MARGIN_S = 3.0
RSS_GROWTH_KB = 20 * 1024

Host = tuple[HostGuard, Sandbox, int]


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    with guarded_sandbox(POLICY) as (guard, sandbox):
        assert sandbox.run("print(1)").stdout == "1\n"  # fork server up, caches warm
        baseline = rss_kb()
        fds_before = open_fds()
        yield guard, sandbox, baseline
        assert rss_kb() - baseline < RSS_GROWTH_KB
        # Every killed child was reaped and no fd outlived its run.
        assert open_fds() == fds_before
        runner = sandbox._runner
        fork_server = (
            runner._fork_server.pid if runner is not None and runner._fork_server else os.getpid()
        )
        # A child killed by the last run is a zombie until the fork server reaps it: only one
        # that outlives the grace period is a leak.
        assert lasting_zombies(os.getpid(), fork_server) == []


def _run(
    host: Host,
    source: str,
    status: str,
    *,
    limit_s: float = 1.0,
    policy: Policy | None = None,
) -> ExecutionResult:
    guard, sandbox, baseline = host
    tmp_before = guard.tmp_entries()
    started = time.monotonic()
    result = sandbox.run(source, policy=policy)
    elapsed = time.monotonic() - started
    guard.assert_no_leak(result)
    assert result.status == status, (result.status, result.error)
    assert elapsed < limit_s + MARGIN_S, f"took {elapsed:.1f} s"
    # The host survives: the next run works and the host did not absorb the bomb.
    after = sandbox.run("print(1)")
    assert (after.status, after.stdout) == ("ok", "1\n"), after.error
    assert rss_kb() - baseline < RSS_GROWTH_KB, "host RSS grew"
    guard.assert_host_intact([sandbox], tmp_before=tmp_before)
    return result


def _memory_limit(host: Host, source: str) -> None:
    result = _run(host, source, "memory_limit")
    assert result.error is not None
    assert result.error.type == "MemoryError"
    assert "memory_mb" in result.error.message


def _timeout(host: Host, source: str, kinds: tuple[str, ...] = ("wall", "cpu")) -> None:
    # With cpu_time_s unset the CPU limit equals timeout_s, so a CPU-bound bomb meets the
    # kernel's SIGXCPU and the parent's SIGKILL at about the same moment: either is right.
    result = _run(host, source, "timeout")
    assert result.timeout_kind in kinds
    assert result.duration_ms >= 900  # it really ran until the deadline


# -- memory bombs: the child's address-space limit stops them, the host never allocates ------

MEMORY_BOMBS = {
    "string_repetition": "x = 'a' * 10**10",
    "list_repetition": "x = [0] * 10**9",
    "tuple_repetition": "x = (0,) * 10**9",
    "bytes_of_a_huge_size": "x = bytes(10**10)",
    "bytearray_of_a_huge_size": "x = bytearray(10**10)",
    "list_of_a_huge_range": "x = list(range(10**9))",
}


@pytest.mark.parametrize("source", MEMORY_BOMBS.values(), ids=MEMORY_BOMBS.keys())
def test_sequence_repetition_bomb_ends_with_memory_limit(host: Host, source: str) -> None:
    _memory_limit(host, source)


def test_doubling_string_loop_ends_with_memory_limit(host: Host) -> None:
    _memory_limit(host, "x = 'a'\nwhile True:\n    x = x + x")


def test_doubling_list_loop_ends_with_memory_limit(host: Host) -> None:
    _memory_limit(host, "x = [1]\nwhile True:\n    x = x * 2")


def test_dict_comprehension_growth_ends_with_memory_limit(host: Host) -> None:
    _memory_limit(host, "d = {i: i for i in range(10**8)}")


def test_exception_chain_growth_ends_with_memory_limit(host: Host) -> None:
    # Python-level growth the allocator cannot satisfy: the child is killed or raises.
    _memory_limit(
        host,
        "e = None\nwhile True:\n    try:\n        raise ValueError('x' * 100) from e\n"
        "    except ValueError as caught:\n        e = caught",
    )


@pytest.mark.parametrize(
    "source", ["x = 1 << (10**10)", "x = 1 << (8 * 10**9)"], ids=["shift_10e10", "shift_8e9"]
)
def test_big_int_shift_ends_with_memory_limit(host: Host, source: str) -> None:
    _memory_limit(host, source)


def test_str_join_of_a_huge_generator_ends_with_memory_limit(host: Host) -> None:
    _memory_limit(host, "x = ''.join('x' for _ in range(10**10))")


def test_str_join_of_a_huge_list_ends_with_memory_limit(host: Host) -> None:
    _memory_limit(host, "x = ''.join(['abcdefgh'] * 10**8)")


FORMAT_WIDTH_BOMBS = {
    "fstring_nested_width": 'x = f"{0:>{10**10}}"',
    "str_format_nested_width": 'x = "{0:>{1}}".format(0, 10**10)',
    "format_builtin_width": 'x = format(0, ">10000000000")',
    "percent_width": 'x = "%10000000000d" % 1',
    "format_map_width": 'x = "{a:>{w}}".format_map({"a": 0, "w": 10**10})',
}


@pytest.mark.parametrize("source", FORMAT_WIDTH_BOMBS.values(), ids=FORMAT_WIDTH_BOMBS.keys())
def test_format_width_bomb_ends_with_memory_limit(host: Host, source: str) -> None:
    _memory_limit(host, source)


PADDING_BOMBS = {
    "zfill": 'x = "x".zfill(10**10)',
    "center": 'x = " ".center(10**10)',
    "ljust": 'x = "a".ljust(10**10)',
    "rjust": 'x = "a".rjust(10**10)',
    "replace_growth": 'x = ("a" * 1000).replace("a", "a" * 10**7)',
    "textwrap_indent": 'import textwrap\nx = textwrap.indent("a\\n" * 10**4, " " * 10**5)',
}


@pytest.mark.parametrize("source", PADDING_BOMBS.values(), ids=PADDING_BOMBS.keys())
def test_string_padding_bomb_ends_with_memory_limit(host: Host, source: str) -> None:
    _memory_limit(host, source)


def test_expandtabs_with_a_huge_tabsize_ends_with_error(host: Host) -> None:
    # CPython refuses a tab size that does not fit a C int before allocating anything.
    result = _run(host, 'x = "\\t".expandtabs(10**10)', "error")
    assert result.error is not None and result.error.type == "OverflowError"


def test_decimal_precision_bomb_ends_with_memory_limit(host: Host) -> None:
    # The program's own decimal context (per run), asked for 10**8 digits.
    _memory_limit(
        host, "import decimal\ndecimal.getcontext().prec = 10**8\nx = decimal.Decimal(1) / 7"
    )


# -- CPU burnt inside one C call: only the parent's SIGKILL at timeout_s ends it --------------

CPU_BOMBS = {
    "power_tower": "x = 10**10**8",
    "huge_power": "x = 10**(10**9)",
    "factorial": "import math\nx = math.factorial(10**7)",
    "prod_of_a_range": "import math\nx = math.prod(range(1, 10**7))",
    "comb": "import math\nx = math.comb(10**7, 5 * 10**6)",
    "fraction_power": "from fractions import Fraction\nx = Fraction(1, 3) ** 10**7",
    "regex_backtracking": 'import re\nre.match(r"(a+)+$", "a" * 40 + "b")',
}


@pytest.mark.parametrize("source", CPU_BOMBS.values(), ids=CPU_BOMBS.keys())
def test_cpu_inside_one_c_call_ends_with_timeout(host: Host, source: str) -> None:
    _timeout(host, source)


def test_blocking_sleep_ends_with_wall_timeout(host: Host) -> None:
    _timeout(host, "import time\ntime.sleep(1e9)", kinds=("wall",))


def test_busy_loop_ends_with_timeout(host: Host) -> None:
    _timeout(host, "while True:\n    pass")


def test_busy_loop_under_a_smaller_cpu_limit_ends_with_cpu_timeout(host: Host) -> None:
    policy = POLICY.replace(timeout_s=5, cpu_time_s=1)
    result = _run(host, "while True:\n    pass", "timeout", limit_s=5, policy=policy)
    assert result.timeout_kind == "cpu"


def test_the_power_tower_that_is_small_still_runs(host: Host) -> None:
    assert _run(host, "x = 2**2**2**2**2\nprint(x.bit_length())", "ok").stdout == "65537\n"


@pytest.mark.parametrize(
    "source",
    ["x = str(10**5000)", "x = 10**100000\nprint(len(str(x)))", 'x = int("9" * 5000)'],
    ids=["str_of_a_huge_int", "len_of_str_of_a_huge_int", "int_of_a_huge_str"],
)
def test_int_str_conversion_of_a_huge_int_ends_with_error(host: Host, source: str) -> None:
    result = _run(host, source, "error")
    assert result.error is not None and result.error.type == "ValueError"
    assert "4300" in result.error.message


# -- deep recursion: CPython's recursion limit, a plain error --------------------------------

RECURSION = {
    "function": "def f(n):\n    return f(n + 1)\nf(0)",
    "repr": "class A:\n    def __repr__(self):\n        return repr(self)\nrepr(A())",
    "nested_dict_repr": "d = {}\nfor i in range(10**5):\n    d = {1: d}\nprint(str(d)[:5])",
    "regex_compile_nesting": 'import re\nre.compile("(" * 10**5)',
    "json_loads_nested": 'import json\njson.loads("[" * 10**6 + "]" * 10**6)',
    "json_loads_nested_objects": 'import json\njson.loads(\'{"a":\' * 10**5 + "1" + "}" * 10**5)',
}


@pytest.mark.parametrize("source", RECURSION.values(), ids=RECURSION.keys())
def test_deep_recursion_ends_with_recursion_error(host: Host, source: str) -> None:
    result = _run(host, source, "error")
    assert result.error is not None and result.error.type == "RecursionError"


# -- output floods: capped in the child at output_bytes ----------------------------------------

FLOODS = {
    "loop": "while True:\n    print('flood' * 100)",
    "loop_without_newlines": "while True:\n    print(1, end='')",
    "one_huge_print": "print('x' * 10**6)",
}


@pytest.mark.parametrize("source", FLOODS.values(), ids=FLOODS.keys())
def test_output_flood_ends_with_output_limit(host: Host, source: str) -> None:
    result = _run(host, source, "output_limit")
    assert result.stdout_truncated
    assert len(result.stdout.encode()) <= POLICY.output_bytes
