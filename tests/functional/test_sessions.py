"""Sessions keep state across runs exactly as CPython keeps it across cells run one after
another in one namespace: each case runs its cells in a session and in CPython (one dict, the
value of a cell its last expression statement's, as a REPL gives it), and compares every
cell's status, output, value and exception type."""

from __future__ import annotations

import ast
import contextlib
import datetime
import io
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest

from restricted_exec import Policy, Sandbox
from restricted_exec.language.values import UnsupportedValue, decode, encode


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(prefork=1) as made:
        yield made


def cpython_cells(cells: list[str]) -> list[tuple[str, str, Any, str | None]]:
    """(status, stdout, value, exception type) of each cell, run by CPython in one namespace
    that starts with the session's preloaded modules."""
    namespace: dict[str, Any] = {"math": math, "datetime": datetime, "json": json}
    outcomes = []
    for cell in cells:
        printed = io.StringIO()
        tree = ast.parse(cell)
        value: Any = None
        status, error = "ok", None
        with contextlib.redirect_stdout(printed):
            try:
                last = tree.body[-1] if tree.body else None
                if isinstance(last, ast.Expr):
                    exec(compile(ast.Module(tree.body[:-1], []), "<cell>", "exec"), namespace)
                    value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
                else:
                    exec(compile(tree, "<cell>", "exec"), namespace)
            except Exception as problem:
                status, error, value = "error", type(problem).__name__, None
        outcomes.append((status, printed.getvalue(), _as_data(value), error))
    return outcomes


def _as_data(value: Any) -> Any:
    try:
        return decode(encode(value))
    except UnsupportedValue:
        return "<not data>"


def session_cells(
    sandbox: Sandbox, cells: list[str], mode: str = "process"
) -> list[tuple[str, str, Any, str | None]]:
    outcomes = []
    with sandbox.session(policy=Policy(isolation=mode)) as session:
        for cell in cells:
            result = session.run(cell)
            error = result.error.type if result.error is not None else None
            outcomes.append((result.status, result.stdout, result.value, error))
    return outcomes


