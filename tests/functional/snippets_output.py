"""print, f-strings, str.format / format_map and % formatting."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "print_sep_end_flush",
        """
        print("a", "b", "c", sep="-", end="!\\n")
        print(1, 2.5, None, True, sep="", end="")
        print(" <- no newline", flush=True)
        print()
        print("x", "y", sep=None, end=None)
        print(*[1, 2, 3], sep=", ")
        print(*"abc")
        """,
    ),
    case(
        "print_interleaves_functions_methods",
        """
        def helper(n):
            print(f"helper({n})")
            return n * 2

        class Counter:
            def __init__(self):
                self.n = 0
                print("Counter created")

            def bump(self):
                self.n += 1
                print("bump ->", self.n)
                return helper(self.n)

        c = Counter()
        print("start")
        total = c.bump() + c.bump()
        print("total", total)
        """,
    ),
    case(
        "print_in_finally_and_generators",
        """
        def gen(n):
            print("gen start")
            try:
                for i in range(n):
                    print("yielding", i)
                    yield i
            finally:
                print("gen finally")

        def risky():
            try:
                print("in try")
                return 1
            finally:
                print("in finally")

        for v in gen(3):
            print("got", v)
        print("risky returned", risky())
        print(sum(x * x for x in gen(2)))
        """,
    ),
    case(
        "print_nested_calls_in_args",
        """
        def loud(x):
            print("evaluating", x)
            return x

        print("result:", loud(1), loud(2), sep=" | ")
        print([loud(i) for i in range(2)])
        """,
    ),
    case(
        "print_lambda_and_closure",
        """
        log = lambda *parts: print("[log]", *parts)
        def make_logger(prefix):
            def inner(msg):
                print(prefix + ":", msg)
            return inner
        warn = make_logger("WARN")
        log("first", 1)
        warn("disk low")
        list(map(log, ["m1", "m2"]))
        """,
    ),
    case(
        "fstring_conversions",
        """
        name = "Zoë"
        value = 3.5
        items = ["a", 'b"c']
        print(f"{name!r} {name!s} {name!a}")
        print(f"{items!r} {items}")
        print(f"{value!r:>10}|{name!a:^12}|")
        print(f"{name=} {value=:.3f} {items=!s}")
        """,
    ),
    case(
        "fstring_number_specs",
        """
        x = 1234567.891
        n = 255
        print(f"{x:,.2f} {x:_.1f} {x:e} {x:.3g} {x:%}")
        print(f"{n:b} {n:o} {n:x} {n:X} {n:#x} {n:#o} {n:#b} {n:08d} {n:+d}")
        print(f"{-n: d} {n:c}")
        print(f"[{n:<8}] [{n:>8}] [{n:^8}] [{n:*^9}] [{-n:=8}]")
        print(f"{0.125:.0%} {2/3:.4f} {1e-7:f} {float('inf'):f} {-0.0:+.1f}")
        """,
    ),
    case(
        "fstring_nested_spec",
        """
        width, precision = 12, 3
        for v in (3.14159, 2.71828, 1.41421):
            print(f"|{v:{width}.{precision}f}|{v:<{width}}|")
        rows = [("apples", 3, 0.5), ("kiwis", 12, 0.25)]
        for name, qty, price in rows:
            print(f"{name:<10}{qty:>4}{qty * price:>8.2f}")
        """,
    ),
    case(
        "fstring_dates_and_decimals",
        """
        from decimal import Decimal
        d = datetime.date(2024, 3, 9)
        t = datetime.datetime(2024, 3, 9, 14, 5, 7)
        amount = Decimal("1234.5")
        print(f"{d:%Y/%m/%d} {d:%A %d %B %Y} {t:%H:%M:%S} {t.isoformat()}")
        print(f"{amount:,.2f} {amount:>12} {amount!r}")
        print(f"{d!r} {d!s}")
        """,
    ),
    case(
        "fstring_expressions_inside",
        """
        prices = {"tea": 2.5, "cake": 4.0}
        order = ["tea", "cake", "tea"]
        print(f"items: {len(order)}, total: {sum(prices[i] for i in order):.2f}")
        print(f"{'yes' if len(order) > 2 else 'no'} {order[-1].upper()} {prices['tea'] * 2}")
        print(f"{{literal braces}} {{{len(prices)}}}")
        print(f'''multi
        line {1 + 1}''')
        """,
    ),
    case(
        "str_format_plain_fields",
        """
        template = "{} owes {} {:.2f}"
        print(template.format("Ann", "Bob", 12.5))
        print("{0} {1} {0}".format("a", "b"))
        print("{name} is {age:d} years".format(name="Eve", age=31))
        print("{:>8}|{:<8}|{:^8}|".format("r", "l", "c"))
        print("{!r} {!s} {!a}".format("x", "y", "é"))
        print("{:,}".format(10**9))
        print("{{}} {}".format(1))
        """,
    ),
    case(
        "str_format_map",
        """
        row = {"item": "widget", "qty": 4, "unit": 2.5}
        print("{item}: {qty} x {unit:.2f} = {total:.2f}".format_map({**row, "total": 10}))
        fmt = "{city} {temp:+.1f}C"
        for r in [{"city": "Oslo", "temp": -3.25}, {"city": "Rome", "temp": 18}]:
            print(fmt.format_map(r))
        """,
    ),
    case(
        "str_format_unbound_method",
        """
        pattern = "{}-{}"
        print(str.format(pattern, 1, 2))
        print(str.format_map("{a}", {"a": "A"}))
        f = "{:06.2f}".format
        print([f(x) for x in (1, 22.333, 3.5)])
        """,
    ),
    case(
        "percent_formatting",
        """
        print("%s has %d items costing %.2f" % ("cart", 3, 19.999))
        print("%5.1f%%" % 42.123)
        print("%-6s|%6s|" % ("ab", "cd"))
        print("%(name)s: %(score)03d" % {"name": "ann", "score": 7})
        print("%x %X %o %e %r" % (255, 255, 8, 12345.678, "q"))
        print("%c%c" % (72, "i"))
        """,
    ),
    case(
        "format_builtin",
        """
        print(format(1234.5678, ",.2f"), format(42, "08b"), format("x", "^5"))
        print(format(0.5, "%"), format(12, ""), format(3.0))
        print(format(datetime.date(2020, 1, 2), "%d.%m.%Y"))
        """,
    ),
    case(
        "string_methods_for_reports",
        """
        title = "quarterly report"
        print(title.title(), title.upper(), title.capitalize())
        print(title.center(24, "="))
        print("42".zfill(6), "abc".ljust(6, ".") + "|", "abc".rjust(6) + "|")
        print("  pad  ".strip(), "--x--".strip("-"), "a,b,,c".split(","))
        print(" ".join(["one", "two"]), "a-b-c".rsplit("-", 1), "x".join("123"))
        print("Hello World".swapcase(), "hello".startswith("he"), "file.csv".endswith((".csv", ".txt")))
        print("a\\tb".expandtabs(4), "line1\\nline2".splitlines(), "banana".count("an"))
        print("banana".find("n"), "banana".rfind("n"), "banana".replace("a", "o", 2))
        print("abc".isalpha(), "123".isdigit(), "x1".isalnum(), "  ".isspace(), "Ab".istitle())
        print("price: 10".partition(": "), "k=v=w".rpartition("="))
        print("3.14".removeprefix("3."), "data.json".removesuffix(".json"))
        """,
    ),
    case(
        "table_report",
        """
        rows = [("Rent", 1200.0), ("Food", 431.55), ("Transport", 89.9)]
        width = max(len(name) for name, _ in rows)
        print(f"{'Category':<{width}} | {'Amount':>10}")
        print("-" * (width + 13))
        for name, amount in rows:
            print(f"{name:<{width}} | {amount:>10,.2f}")
        print("=" * (width + 13))
        print(f"{'Total':<{width}} | {sum(a for _, a in rows):>10,.2f}")
        """,
    ),
    case(
        "repr_and_str_of_containers",
        """
        data = {"a": [1, 2.0, None], "b": (True, "x"), "c": {3}, "d": frozenset()}
        print(data)
        print(repr("it's"), repr('say "hi"'), str(b"bytes"), [1e16, 1.5e-5, 0.1 + 0.2])
        print(ascii("naïve ☃"), repr(complex(1, -2)), repr(set()))
        """,
    ),
    case(
        "print_unicode_and_escapes",
        """
        print("五年后总额约为: 198922.73 元")
        print("tab\\tsep", "quote\\"", "back\\\\slash", sep="|")
        print("\\u00e9\\N{GREEK SMALL LETTER ALPHA}", chr(0x1F600))
        """,
    ),
    case(
        "article_example",
        """
        P = 3000 * 12; r = 0.05; t = 5; A = P * ((1 + r)**t - 1) / r; print(f"五年后总额约为: {A:.2f} 元")
        """,
    ),
    case(
        "print_many_lines",
        """
        for i in range(1, 11):
            print(i, i**2, i**3, sep="\\t")
        print(*range(20), sep=",", end=".\\n")
        """,
    ),
    case(
        "print_then_final_value",
        """
        values = [3, 1, 4, 1, 5, 9, 2, 6]
        print("sorted:", sorted(values))
        {"min": min(values), "max": max(values), "mean": sum(values) / len(values)}
        """,
    ),
    case(
        "final_expression_tuple",
        """
        a, b = divmod(100, 7)
        a, b, (a * 7 + b == 100)
        """,
    ),
]

CASES += [
    case(
        "print_calls_str_that_prints",
        """
        class Noisy:
            def __str__(self):
                print("(in __str__)")
                return "noisy"

        print("a", Noisy(), "b")
        print(f"{Noisy()}!")
        """,
    ),
    case(
        "print_writes_args_before_failing_str",
        """
        class Broken:
            def __str__(self):
                raise ValueError("cannot render")

        print("first", "second", Broken(), "third")
        """,
    ),
    case(
        "print_bad_sep",
        """
        print("ok")
        print(1, 2, sep=3)
        """,
    ),
    case(
        "print_file_none_and_star_generator",
        """
        def numbers():
            for i in range(3):
                print("producing", i)
                yield i

        print("to stdout", file=None)
        print(*numbers(), sep="+")
        """,
    ),
    case(
        "generator_finally_on_break",
        """
        def rows():
            try:
                yield 1
                yield 2
            finally:
                print("closing rows")

        for r in rows():
            print("row", r)
            break
        print("after loop")
        """,
    ),
    case(
        "str_format_nested_fields",
        """
        print("{0:{1}.{2}f}|{x:^{w}}|".format(3.14159, 10, 3, x="c", w=5))
        print("{:{}.{}f}|{:>{}}|".format(2.71828, 9, 2, "r", 4))
        print("{!r:>8}|{!s:<5}|{!a}".format("ab", "c", "é"))
        print("{0} {k} {0!r}".format("a", k=2))
        """,
    ),
    case(
        "str_format_error_messages",
        """
        for template, args in [("{!x}", (1,)), ("}", ()), ("{0", (1,)), ("{:d}", ("x",)),
                               ("{0!}", (1,)), ("{:z}", (1.5,)), ("{0}{}", (1, 2))]:
            try:
                template.format(*args)
            except (ValueError, IndexError, KeyError) as e:
                print(template, type(e).__name__, e)
        try:
            "{rate}".format_map({})
        except KeyError as e:
            print("KeyError", e)
        """,
    ),
    case(
        "str_format_switch_auto_to_manual",
        """
        "{}{0}".format(1, 2)
        """,
    ),
    case(
        "str_format_missing_positional_argument",
        """
        print("{} {}".format("only one"))
        """,
    ),
    case(
        "format_map_with_positional_field",
        """
        "{}".format_map({})
        """,
    ),
]
