"""Error paths: uncaught exceptions end the run with CPython's type, message, line and
the stdout printed so far; caught ones behave exactly as in CPython."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "uncaught_zero_division_after_output",
        """
        rates = [0.05, 0.0, 0.02]
        for r in rates:
            print(f"rate {r}")
            print(f"doubling time {math.log(2) / r:.2f} years")
        """,
    ),
    case(
        "uncaught_key_error",
        """
        prices = {"apple": 1.2, "pear": 0.8}
        basket = ["apple", "kiwi"]
        total = 0
        for item in basket:
            total += prices[item]
            print("added", item)
        """,
    ),
    case(
        "uncaught_key_error_tuple_and_int",
        """
        grid = {(0, 0): "start"}
        print(grid[(0, 0)])
        print(grid[(1, 2)])
        """,
    ),
    case(
        "uncaught_custom_exception",
        """
        class InsufficientFundsError(Exception):
            pass

        def withdraw(balance, amount):
            if amount > balance:
                raise InsufficientFundsError(f"cannot withdraw {amount:.2f}; balance is {balance:.2f}")
            return balance - amount

        b = withdraw(100, 30)
        print("balance", b)
        b = withdraw(b, 500)
        print("unreachable")
        """,
    ),
    case(
        "uncaught_custom_exception_with_args",
        """
        class ValidationError(ValueError):
            def __init__(self, field, value):
                super().__init__(field, value)
                self.field = field
        raise ValidationError("age", -3)
        """,
    ),
    case(
        "uncaught_custom_exception_str_override",
        """
        class QuotaExceeded(Exception):
            def __init__(self, used, limit):
                self.used, self.limit = used, limit
            def __str__(self):
                return f"used {self.used} of {self.limit}"
        def check(used):
            if used > 100:
                raise QuotaExceeded(used, 100)
        check(50)
        check(150)
        """,
    ),
    case(
        "uncaught_raise_from",
        """
        def parse_amount(text):
            try:
                return float(text)
            except ValueError as exc:
                raise RuntimeError(f"invalid amount {text!r}") from exc
        print(parse_amount("12.5"))
        parse_amount("12,5")
        """,
    ),
    case(
        "uncaught_in_nested_function_line",
        """
        def outer(xs):
            return [inner(x) for x in xs]

        def inner(x):
            return 10 / x

        print(outer([1, 2]))
        print(outer([5, 0, 1]))
        """,
    ),
    case(
        "uncaught_index_error",
        """
        scores = [90, 85]
        print(scores[0], scores[-1])
        print(scores[2])
        """,
    ),
    case(
        "uncaught_type_errors",
        """
        total = 0
        for v in [1, 2, "3"]:
            total += v
        """,
    ),
    case(
        "uncaught_type_error_call",
        """
        def area(w, h):
            return w * h
        print(area(2, 3))
        area(2)
        """,
    ),
    case(
        "uncaught_value_error_int",
        """
        print(int("42"))
        int("forty-two")
        """,
    ),
    case(
        "uncaught_attribute_error_builtin",
        """
        items = [3, 1, 2]
        items.push(4)
        """,
    ),
    case(
        "uncaught_attribute_error_own_object",
        """
        class Account:
            def __init__(self):
                self.balance = 0
        a = Account()
        print(a.balance)
        print(a.owner)
        """,
    ),
    case(
        "uncaught_name_error",
        """
        subtotal = 100
        print(subtotal)
        print(subtotl * 1.2)
        """,
    ),
    case(
        "uncaught_assertion_error",
        """
        def mean(xs):
            assert xs, "mean of empty list"
            return sum(xs) / len(xs)
        print(mean([1, 2, 3]))
        mean([])
        """,
    ),
    case(
        "uncaught_bare_assert",
        """
        x = -1
        assert x > 0
        """,
    ),
    case(
        "uncaught_error_inside_generator",
        """
        def ratios(pairs):
            for a, b in pairs:
                yield a / b

        for r in ratios([(1, 2), (3, 4), (5, 0)]):
            print(f"{r:.3f}")
        """,
    ),
    case(
        "uncaught_error_in_method_and_finally_output",
        """
        class Inventory:
            def __init__(self):
                self.stock = {"bolt": 10}
            def remove(self, item, n):
                try:
                    if self.stock[item] < n:
                        raise ValueError(f"only {self.stock[item]} {item} left")
                    self.stock[item] -= n
                finally:
                    print("audit:", item, n)

        inv = Inventory()
        inv.remove("bolt", 4)
        inv.remove("bolt", 7)
        """,
    ),
    case(
        "uncaught_error_in_sort_key_lambda",
        """
        rows = [{"name": "a", "score": 3}, {"name": "b"}]
        print(sorted(rows, key=lambda r: r["score"]))
        """,
    ),
    case(
        "uncaught_stop_iteration_in_generator",
        """
        def first_two(it):
            yield next(it)
            yield next(it)

        print(list(first_two(iter([1, 2, 3]))))
        print(list(first_two(iter([1]))))
        """,
    ),
    case(
        "uncaught_module_errors",
        """
        import statistics
        print(statistics.mean([1, 2]))
        statistics.stdev([5])
        """,
    ),
    case(
        "uncaught_json_decode_error",
        """
        payload = '{"amount": 12.5, }'
        data = json.loads(payload)
        """,
    ),
    case(
        "uncaught_date_value_error",
        """
        from datetime import date
        print(date(2024, 2, 29))
        print(date(2023, 2, 29))
        """,
    ),
    case(
        "uncaught_math_domain_error",
        """
        for x in (4, 1, -1):
            print(math.sqrt(x))
        """,
    ),
    case(
        "uncaught_decimal_invalid_operation",
        """
        from decimal import Decimal
        print(Decimal("1.5") + Decimal("2"))
        Decimal("1,5")
        """,
    ),
    case(
        "uncaught_recursion_error",
        """
        def countdown(n):
            return countdown(n - 1)
        print("start")
        countdown(3)
        """,
    ),
    case(
        "uncaught_exception_without_message",
        """
        class Abort(Exception):
            pass
        print("before")
        raise Abort
        """,
    ),
    case(
        "uncaught_reraised_in_except",
        """
        try:
            {}["missing"]
        except KeyError:
            print("handling")
            raise ValueError("while handling")
        """,
    ),
    case(
        "uncaught_unbound_local",
        """
        def report(flag):
            if flag:
                message = "ok"
            return message
        print(report(True))
        report(False)
        """,
    ),
    case(
        "uncaught_overflow",
        """
        print(math.exp(700) > 0)
        print(math.exp(710))
        """,
    ),
    case(
        "uncaught_not_implemented",
        """
        class Shape:
            def area(self):
                raise NotImplementedError("subclasses must implement area()")
        class Blob(Shape):
            pass
        print(Blob().area())
        """,
    ),
    case(
        "uncaught_unhashable",
        """
        seen = set()
        for row in [(1, 2), [3, 4]]:
            seen.add(row)
        """,
    ),
    case(
        "uncaught_enum_value_error",
        """
        from enum import Enum
        class Status(Enum):
            OPEN = "open"
        print(Status("open"))
        Status("closed")
        """,
    ),
    case(
        "uncaught_timeout_error_raised_by_program",
        """
        attempts = 0
        while True:
            attempts += 1
            if attempts > 3:
                raise TimeoutError(f"gave up after {attempts - 1} attempts")
            print("attempt", attempts)
        """,
    ),
    case(
        "caught_errors_do_not_end_run",
        """
        results = []
        for a, b in [(1, 0), (4, 2), ("x", 1), (None, 2)]:
            try:
                results.append(a / b)
            except ZeroDivisionError as e:
                results.append(f"ZeroDivisionError: {e}")
            except TypeError as e:
                results.append(f"TypeError: {e}")
        print(*results, sep="\\n")
        results
        """,
    ),
]