CASES: dict[str, list[str]] = {
    "variables": ["x = 1", "x += 2\nx", "x * 10"],
    "issue example": ["import statistics\nxs = [3, 1, 4]", "statistics.mean(xs)"],
    "list mutation": ["xs = []", "xs.append(1)", "xs.extend([2, 3])\nxs"],
    "dict building": ["d = {}", "d['a'] = 1\nd['b'] = 2", "sorted(d.items())"],
    "function": ["def f(n):\n    return n * n", "f(7)"],
    "function redefined": ["def f():\n    return 1", "def f():\n    return 2", "f()"],
    "recursion": ["def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)", "fact(20)"],
    "closure": [
        "def counter():\n    n = 0\n    def step():\n        nonlocal n\n        n += 1\n"
        "        return n\n    return step",
        "c = counter()\nc()",
        "c(), c()",
    ],
    "global statement": [
        "total = 0",
        "def add(n):\n    global total\n    total += n",
        "add(5)",
        "total",
    ],
    "class": ["class P:\n    def __init__(self, x):\n        self.x = x", "p = P(3)", "p.x * 2"],
    "class attribute shared": ["class C:\n    count = 0", "C.count += 1", "C.count"],
    "subclass": [
        "class A:\n    def who(self):\n        return 'A'",
        "class B(A):\n    def who(self):\n        return 'B' + super().who()",
        "B().who()",
    ],
    "dataclass": [
        "from dataclasses import dataclass",
        "@dataclass\nclass Pt:\n    x: int\n    y: int = 0",
        "Pt(1) == Pt(1, 0), repr(Pt(2, 3))",
    ],
    "enum": ["import enum\nclass Color(enum.Enum):\n    RED = 1\n    BLUE = 2", "Color(2).name"],
    "generator across cells": ["g = (i * i for i in range(5))", "next(g), next(g)", "list(g)"],
    "generator function": [
        "def evens():\n    n = 0\n    while True:\n        yield n\n        n += 2",
        "it = evens()",
        "[next(it) for _ in range(3)]",
    ],
    "import module": ["import fractions", "fractions.Fraction(1, 3) + fractions.Fraction(1, 6)"],
    "from import": ["from decimal import Decimal", "Decimal('1.10') + Decimal('2.205')"],
    "import alias": ["import statistics as st", "st.median([5, 1, 3])"],
    "preloaded modules": ["math.sqrt(2)", "json.dumps({'a': 1})"],
    "decimal context carries on": [
        "from decimal import Decimal, getcontext",
        "getcontext().prec = 4",
        "str(Decimal(1) / 7)",
    ],
    "exception between cells": ["a = 1", "a = 2\nraise ValueError('no')\na = 3", "a"],
    "exception caught": [
        "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    msg = str(e)",
        "msg",
    ],
    "name error then defined": ["y", "y = 5", "y"],
    "del between cells": ["z = 1", "del z", "z"],
    "partial function call error": ["def g(a, b):\n    return a + b", "g(1)", "g(1, 2)"],
    "print and value": ["print('hi')\n3", "print('x', 1, sep='-')"],
    "loop state": ["acc = []", "for i in range(3):\n    acc.append(i)", "acc"],
    "comprehension uses global": ["k = 10", "[k + i for i in range(3)]"],
    "lambda bound": ["sq = lambda v: v * v", "sq(9)"],
    "decorator": [
        "def twice(f):\n    def g(x):\n        return f(f(x))\n    return g",
        "@twice\ndef inc(x):\n    return x + 1",
        "inc(5)",
    ],
    "namedtuple": [
        "from collections import namedtuple\nPoint = namedtuple('Point', 'x y')",
        "p = Point(1, 2)",
        "p.x + p.y, p._asdict()",
    ],
    "counter": ["from collections import Counter", "c = Counter('hello')", "c.most_common(1)"],
    "sets": ["s = {1, 2}", "s.add(3)\nsorted(s)"],
    "tuples and unpacking": ["a, *rest = [1, 2, 3, 4]", "a, rest"],
    "string methods": ["s = 'Hello'", "s.lower() + s.upper()"],
    "dates": ["d = datetime.date(2024, 1, 31)", "d + datetime.timedelta(days=1)"],
    "compound interest": [
        "rate = 0.05 / 12\nbalance = 0.0",
        "for _ in range(60):\n    balance = (balance + 3000) * (1 + rate)",
        "round(balance, 2)",
    ],
    "class with class method": [
        "class Temp:\n    def __init__(self, c):\n        self.c = c\n"
        "    @classmethod\n    def from_f(cls, f):\n        return cls((f - 32) * 5 / 9)",
        "round(Temp.from_f(212).c, 3)",
    ],
    "instance mutated across cells": [
        "class Box:\n    def __init__(self):\n        self.items = []",
        "b = Box()",
        "b.items.append('a')",
        "b.items",
    ],
    "match statement": [
        "def kind(v):\n    match v:\n        case int():\n            return 'int'\n"
        "        case _:\n            return 'other'",
        "kind(1), kind('x')",
    ],
    "random seeded in the session": ["import random\nrandom.seed(7)", "random.randint(1, 100)"],
    "syntax error cell leaves state": ["keep = 1", "keep ==== 2", "keep"],
}


@pytest.mark.parametrize("mode", ["process", "inline"])
@pytest.mark.parametrize("cells", list(CASES.values()), ids=list(CASES))
def test_a_session_keeps_state_across_runs_as_cpython_across_cells(
    sandbox: Sandbox, cells: list[str], mode: str
) -> None:
    got = session_cells(sandbox, cells, mode)
    expected = cpython_cells(cells) if "====" not in "".join(cells) else None
    if expected is None:  # CPython cannot even compile the cell: compare what it can
        assert [status for status, *_ in got] == ["ok", "syntax_error", "ok"]
        assert got[2][2] == 1
        return
    assert got == expected


