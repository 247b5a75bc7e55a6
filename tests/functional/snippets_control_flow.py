"""Control flow: exceptions, with, loops with else, call signatures, unpacking, slicing."""

from snippets_base import case

CASES = [
    case(
        "try_except_else_finally",
        """
        def parse(text):
            try:
                value = float(text)
            except ValueError as e:
                print("bad:", e)
                return None
            except (TypeError, AttributeError):
                print("wrong type")
                return None
            else:
                print("parsed", value)
                return value
            finally:
                print("done with", repr(text))

        print([parse(t) for t in ["1.5", "abc", None]])
        try:
            raise KeyError("x")
        except LookupError as e:
            print("caught", type(e).__name__, e)
        """,
    ),
    case(
        "raise_from_and_reraise",
        """
        class ConfigError(Exception):
            pass

        def load(cfg, key):
            try:
                return cfg[key]
            except KeyError as e:
                raise ConfigError(f"missing {key}") from e

        try:
            load({}, "rate")
        except ConfigError as e:
            print(e, repr(e.__cause__))

        def retry():
            try:
                1 / 0
            except ZeroDivisionError:
                print("logging, then re-raising")
                raise
        try:
            retry()
        except ZeroDivisionError as e:
            print("outer caught", e)
        try:
            raise ValueError("x") from None
        except ValueError as e:
            print(e.__cause__, e.__context__)
        """,
    ),
    case(
        "with_statement_contextlib_free",
        """
        class section:
            def __init__(self, title):
                self.title = title
            def __enter__(self):
                print(f"<{self.title}>")
                return self.title.upper()
            def __exit__(self, *exc):
                print(f"</{self.title}>")
                return False

        with section("report") as t:
            print("body of", t)
        try:
            with section("failing"):
                raise ValueError("inside with")
        except ValueError as e:
            print("propagated:", e)
        """,
    ),
    case(
        "for_while_else",
        """
        def find_prime_factor(n):
            for d in range(2, int(n ** 0.5) + 1):
                if n % d == 0:
                    break
            else:
                return None
            return d

        print([find_prime_factor(n) for n in [15, 17, 49, 97]])
        n, steps = 27, 0
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps += 1
            if steps > 1000:
                break
        else:
            print("collatz steps", steps)
        i = 0
        while i < 10:
            i += 1
            if i % 2:
                continue
            if i > 6:
                break
            print("even", i)
        """,
    ),
    case(
        "args_kwargs_calls_and_definitions",
        """
        def summary(title, *values, sep=", ", **options):
            text = sep.join(str(v) for v in values)
            extras = " ".join(f"{k}={v}" for k, v in sorted(options.items()))
            return f"{title}: {text} [{extras}]"

        nums = [1, 2, 3]
        opts = {"unit": "kg", "precision": 2}
        print(summary("weights", *nums, **opts))
        print(summary("mixed", 0, *nums, 4, sep="/", **{"a": 1}, b=2))
        print(max(*nums), dict(**opts, extra=True))
        """,
    ),
    case(
        "keyword_only_and_positional_only",
        """
        def convert(value, /, unit="m", *, precision=2):
            factors = {"m": 1, "km": 0.001, "ft": 3.28084}
            return round(value * factors[unit], precision)

        print(convert(1500), convert(1500, "km"), convert(10, unit="ft", precision=1))
        try:
            convert(value=3)
        except TypeError as e:
            print("TypeError:", e)
        try:
            convert(1, "m", 3)
        except TypeError as e:
            print("TypeError:", e)
        def f(a, b, /, c, *, d, **kw):
            return a, b, c, d, kw
        print(f(1, 2, c=3, d=4, a=5))
        """,
    ),
    case(
        "starred_unpacking",
        """
        first, *middle, last = [10, 20, 30, 40, 50]
        head, *tail = "abc"
        *init, end = (1,)
        (a, b), *rest = [(1, 2), 3, 4]
        print(first, middle, last, head, tail, init, end, a, b, rest)
        merged = [*range(3), *"xy", *{"k": 1}]
        combined = {**{"a": 1, "b": 2}, **{"b": 3}, "c": 4}
        print(merged, combined, (*middle, 0), {*middle, 20})
        for i, (name, *scores) in enumerate([("ann", 1, 2), ("bob", 3)]):
            print(i, name, scores)
        x, y = y, x = 1, 2
        print(x, y)
        """,
    ),
    case(
        "slicing",
        """
        s = "abcdefghij"
        lst = list(range(10))
        print(s[2:5], s[:3], s[-3:], s[::2], s[::-1], s[1:-1:3], s[100:], s[-100:2])
        print(lst[slice(2, 8, 2)], lst[::-3])
        lst[2:4] = ["x", "y", "z"]
        del lst[-2:]
        lst[::2] = [0] * len(lst[::2])
        print(lst)
        sl = slice(1, None, 2)
        print(sl.start, sl.stop, sl.step, s[sl], sl.indices(10))
        """,
    ),
    case(
        "name_main_guard",
        """
        def main():
            data = [3, 1, 2]
            print("sorted:", sorted(data))
            return 0

        if __name__ == "__main__":
            print(__name__)
            main()
        """,
    ),
    case(
        "conditional_expressions_and_chaining",
        """
        def grade(score):
            return "A" if score >= 90 else "B" if score >= 80 else "C" if score >= 70 else "F"

        print([grade(s) for s in (95, 85, 75, 10)])
        x = 5
        print(1 < x < 10, 1 < x > 10, x == 5 != 6, 0 <= x <= 5 < 6)
        print(None or "default", 0 and 1, [] or {} or "last", "a" and "b", not [])
        print(x if x else 0, x is not None, type(x) is int)
        """,
    ),
    case(
        "recursion_and_mutual_recursion",
        """
        def factorial(n):
            return 1 if n <= 1 else n * factorial(n - 1)

        def is_even(n):
            return True if n == 0 else is_odd(n - 1)

        def is_odd(n):
            return False if n == 0 else is_even(n - 1)

        def hanoi(n, src="A", dst="C", via="B", moves=None):
            moves = [] if moves is None else moves
            if n:
                hanoi(n - 1, src, via, dst, moves)
                moves.append((src, dst))
                hanoi(n - 1, via, dst, src, moves)
            return moves

        print(factorial(20), is_even(10), is_odd(7), len(hanoi(5)), hanoi(2))
        """,
    ),
    case(
        "deletion_and_name_errors",
        """
        values = [1, 2, 3, 4]
        del values[0]
        cfg = {"a": 1, "b": 2}
        del cfg["a"]
        temp = 10
        del temp
        try:
            print(temp)
        except NameError as e:
            print("NameError:", e)
        def f():
            print(undefined_thing)
        try:
            f()
        except NameError as e:
            print("NameError:", e)
        def g():
            y = 1
            def h():
                return y + 1
            return h()
        print(values, cfg, g())
        """,
    ),
    case(
        "unbound_local",
        """
        count = 10
        def bump():
            count += 1
            return count
        try:
            bump()
        except UnboundLocalError as e:
            print(type(e).__name__, e)
        """,
    ),
    case(
        "assert_and_pass",
        """
        def check(x):
            assert x > 0, f"x must be positive, got {x}"
            return x

        print(check(5))
        try:
            check(-1)
        except AssertionError as e:
            print("AssertionError:", e)
        for _ in range(2):
            pass
        class Empty:
            ...
        print(Empty.__name__)
        """,
    ),
]
