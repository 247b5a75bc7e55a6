"""More catalogue module surface: the less common but model-plausible calls."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "statistics_with_decimal_and_fraction",
        """
        import statistics
        from decimal import Decimal
        from fractions import Fraction
        print(statistics.median([Decimal("1.5"), Decimal("2.5")]), statistics.variance([Fraction(1), Fraction(2), Fraction(4)]))
        print(statistics.stdev([Decimal("1"), Decimal("2"), Decimal("4")]))
        """,
    ),
    case(
        "calendar_iterators_and_html",
        """
        import calendar
        c = calendar.Calendar(firstweekday=0)
        print([d for d in c.itermonthdays(2024, 2)][:10])
        print(list(c.itermonthdates(2024, 2))[0], calendar.HTMLCalendar().formatmonth(2024, 1)[:60])
        """,
    ),
    case(
        "re_verbose_flags_split_sub",
        """
        import re
        rx = re.compile(r'''
            (?P<amount>\\d+(?:\\.\\d+)?)  # number
            \\s*
            (?P<cur>USD|EUR)           # currency
        ''', re.VERBOSE | re.IGNORECASE)
        print([m.groupdict() for m in rx.finditer("12.5 usd, 7 EUR")])
        print(re.findall(r"^\\w+", "a b\\nc d", re.M), re.split(r"(,)", "a,b"), re.sub(r"x*", "-", "abc"))
        """,
    ),
    case(
        "itertools_accumulate_initial_product",
        """
        import itertools
        print(list(itertools.batched("abcdefg", 3)) if hasattr(itertools, "batched") else "no batched")
        print(list(itertools.accumulate([1, 2, 3], initial=100)), list(itertools.product([1, 2], "ab")))
        """,
    ),
    case(
        "operator_index_concat_hint",
        """
        import operator
        print(operator.index(5), operator.lt(1, 2), operator.iadd([1], [2]), operator.concat("a", "b"), operator.length_hint([1, 2]))
        """,
    ),
    case(
        "heapq_with_dataclass_items",
        """
        import heapq
        from dataclasses import dataclass, field
        @dataclass(order=True)
        class Job:
            priority: int
            name: str = field(compare=False)
        h = []
        for j in [Job(3, "c"), Job(1, "a"), Job(2, "b")]:
            heapq.heappush(h, j)
        print([heapq.heappop(h).name for _ in range(3)])
        """,
    ),
    case(
        "typing_final_classvar_cast_iterator",
        """
        from typing import Final, ClassVar, cast, NamedTuple, Iterator, Sequence, Mapping, DefaultDict, Counter as TCounter
        MAX: Final = 3
        class C:
            count: ClassVar[int] = 0
        def gen(n: int) -> Iterator[int]:
            yield from range(n)
        print(MAX, C.count, cast(int, "x"), list(gen(3)))
        """,
    ),
    case(
        "textwrap_wrapper_object",
        """
        import textwrap
        w = textwrap.TextWrapper(width=20, initial_indent="* ", subsequent_indent="  ")
        print(w.fill("The quick brown fox jumps over the lazy dog again and again"))
        """,
    ),
    case(
        "string_template_and_constants",
        """
        import string
        print(string.Template("${a}b").substitute({"a": "x"}), string.octdigits, string.printable[:10])
        """,
    ),
    case(
        "cmath_branch_cuts",
        """
        import cmath
        print(cmath.sqrt(-4), cmath.log(-1), cmath.inf, cmath.isinf(complex(cmath.inf, 0)), cmath.cos(1j))
        """,
    ),
    case(
        "fractions_from_decimal_and_floor",
        """
        from fractions import Fraction
        from decimal import Decimal
        print(Fraction(Decimal("0.125")), Fraction(1, 3).limit_denominator(2), Fraction("-1.5e-2"), Fraction(3, 4).as_integer_ratio())
        print(Fraction(7, 3) // 1, Fraction(7, 3) % 1, divmod(Fraction(7, 3), Fraction(1, 2)), math.floor(Fraction(7, 3)))
        """,
    ),
    case(
        "random_distributions_and_state",
        """
        import random
        random.seed("seed-string")
        print(random.random(), random.triangular(0, 10, 3), random.betavariate(2, 3), random.expovariate(1.5))
        print(random.normalvariate(0, 1), random.lognormvariate(0, 1), random.vonmisesvariate(1, 1), random.paretovariate(2), random.weibullvariate(1, 2))
        st = random.getstate()
        a = random.random()
        random.setstate(st)
        print(a == random.random(), random.randbytes(4))
        """,
    ),
    case(
        "time_struct_time_formatting",
        """
        import time
        t = time.struct_time((2024, 1, 2, 3, 4, 5, 1, 2, 0))
        print(time.strftime("%a %d %b %Y %H:%M:%S", t), t.tm_hour, time.mktime(t) > 0 if False else "", time.gmtime(86400 * 365)[:6])
        """,
    ),
    case(
        "decimal_context_objects_and_setcontext",
        """
        from decimal import Decimal, Context, ROUND_DOWN, setcontext
        ctx = Context(prec=5, rounding=ROUND_DOWN)
        print(ctx.divide(Decimal(1), Decimal(3)), Decimal("1.23456789").quantize(Decimal("1.000")), Decimal(10) ** -2)
        print(Decimal("3.14").compare(Decimal("2")), Decimal(2).ln(), Decimal(100).log10(), Decimal("1.5").exp())
        setcontext(Context(prec=3))
        print(Decimal(1) / Decimal(3))
        """,
    ),
]
