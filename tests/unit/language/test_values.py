"""Values crossing the boundary: exact round trips, and refusals that run no program code."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restricted_exec.language.values import MAX_DEPTH, UnsupportedValue, decode, encode

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.fractions()
    | st.datetimes()
    | st.dates()
    | st.times()
    | st.timedeltas()
)
plain_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=5), children, max_size=4)
        | st.dictionaries(st.integers(), children, max_size=3)
    ),
    max_leaves=20,
)


@given(plain_values)
def test_plain_values_round_trip_through_json_exactly(value: object) -> None:
    wire = json.loads(json.dumps(encode(value)))
    back = decode(wire)
    assert back == value
    assert type(back) is type(value)


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), -float("inf")],
    ids=["nan", "inf", "-inf"],
)
def test_non_finite_floats_survive_json(value: float) -> None:
    back = decode(json.loads(json.dumps(encode(value), allow_nan=False)))
    assert type(back) is float
    assert (math.isnan(back) and math.isnan(value)) or back == value


def test_tuples_and_sets_arrive_as_lists() -> None:
    assert decode(encode((1, 2))) == [1, 2]
    assert decode(encode({3, 1, 2})) == [1, 2, 3]
    assert decode(encode(frozenset({"b", "a"}))) == ["a", "b"]


def test_dict_with_a_tag_key_is_not_mistaken_for_a_tagged_value() -> None:
    value = {"$type": "decimal", "value": "1"}
    assert decode(json.loads(json.dumps(encode(value)))) == value


def test_tuple_dict_keys_come_back_hashable() -> None:
    assert decode(encode({(1, 2): "a"})) == {(1, 2): "a"}


def test_subclass_of_int_is_refused_without_calling_its_methods() -> None:
    calls: list[str] = []

    class Sneaky(int):
        def __repr__(self) -> str:
            calls.append("repr")
            return "sneaky"

        __str__ = __repr__

    with pytest.raises(UnsupportedValue, match="Sneaky"):
        encode([Sneaky(1)])
    assert calls == []


@pytest.mark.parametrize(
    "value",
    [object(), print, math, b"bytes", complex(1, 2), dt.datetime.now().astimezone().tzinfo],
    ids=["object", "builtin-function", "module", "bytes", "complex", "tzinfo"],
)
def test_values_that_are_not_data_are_refused(value: object) -> None:
    with pytest.raises(UnsupportedValue):
        encode(value)


def test_cycles_are_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(UnsupportedValue, match="cycle"):
        encode(loop)


def test_deep_nesting_is_refused_at_max_depth() -> None:
    value: list[object] = []
    for _ in range(MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(UnsupportedValue, match="nested deeper"):
        encode(value)


def test_item_budget_is_enforced() -> None:
    with pytest.raises(UnsupportedValue, match="too many items"):
        encode(list(range(100)), max_items=10)


def test_aware_datetimes_with_fixed_offsets_round_trip() -> None:
    value = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert decode(json.loads(json.dumps(encode(value)))) == value


def test_decimal_keeps_its_exponent() -> None:
    back = decode(json.loads(json.dumps(encode(Decimal("1.10")))))
    assert str(back) == "1.10"
    assert decode(encode(Fraction(1, 3))) == Fraction(1, 3)


@pytest.mark.parametrize(
    "value", [2**20000, -(3**9000), 10**3899], ids=["2**20000", "-3**9000", "10**3899"]
)
def test_huge_ints_round_trip_through_json(value: int) -> None:
    wire = json.dumps(encode(value))
    assert decode(json.loads(wire)) == value
