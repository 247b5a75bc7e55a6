"""Host functions ("code mode"): a program calls functions the caller registered, by name, and
they run in the caller's process with plain data in and out.

Each expectation is what CPython gives for the same program when the functions are ordinary
Python functions and every value crosses through the value codec (tuples and sets arrive as
lists, as for inputs and results), an exception's arguments included."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import io
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

import restricted_exec
from restricted_exec import InputError, Policy, Sandbox
from restricted_exec.language.values import decode, encode

MODES = ("process", "inline")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(prefork=1) as made:
        yield made


def through_the_codec(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as a program sees it from CPython when every value crosses as data."""

    def crossing(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = decode(encode([list(args), kwargs]))
        try:
            result = function(*args, **kwargs)
        except Exception as problem:
            raise type(problem)(*decode(encode(list(problem.args)))) from None
        return decode(encode(result))

    return crossing


def cpython_run(source: str, functions: dict[str, Callable[..., Any]]) -> str:
    printed = io.StringIO()
    namespace = {name: through_the_codec(function) for name, function in functions.items()}
    with contextlib.redirect_stdout(printed):
        exec(textwrap.dedent(source), namespace)
    return printed.getvalue()


def echo(*args: Any, **kwargs: Any) -> Any:
    return {"args": args, "kwargs": kwargs}


def fx_rate(base: str, quote: str) -> float:
    return {("USD", "CNY"): 7.1, ("EUR", "USD"): 1.08}[(base, quote)]


_EVERY_TYPE = """
from decimal import Decimal
from fractions import Fraction
import datetime
values = [None, True, 0, -7, 2**200, 1.5, float('inf'), 'text', '\\u4e2d', Decimal('1.10'),
          Fraction(1, 3), datetime.date(2024, 2, 29), datetime.datetime(2024, 1, 2, 3, 4, 5),
          datetime.time(12, 30), datetime.timedelta(days=1, seconds=2),
          [1, [2, [3]]], (4, 5), {6, 7}, frozenset({8}), {'a': 1, 2: 'b'}]
for value in values:
    back = echo(value, key=value)
    print(type(back['args'][0]).__name__, repr(back['args'][0]), repr(back['kwargs']['key']))
"""


@pytest.mark.parametrize("mode", MODES)
def test_every_plain_data_type_goes_out_and_comes_back_as_cpython_sees_it(
    sandbox: Sandbox, mode: str
) -> None:
    result = sandbox.run(_EVERY_TYPE, policy=Policy(isolation=mode), functions={"echo": echo})
    assert result.ok, result.error
    assert result.stdout == cpython_run(_EVERY_TYPE, {"echo": echo})


@pytest.mark.parametrize("mode", MODES)
def test_the_issue_example_converts_a_price(sandbox: Sandbox, mode: str) -> None:
    result = sandbox.run(
        "print(round(100 * fx_rate('USD', 'CNY'), 2))",
        policy=Policy(isolation=mode),
        functions={"fx_rate": fx_rate},
    )
    assert result.stdout == "710.0\n"


@pytest.mark.parametrize("mode", MODES)
def test_keyword_arguments_and_defaults_reach_the_function(sandbox: Sandbox, mode: str) -> None:
    def price(amount: Decimal, *, rate: Decimal = Decimal("1"), rounding: int = 2) -> Decimal:
        return round(amount * rate, rounding)

    source = (
        "from decimal import Decimal\n"
        "print(price(Decimal('10.005'), rate=Decimal('1.1')), price(Decimal(3), rounding=0))\n"
    )
    result = sandbox.run(source, policy=Policy(isolation=mode), functions={"price": price})
    assert result.stdout == cpython_run(source, {"price": price})


@pytest.mark.parametrize("mode", MODES)
def test_a_builtin_exception_of_a_host_function_is_caught_by_its_type(
    sandbox: Sandbox, mode: str
) -> None:
    source = textwrap.dedent(
        """
        for pair in [('USD', 'CNY'), ('XXX', 'YYY')]:
            try:
                print(fx_rate(*pair))
            except KeyError as missing:
                print('no rate for', missing)
        """
    )
    result = sandbox.run(source, policy=Policy(isolation=mode), functions={"fx_rate": fx_rate})
    assert result.ok, result.error
    assert result.stdout == cpython_run(source, {"fx_rate": fx_rate})


@pytest.mark.parametrize("mode", MODES)
def test_an_uncaught_host_exception_is_the_results_error(sandbox: Sandbox, mode: str) -> None:
    class QuotaExceeded(Exception):
        pass

    def quote() -> None:
        raise QuotaExceeded("try again in 10 s")

    result = sandbox.run(
        "print('before')\nquote()\n", policy=Policy(isolation=mode), functions={"quote": quote}
    )
    assert result.status == "error"
    assert result.error is not None
    assert (result.error.type, result.error.message) == ("QuotaExceeded", "try again in 10 s")
    assert result.error.line == 2
    assert result.stdout == "before\n"
    assert result.error.traceback == (  # the program's frames only
        'Traceback (most recent call last):\n  File "<program>", line 2, in <module>\n'
        "    quote()\nQuotaExceeded: try again in 10 s"
    )


@pytest.mark.parametrize("mode", MODES)
def test_an_other_host_exception_is_caught_as_exception_with_its_name(
    sandbox: Sandbox, mode: str
) -> None:
    class QuotaExceeded(Exception):
        pass

    def quote() -> None:
        raise QuotaExceeded("later")

    source = (
        "try:\n    quote()\nexcept Exception as problem:\n"
        "    print(type(problem).__name__, problem.args)\n"
    )
    result = sandbox.run(source, policy=Policy(isolation=mode), functions={"quote": quote})
    assert result.stdout == "QuotaExceeded ('later',)\n"


async def doubled(value: int) -> int:
    await asyncio.sleep(0.01)
    return value * 2


@pytest.mark.parametrize("mode", MODES)
def test_an_async_host_function_runs_to_completion_under_the_sync_api(
    sandbox: Sandbox, mode: str
) -> None:
    result = sandbox.run(
        "doubled(21)", policy=Policy(isolation=mode), functions={"doubled": doubled}
    )
    assert result.value == 42


@pytest.mark.parametrize("mode", MODES)
def test_an_async_host_function_is_awaited_on_the_callers_loop_under_run_async(
    sandbox: Sandbox, mode: str
) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def where(value: int) -> int:
        loops.append(asyncio.get_running_loop())
        return value + 1

    async def main() -> tuple[Any, asyncio.AbstractEventLoop]:
        result = await sandbox.run_async(
            "where(1)", policy=Policy(isolation=mode), functions={"where": where}
        )
        return result.value, asyncio.get_running_loop()

    value, caller_loop = asyncio.run(main())
    assert value == 2
    assert loops == [caller_loop]


@pytest.mark.parametrize("mode", MODES)
def test_a_host_function_gets_copies_and_its_result_is_a_copy(sandbox: Sandbox, mode: str) -> None:
    kept: list[Any] = []
    shared = [1, 2]

    def remember(items: list[int]) -> list[int]:
        kept.append(items)
        return shared

    source = "mine = [1]\ngot = remember(mine)\nmine.append(9)\ngot.append(3)\nprint(got)\n"
    result = sandbox.run(source, policy=Policy(isolation=mode), functions={"remember": remember})
    assert result.stdout == "[1, 2, 3]\n"
    assert kept == [[1]] and shared == [1, 2]


@pytest.mark.parametrize("mode", MODES)
def test_output_printed_before_a_call_reaches_on_output_before_the_function_runs(
    sandbox: Sandbox, mode: str
) -> None:
    events: list[str] = []

    def step(name: str) -> None:
        events.append(f"call {name}")

    source = "print('one')\nstep('a')\nprint('two')\nstep('b')\n"
    sandbox.run(
        source,
        policy=Policy(isolation=mode),
        functions={"step": step},
        on_output=lambda text: events.append(f"out {text!r}"),
    )
    assert events == ["out 'one\\n'", "call a", "out 'two\\n'", "call b"]


@pytest.mark.parametrize("mode", MODES)
def test_more_calls_than_max_host_calls_is_a_policy_violation(sandbox: Sandbox, mode: str) -> None:
    calls: list[int] = []
    result = sandbox.run(
        "for i in range(10):\n    count(i)\n",
        policy=Policy(isolation=mode, max_host_calls=3),
        functions={"count": calls.append},
    )
    assert result.status == "policy_violation"
    assert result.error is not None and result.error.type == "HostCallLimitExceeded"
    assert "max_host_calls" in result.error.message
    assert calls == [0, 1, 2]


@pytest.mark.parametrize("mode", MODES)
def test_arguments_over_host_call_bytes_raise_in_the_program(sandbox: Sandbox, mode: str) -> None:
    calls: list[str] = []
    source = "try:\n    take('x' * 5000)\nexcept ValueError as problem:\n    print(problem)\n"
    result = sandbox.run(
        source,
        policy=Policy(isolation=mode, host_call_bytes=1024),
        functions={"take": calls.append},
    )
    assert result.ok and "host_call_bytes" in result.stdout, result
    assert calls == []


@pytest.mark.parametrize("mode", MODES)
def test_a_result_over_host_call_bytes_raises_in_the_program(sandbox: Sandbox, mode: str) -> None:
    result = sandbox.run(
        "big()",
        policy=Policy(isolation=mode, host_call_bytes=1024),
        functions={"big": lambda: "y" * 5000},
    )
    assert result.status == "error" and result.error is not None
    assert result.error.type == "ValueError" and "host_call_bytes" in result.error.message


@pytest.mark.parametrize("mode", MODES)
def test_a_result_that_is_not_data_raises_type_error_in_the_program(
    sandbox: Sandbox, mode: str
) -> None:
    result = sandbox.run(
        "lock()", policy=Policy(isolation=mode), functions={"lock": threading.Lock}
    )
    assert result.status == "error" and result.error is not None
    assert result.error.type == "TypeError" and "plain data" in result.error.message


@pytest.mark.parametrize("mode", MODES)
def test_a_hanging_host_function_ends_with_the_runs_timeout(sandbox: Sandbox, mode: str) -> None:
    release = threading.Event()
    started = time.monotonic()
    try:
        result = sandbox.run(
            "print('calling')\nwait()\n",
            policy=Policy(isolation=mode, timeout_s=0.5),
            functions={"wait": lambda: release.wait(30)},
        )
    finally:
        release.set()
    assert result.status == "timeout"
    assert result.stdout == "calling\n"
    assert time.monotonic() - started < 5


def test_host_functions_see_the_callers_context_variables(sandbox: Sandbox) -> None:
    import contextvars

    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    request_id.set("req-7")
    result = sandbox.run("who()", functions={"who": lambda: request_id.get("none")})
    assert result.value == "req-7"


def test_module_run_program_run_and_stream_take_functions(sandbox: Sandbox) -> None:
    assert restricted_exec.run("twice(4)", functions={"twice": lambda n: 2 * n}).value == 8
    program = sandbox.compile_program("twice(n)")
    assert program.run(inputs={"n": 5}, functions={"twice": lambda n: 2 * n}).value == 10

    async def collect() -> list[Any]:
        return [
            item
            async for item in sandbox.stream(
                "print(twice(3))", functions={"twice": lambda n: 2 * n}
            )
        ]

    *chunks, result = asyncio.run(collect())
    assert "".join(chunks) == "6\n" and result.ok


def test_a_run_with_host_functions_is_not_served_from_the_result_cache() -> None:
    answers = iter([1, 2])
    with Sandbox(prefork=1) as cached:
        policy = Policy(deterministic=True)
        first = cached.run("ask()", policy=policy, functions={"ask": lambda: next(answers)})
        second = cached.run("ask()", policy=policy, functions={"ask": lambda: next(answers)})
    assert (first.value, second.value) == (1, 2)
    assert not second.cache_hit


@pytest.mark.parametrize(
    ("functions", "inputs", "reason"),
    [
        ({"not a name": len}, None, "not an identifier"),
        ({"class": len}, None, "not an identifier"),
        ({"_hidden": len}, None, "private"),
        ({"print": len}, None, "builtin"),
        ({"n": len}, {"n": 1}, "input"),
        ({"value": 3}, None, "not callable"),
    ],
)
def test_bad_host_function_names_raise_input_error(
    sandbox: Sandbox, functions: dict[str, Any], inputs: dict[str, Any] | None, reason: str
) -> None:
    with pytest.raises(InputError, match=reason):
        sandbox.run("1", functions=functions, inputs=inputs)


def test_values_with_datetime_and_fraction_arrive_as_those_types(sandbox: Sandbox) -> None:
    seen: list[Any] = []

    def look(*values: Any) -> None:
        seen.extend(values)

    sandbox.run(
        "import datetime\nfrom fractions import Fraction\nfrom decimal import Decimal\n"
        "look(datetime.date(2024, 1, 2), Fraction(2, 3), Decimal('0.1'))\n",
        functions={"look": look},
    )
    assert seen == [datetime.date(2024, 1, 2), Fraction(2, 3), Decimal("0.1")]
    assert [type(value) for value in seen] == [datetime.date, Fraction, Decimal]
