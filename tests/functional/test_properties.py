"""Property tests: generated programs give exactly what CPython gives.

Each generated program is run by the same harness as the snippet corpus
(``check``): CPython's stdout, value or exception is computed at test time.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restricted_exec import ExecutionResult

Check = Callable[[str], ExecutionResult]

PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HEADER = "from decimal import Decimal\nfrom fractions import Fraction\n"

# -- arithmetic ---------------------------------------------------------------

ints = st.integers(min_value=-(10**6), max_value=10**6).map(repr)
small_ints = st.integers(min_value=-20, max_value=20).map(repr)
floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).map(repr)
special_floats = st.sampled_from(['float("inf")', 'float("-inf")', 'float("nan")', "-0.0"])
decimals = st.decimals(
    min_value=-(10**6), max_value=10**6, allow_nan=False, allow_infinity=False, places=4
).map(lambda d: f'Decimal("{d}")')
fractions = st.tuples(
    st.integers(min_value=-1000, max_value=1000), st.integers(min_value=1, max_value=1000)
).map(lambda nd: f"Fraction({nd[0]}, {nd[1]})")
leaves = st.one_of(ints, small_ints, floats, special_floats, decimals, fractions)

BINARY = ["+", "-", "*", "/", "//", "%"]
COMPARE = ["<", "<=", "==", "!=", ">", ">="]


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(BINARY), children).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    # Exponents stay small so values stay small: a bounded int literal.
    power = st.tuples(children, st.integers(min_value=-3, max_value=4)).map(
        lambda t: f"({t[0]} ** {t[1]})"
    )
    unary = st.tuples(st.sampled_from(["-", "+", "abs", "round"]), children).map(
        lambda t: f"{t[0]}({t[1]})" if t[0] in ("abs", "round") else f"({t[0]}{t[1]})"
    )
    builtin_pair = st.tuples(st.sampled_from(["divmod", "max", "min"]), children, children).map(
        lambda t: f"{t[0]}({t[1]}, {t[2]})"
    )
    return st.one_of(binary, power, unary, builtin_pair)


expressions = st.recursive(leaves, _extend, max_leaves=6)
comparisons = st.tuples(expressions, st.sampled_from(COMPARE), expressions).map(
    lambda t: f"{t[0]} {t[1]} {t[2]}"
)


@PROPERTY_SETTINGS
@given(expr=st.one_of(expressions, comparisons))
def test_arithmetic_expression_matches_cpython(check: Check, expr: str) -> None:
    """The value (or the exception: ZeroDivisionError, TypeError, OverflowError,
    decimal.InvalidOperation, ...) is exactly CPython's."""
    check(HEADER + expr)


@PROPERTY_SETTINGS
@given(expr=expressions, name=st.sampled_from(["total", "acc", "x"]))
def test_arithmetic_in_statements_matches_cpython(check: Check, expr: str, name: str) -> None:
    """The same expression through assignment, augmented assignment and print."""
    check(f"{HEADER}{name} = {expr}\nprint({name})\n{name} += 1\nprint(repr({name}))\n{name}")


# -- print --------------------------------------------------------------------

printable_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
)
print_args = st.one_of(
    printable_text.map(repr),
    ints,
    floats,
    special_floats,
    decimals,
    fractions,
    st.sampled_from(["None", "True", "False", "[1, 'a']", "(1,)", "{'k': 2.5}", "b'x'", "1j"]),
)
optional_text = st.one_of(st.none(), printable_text).map(repr)


@st.composite
def print_calls(draw: st.DrawFn) -> str:
    args = draw(st.lists(print_args, max_size=5))
    parts = [*args]
    if draw(st.booleans()):
        parts.append(f"sep={draw(optional_text)}")
    if draw(st.booleans()):
        parts.append(f"end={draw(optional_text)}")
    if draw(st.booleans()):
        parts.append(f"flush={draw(st.booleans())}")
    return f"print({', '.join(parts)})"


@PROPERTY_SETTINGS
@given(calls=st.lists(print_calls(), min_size=1, max_size=4))
def test_print_matches_cpython(check: Check, calls: list[str]) -> None:
    check(HEADER + "\n".join(calls))


@PROPERTY_SETTINGS
@given(calls=st.lists(print_calls(), min_size=1, max_size=3))
def test_print_from_functions_and_generators_interleaves(check: Check, calls: list[str]) -> None:
    """The same calls made from a function, a generator and a finally block."""
    body = "\n".join(f"    {call}" for call in calls)
    program = (
        f"{HEADER}def emit():\n{body}\n"
        f"def gen():\n    try:\n{body.replace('    ', '        ', len(calls))}\n"
        "        yield 1\n    finally:\n        print('<finally>')\n"
        "emit()\nprint('between')\nfor _ in gen():\n    print('<item>')\n"
    )
    check(program)


# -- format specs ---------------------------------------------------------------


@st.composite
def format_specs(draw: st.DrawFn) -> str:
    spec = ""
    if draw(st.booleans()):
        fill = draw(st.sampled_from(["", "*", "0", " ", "x", "-", "_", "é"]))
        spec += fill + draw(st.sampled_from(["<", ">", "^", "="]))
    spec += draw(st.sampled_from(["", "+", "-", " "]))
    spec += draw(st.sampled_from(["", "z"]))
    spec += draw(st.sampled_from(["", "#"]))
    spec += draw(st.sampled_from(["", "0"]))
    spec += draw(st.sampled_from(["", "1", "8", "15"]))
    spec += draw(st.sampled_from(["", ",", "_"]))
    spec += draw(st.sampled_from(["", ".0", ".2", ".6", ".12"]))
    spec += draw(st.sampled_from(["", "d", "f", "F", "e", "E", "g", "G", "%", "n", "x", "b"]))
    return spec


numbers = st.one_of(ints, floats, special_floats, decimals, small_ints)


@PROPERTY_SETTINGS
@given(number=numbers, spec=format_specs())
def test_fstring_format_spec_matches_cpython(check: Check, number: str, spec: str) -> None:
    """f-strings, format() and str.format give CPython's text or CPython's ValueError."""
    check(f'{HEADER}x = {number}\nprint(f"[{{x:{spec}}}]")\nformat(x, {spec!r})')


@PROPERTY_SETTINGS
@given(number=numbers, spec=format_specs(), conversion=st.sampled_from(["", "!r", "!s", "!a"]))
def test_str_format_spec_matches_cpython(
    check: Check, number: str, spec: str, conversion: str
) -> None:
    check(f"{HEADER}x = {number}\n'{{0{conversion}:{spec}}}|{{0}}'.format(x)")
