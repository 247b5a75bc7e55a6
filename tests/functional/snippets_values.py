"""The final expression's value (REPL semantics) for every kind of plain data."""

from snippets_base import case

CASES = [
    case("special_floats", 'values = [float("nan"), float("inf"), -0.0, 1e300, 0.1 + 0.2]\nvalues'),
    case("int_keys_and_nested", '{1: "a", 2: ["b", (3, 4)], "k": {"n": None}}'),
    case("sets_and_tuples", '{"a": (1, {3, 2}), "b": frozenset({4}), "c": None, "d": True}'),
    case("mixed_number_set", "{1, 2.5, 3}"),
    case("bool_comparison", "balance = 120\nbalance > 100"),
    case("big_int", "2 ** 200 + 1"),
    case(
        "int_over_4300_digits",
        "2 ** 20000",
        bug_modes=["process"],
    ),
    case("unicode_string", '"naïve ☃ 五"'),
    case(
        "function_result",
        """
        def stats(xs):
            return {"n": len(xs), "sum": sum(xs), "mean": sum(xs) / len(xs)}
        stats([2, 4, 9])
        """,
    ),
    case(
        "after_control_flow",
        """
        total = 0
        for i in range(5):
            if i % 2:
                total += i
        total * 10
        """,
    ),
    case(
        "expression_in_function_is_not_the_value",
        """
        def g():
            42
        g()
        """,
    ),
    case(
        "times_and_deltas",
        """
        from datetime import time, timedelta
        [time(1, 2, 3), timedelta(days=-1, seconds=5), timedelta(hours=1.5)]
        """,
    ),
    case(
        "aware_datetime",
        """
        from datetime import datetime, timezone, timedelta
        datetime(2024, 1, 1, 9, tzinfo=timezone(timedelta(hours=2)))
        """,
    ),
    case(
        "special_decimals",
        """
        from decimal import Decimal
        [Decimal("NaN"), Decimal("-0"), Decimal("1E+2"), Decimal("Infinity"), Decimal("1.10")]
        """,
    ),
    case("negative_fraction", "from fractions import Fraction\nFraction(-3, 9)"),
    case("semicolon_statement", "a = 1; a + 1"),
    case("walrus_value", "(rate := 0.05)"),
    case("dollar_type_key", '{"$type": "decimal", "value": "1"}'),
    case("intenum_as_int", "from enum import IntEnum\nclass P(IntEnum):\n    A = 1\nint(P.A)"),
    case("empty_containers", "[[], {}, (), set(), frozenset(), '']"),
    case("sorted_items", 'sorted({"b": 2, "a": 1, "c": 0}.items(), key=lambda kv: kv[1])'),
    case("generator_sum", "sum(x * x for x in range(10))"),
    case(
        "main_guard_has_no_value",
        """
        def main():
            return 1
        if __name__ == "__main__":
            main()
        """,
    ),
]