def test_there_are_at_least_forty_multi_cell_cases() -> None:
    assert len(CASES) >= 40
    assert all(len(cells) >= 2 for cells in CASES.values())


# -- a new child when the old one died ------------------------------------------------------


def test_after_a_timeout_the_next_run_has_the_state_of_the_last_completed_run(
    sandbox: Sandbox,
) -> None:
    with sandbox.session(policy=Policy(timeout_s=0.5)) as session:
        session.run("import statistics\nxs = [3, 1, 4]\ndef double(v):\n    return 2 * v")
        session.run("class K:\n    base = 10\nlimit = 7")
        timed_out = session.run("xs.append(99)\nwhile True:\n    pass")
        assert timed_out.status == "timeout" and not timed_out.state_restored
        after = session.run("statistics.mean(xs), double(limit), K.base")
        assert after.ok, after.error
        assert after.state_restored
        # xs as of the last run the child survived: the append died with it.
        assert after.value == [statistics_mean([3, 1, 4]), 14, 10]
        assert session.unrestored == ()
        again = session.run("xs")
        assert again.value == [3, 1, 4] and not again.state_restored


def statistics_mean(values: list[int]) -> float:
    import statistics

    return statistics.mean(values)


def test_a_restore_names_what_it_could_not_bring_back(sandbox: Sandbox) -> None:
    with sandbox.session(policy=Policy(timeout_s=0.5)) as session:
        session.run("class P:\n    pass\np = P()\ng = (i for i in range(3))\nsq = lambda v: v")
        session.run("while True:\n    pass")
        result = session.run("P.__name__")
        assert result.state_restored and result.value == "P"
        assert sorted(session.unrestored) == ["g", "p", "sq"]
        lost = session.run("p")
        assert lost.status == "error" and lost.error is not None
        assert lost.error.type == "NameError"


def test_a_run_that_exhausts_memory_does_not_end_the_session(sandbox: Sandbox) -> None:
    with sandbox.session(policy=Policy(memory_mb=64, timeout_s=10)) as session:
        session.run("kept = 'yes'")
        hog = session.run("blocks = []\nwhile True:\n    blocks.append(bytearray(10**6))")
        assert hog.status == "memory_limit"
        after = session.run("kept")
        assert after.value == "yes"


def test_output_printed_before_a_timeout_in_a_session_is_in_stdout(sandbox: Sandbox) -> None:
    with sandbox.session(policy=Policy(timeout_s=0.5)) as session:
        result = session.run("print('started')\nwhile True:\n    pass")
        assert result.status == "timeout" and result.stdout == "started\n"


def test_session_runs_stream_output_and_call_host_functions(sandbox: Sandbox) -> None:
    chunks: list[str] = []
    with sandbox.session(functions={"rate": lambda: 0.05}) as session:
        session.run("r = rate()")
        result = session.run("print(r * 2)\nr", on_output=chunks.append)
    assert result.value == 0.05 and "".join(chunks) == "0.1\n"


def test_inputs_of_a_session_run_stay_in_its_namespace(sandbox: Sandbox) -> None:
    with sandbox.session() as session:
        session.run("1", inputs={"principal": 1000})
        assert session.run("principal * 2").value == 2000


# -- dump and load ----------------------------------------------------------------------------


def test_a_dumped_session_goes_on_in_another_sandbox() -> None:
    with Sandbox(prefork=1) as first, first.session() as session:
        session.run("from fractions import Fraction\nshare = Fraction(1, 3)")
        session.run("def split(total):\n    return total * share\nhistory = [1, 2]")
        dump = session.dump()
    with Sandbox(prefork=1) as second, second.load_session(dump) as moved:
        result = moved.run("history.append(3)\nsplit(9), history")
        assert result.ok, result.error
        assert result.value == [3, [1, 2, 3]]
        assert result.state_restored


