"""Frames, code objects and tracebacks stay out of reach.

Generators, coroutines, async generators and exceptions all lead to frames
(``gi_frame``, ``cr_frame``, ``ag_frame``, ``__traceback__``/``tb_frame``), and a
frame leads to ``f_back.f_globals`` of the host (GHSA-wqc8-x2pr-7jqh).
"""

from __future__ import annotations

import pytest
from rx_sec import assert_policy_violation, assert_refused, run

GEN = "def g():\n    yield 1\nit = g()\nnext(it)\n"

FRAME_ATTRIBUTES = [
    "gi_frame",
    "gi_code",
    "gi_yieldfrom",
    "f_back",
    "f_globals",
    "f_locals",
    "f_builtins",
    "f_code",
    "tb_frame",
    "tb_next",
    "cr_frame",
    "cr_code",
    "cr_await",
    "cr_origin",
    "ag_frame",
    "ag_code",
    "ag_await",
    "co_code",
    "f_trace",
]


@pytest.mark.parametrize("name", FRAME_ATTRIBUTES, ids=FRAME_ATTRIBUTES)
def test_cannot_read_frame_attribute_with_attribute_syntax(name: str) -> None:
    assert_policy_violation(run(f"{GEN}print('ran')\nprint(it.{name})"), match=name)


@pytest.mark.parametrize("name", FRAME_ATTRIBUTES, ids=FRAME_ATTRIBUTES)
def test_cannot_read_frame_attribute_with_computed_getattr(name: str) -> None:
    source = f"{GEN}n = {name[:2]!r} + {name[2:]!r}\nprint(getattr(it, n, None))"
    assert_refused(run(source), match=name)


@pytest.mark.parametrize(
    "source",
    [
        f"{GEN}print(it.gi_frame.f_back.f_globals)",
        f"{GEN}f = getattr(it, 'gi_' + 'frame')\nprint(getattr(getattr(f, 'f_back'), 'f_globals'))",
        "g = (x for x in [1])\nprint(g.gi_frame)",
        "g = (x for x in [1])\nprint(getattr(g, 'gi_' + 'frame'))",
        "import operator\ng = (x for x in [1])\nprint(operator.attrgetter('gi_frame.f_back')(g))",
        "g = (x for x in [1])\nmatch g:\n    case object(gi_frame=f):\n        print(f)",
        f"{GEN}print(it.gi_code.co_consts)",
    ],
    ids=[
        "generator_frame_walk",
        "generator_frame_walk_computed",
        "genexpr_frame",
        "genexpr_frame_computed",
        "attrgetter_dotted_frame",
        "match_class_pattern_frame",
        "generator_code",
    ],
)
def test_cannot_walk_generator_frames(source: str) -> None:
    assert_refused(run(source))


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    1/0\nexcept Exception as e:\n    print(e.__traceback__.tb_frame.f_globals)",
        "try:\n    1/0\nexcept Exception as e:\n    print(getattr(e, '__trace' + 'back__'))",
        "try:\n    1/0\nexcept Exception as e:\n    t = e.with_traceback(None)\n    print(t.__traceback__)",  # noqa: E501
        "try:\n    json.nope\nexcept AttributeError as e:\n    print(e.__context__.__traceback__)",
        "import operator\ntry:\n    1/0\nexcept Exception as e:\n"
        "    print(operator.attrgetter('__traceback__')(e))",
    ],
    ids=[
        "traceback_frame",
        "traceback_computed",
        "with_traceback",
        "context_traceback",
        "attrgetter_traceback",
    ],
)
def test_cannot_reach_an_exceptions_traceback(source: str) -> None:
    assert_refused(run(source))


@pytest.mark.parametrize(
    "source",
    [
        "async def f():\n    return 1\nprint(f().cr_frame)",
        "async def f():\n    yield 1\nprint(f().ag_frame)",
        "async def f():\n    await f()",
        "async def g(z):\n    return [y async for y in z]",
    ],
    ids=["coroutine_frame", "async_generator_frame", "await", "async_comprehension"],
)
def test_cannot_create_coroutines_or_async_generators(source: str) -> None:
    assert_policy_violation(run(source))


def test_error_traceback_shows_only_program_frames() -> None:
    result = run("def f():\n    return json.nope\nf()")
    assert_refused(result)
    assert result.error is not None
    assert "restricted_exec" not in result.error.traceback
    assert 'File "<program>"' in result.error.traceback