def test_a_dump_is_versioned_json_of_data_and_sources() -> None:
    with Sandbox(prefork=1) as made, made.session() as session:
        session.run("import math as m\nn = 4\ndef area(r):\n    return m.pi * r * r")
        dumped = json.loads(session.dump())
    assert dumped == {
        "format": "restricted_exec session",
        "version": 1,
        "definitions": ["import math as m", "def area(r):\n    return m.pi * r * r"],
        "data": {"n": 4},
        "others": ["m", "area"],
    }


def test_an_inline_session_keeps_its_namespace_and_output_across_a_timeout(
    sandbox: Sandbox,
) -> None:
    with sandbox.session(policy=Policy(isolation="inline", timeout_s=0.5)) as session:
        session.run("count = 0")
        stopped = session.run("print('looping')\nwhile True:\n    count += 1")
        assert stopped.status == "timeout" and stopped.stdout == "looping\n"
        after = session.run("count > 0")
        # Nothing is lost with a child: the namespace is the caller's, as a REPL's after ^C.
        assert after.value is True and not after.state_restored


def test_a_process_sessions_dump_goes_on_in_an_inline_session(sandbox: Sandbox) -> None:
    with sandbox.session() as session:
        session.run(
            "import statistics\nxs = [1, 2, 3]\ndef mean():\n    return statistics.mean(xs)"
        )
        dump = session.dump()
    inline = sandbox.load_session(dump, policy=Policy(isolation="inline"))
    with inline:
        assert inline.run("xs.append(6)\nmean()").value == 3


# -- limits -------------------------------------------------------------------------------------


def test_more_open_sessions_than_max_sessions_are_rejected_with_a_reason() -> None:
    with Sandbox(prefork=1, max_sessions=2) as limited:
        first, second, third = (limited.session() for _ in range(3))
        assert first.run("1").ok and second.run("1").ok
        refused = third.run("1")
        assert refused.status == "rejected" and refused.error is not None
        assert "max_sessions" in refused.error.message
        assert limited.stats().sessions_open == 2
        first.close()
        assert third.run("1").ok
        assert limited.stats().sessions_open == 2


def test_more_open_sessions_of_one_tenant_than_its_limit_are_rejected() -> None:
    with Sandbox(prefork=1, max_sessions_per_tenant=1) as limited:
        mine = limited.session(tenant="a")
        also_mine = limited.session(tenant="a")
        theirs = limited.session(tenant="b")
        assert mine.run("1").ok and theirs.run("1").ok
        refused = also_mine.run("1")
        assert refused.status == "rejected" and refused.error is not None
        assert "max_sessions_per_tenant" in refused.error.message
        assert limited.stats().sessions_by_tenant == {"a": 1, "b": 1}


def test_an_idle_session_ends_and_says_why() -> None:
    import time

    from restricted_exec import SandboxClosedError

    with Sandbox(prefork=1, session_idle_s=0.3) as limited:
        session = limited.session()
        assert session.run("x = 1").ok
        time.sleep(0.6)
        with pytest.raises(SandboxClosedError, match="idle"):
            session.run("x")
        assert limited.stats().sessions_open == 0


def test_a_closed_session_refuses_runs(sandbox: Sandbox) -> None:
    from restricted_exec import SandboxClosedError

    session = sandbox.session()
    session.run("1")
    session.close()
    with pytest.raises(SandboxClosedError):
        session.run("1")


def test_closing_the_sandbox_closes_its_sessions() -> None:
    from restricted_exec import SandboxClosedError

    made = Sandbox(prefork=1)
    session = made.session()
    assert session.run("1").ok
    made.close()
    with pytest.raises(SandboxClosedError):
        session.run("1")


def test_session_cells_are_compiled_and_refused_like_programs(sandbox: Sandbox) -> None:
    with sandbox.session() as session:
        session.run("kept = 2")
        refused = session.run("import os")
        assert refused.status == "policy_violation"
        assert session.run("kept").value == 2
