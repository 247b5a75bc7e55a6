"""Catalogue modules for data and text: datetime, calendar, time, json, re, string,
itertools, functools, collections, heapq, bisect, operator, typing, textwrap."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "datetime_arithmetic",
        """
        from datetime import date, datetime as dt, timedelta, timezone, time
        d = date(2024, 1, 31)
        print(d + timedelta(days=30), d.weekday(), d.isoweekday(), d.isocalendar(), d.toordinal())
        t = dt(2024, 3, 10, 8, 30, tzinfo=timezone.utc)
        print(t, t.astimezone(timezone(timedelta(hours=-5))), t.timestamp(), t.date(), t.time())
        print(dt.fromisoformat("2024-02-29T12:00:00"), date.fromisoformat("2023-12-25").strftime("%a %b %d"))
        print(dt.strptime("15/08/2023 14:45", "%d/%m/%Y %H:%M"), time(9, 5).isoformat())
        delta = dt(2024, 12, 25) - dt(2024, 3, 1, 6)
        print(delta, delta.days, delta.seconds, delta.total_seconds(), timedelta(hours=36) // timedelta(days=1))
        print(date.max, date.min, timedelta(weeks=1, minutes=-1), d.replace(day=1), dt(2024, 1, 1).strftime("%j %U %p"))
        """,
    ),
    case(
        "datetime_preloaded_module",
        """
        start = datetime.date(2023, 11, 5)
        end = datetime.datetime(2024, 2, 29, 23, 59)
        print(start, end, (end.date() - start).days, datetime.timedelta(days=1.5))
        print(datetime.datetime(2020, 1, 1) < datetime.datetime(2021, 1, 1), datetime.MINYEAR, datetime.MAXYEAR)
        [start + datetime.timedelta(days=7 * i) for i in range(3)]
        """,
    ),
    case(
        "calendar_module",
        """
        import calendar
        print(calendar.isleap(2024), calendar.leapdays(2000, 2030), calendar.monthrange(2024, 2))
        print(calendar.weekday(2024, 7, 4), calendar.day_name[0], calendar.month_name[12], calendar.month_abbr[3])
        print(calendar.month(2024, 2))
        print(calendar.monthcalendar(2024, 9)[0], list(calendar.day_abbr))
        print(calendar.TextCalendar(calendar.SUNDAY).formatmonth(2023, 10))
        print(calendar.timegm((2024, 1, 1, 0, 0, 0)))
        """,
    ),
    case(
        "time_deterministic_parts",
        """
        import time
        epoch = time.gmtime(0)
        print(epoch.tm_year, epoch.tm_mon, epoch.tm_wday, epoch.tm_yday)
        print(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(1_700_000_000)))
        print(time.strptime("2024-05-06", "%Y-%m-%d").tm_yday, time.asctime(time.gmtime(0)))
        start = time.perf_counter()
        elapsed = time.perf_counter() - start
        print(elapsed >= 0, isinstance(time.time(), float), time.monotonic() >= 0)
        """,
    ),
    case(
        "json_roundtrip",
        """
        order = {"id": 7, "items": [{"sku": "A", "qty": 2, "price": 9.5}], "paid": False, "note": None}
        text = json.dumps(order)
        print(text)
        print(json.dumps(order, indent=2, sort_keys=True))
        back = json.loads(text)
        print(back == order, back["items"][0]["price"] * back["items"][0]["qty"])
        print(json.dumps("ümlaut"), json.dumps("ümlaut", ensure_ascii=False), json.dumps([1, 2], separators=(",", ":")))
        print(json.loads('{"a": 1.0, "b": [true, null], "c": 1e2}'), json.loads("3"), json.dumps((1, 2)))
        try:
            json.loads("{bad json}")
        except json.JSONDecodeError as e:
            print("JSONDecodeError:", e.msg, e.lineno, e.colno)
        try:
            json.dumps({1, 2})
        except TypeError as e:
            print("TypeError:", e)
        """,
    ),
    case(
        "json_default_and_hooks",
        """
        import json as js
        from decimal import Decimal
        def encode(o):
            if isinstance(o, Decimal):
                return str(o)
            if isinstance(o, datetime.date):
                return o.isoformat()
            raise TypeError(f"cannot encode {type(o).__name__}")
        print(js.dumps({"amt": Decimal("1.10"), "on": datetime.date(2024, 1, 2)}, default=encode))
        print(js.loads('{"x": 1.10}', parse_float=Decimal), js.loads('[1, 2]', object_hook=None))
        print(js.loads('{"a": {"b": 2}}', object_hook=lambda d: {k.upper(): v for k, v in d.items()}))
        """,
    ),
    case(
        "re_parsing",
        """
        import re
        log = "2024-03-01 ERROR disk full; 2024-03-02 WARN cpu 91%; 2024-03-03 ERROR fan"
        pattern = re.compile(r"(?P<date>\\d{4}-\\d{2}-\\d{2}) (?P<level>[A-Z]+) (?P<msg>[^;]+)")
        for m in pattern.finditer(log):
            print(m.group("date"), m["level"], m.group(3), m.span(), m.groupdict())
        print(re.findall(r"\\d+%", log), re.sub(r"\\d{4}-", "Y-", log)[:20], re.split(r";\\s*", log)[1])
        print(re.match(r"\\w+", "hello world").group(), re.search(r"o\\s(w)", "hello world").groups())
        print(re.fullmatch(r"[a-z]+", "abc") is not None, re.sub(r"(\\w)(\\w*)", lambda m: m[1].upper() + m[2], "hi there"))
        print(re.findall(r"(\\w)=(\\d)", "a=1 b=2"), re.escape("1+1=2?"), bool(re.search("ERR", log, re.I)))
        print(re.subn(r"\\s+", " ", "a   b    c"), re.compile(r"x", re.IGNORECASE | re.MULTILINE).flags & re.I)
        """,
    ),
    case(
        "string_module",
        """
        import string
        print(string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)
        print(string.capwords("hello big world"), string.hexdigits, repr(string.whitespace))
        t = string.Template("$name owes $$${amount}")
        print(t.substitute(name="Bo", amount="12.50"), t.safe_substitute(name="Al"))
        clean = "".join(c for c in "Hi, there! #1" if c not in string.punctuation)
        print(clean)
        """,
    ),
    case(
        "itertools_tour",
        """
        import itertools as it
        print(list(it.accumulate([1, 2, 3, 4])), list(it.accumulate([3, 1, 4], max)), list(it.chain("ab", [1])))
        print(list(it.combinations("abc", 2)), list(it.permutations([1, 2, 3], 2))[:4], list(it.product("ab", repeat=2)))
        print(list(it.islice(it.count(10, 5), 4)), list(it.islice(it.cycle("xy"), 5)), list(it.repeat(0, 3)))
        print([(k, list(g)) for k, g in it.groupby("aaabbc")], list(it.pairwise([1, 4, 9, 16])))
        print(list(it.zip_longest("abc", [1], fillvalue="-")), list(it.starmap(pow, [(2, 3), (3, 2)])))
        print(list(it.takewhile(lambda x: x < 4, [1, 3, 5, 2])), list(it.dropwhile(lambda x: x < 4, [1, 3, 5, 2])))
        print(list(it.compress("abcdef", [1, 0, 1, 0, 1, 1])), list(it.filterfalse(str.isdigit, "a1b2")))
        print(list(it.combinations_with_replacement("ab", 2)), [list(t) for t in it.tee([1, 2], 2)], list(it.chain.from_iterable([[1], [2, 3]])))
        """,
    ),
    case(
        "functools_tour",
        """
        import functools
        from functools import reduce, partial
        print(reduce(lambda a, b: a * b, range(1, 6)), reduce(max, [3, 9, 2], 0))
        to_base2 = partial(int, base=2)
        print(to_base2("1011"), partial(pow, 2)(8), functools.cmp_to_key(lambda a, b: b - a)(1) < functools.cmp_to_key(lambda a, b: b - a)(2))
        print(sorted(["b10", "a2", "a10"], key=functools.cmp_to_key(lambda x, y: (x > y) - (x < y))))

        class Report:
            def __init__(self, rows):
                self.rows = rows
            @functools.cached_property
            def total(self):
                print("computing total")
                return sum(self.rows)
        r = Report([1, 2, 3])
        print(r.total, r.total)
        """,
    ),
    case(
        "collections_tour",
        """
        from collections import Counter, defaultdict, OrderedDict, deque, ChainMap
        words = "the quick brown the lazy the end quick".split()
        c = Counter(words)
        print(c.most_common(2), c["the"], c["missing"], sum(c.values()), sorted(c.elements())[:4])
        c.update(["end"]); c.subtract({"the": 1}); print(c["end"], c["the"], c + Counter(a=1))
        groups = defaultdict(list)
        for w in words:
            groups[len(w)].append(w)
        print(dict(groups), defaultdict(int)["x"])
        od = OrderedDict(a=1, b=2); od.move_to_end("a"); od["c"] = 3
        print(od, list(od), od.popitem(last=False))
        dq = deque([1, 2, 3], maxlen=4)
        dq.appendleft(0); dq.append(4); dq.rotate(1)
        print(dq, dq.popleft(), dq.pop(), len(dq), dq[0])
        cm = ChainMap({"rate": 0.1}, {"rate": 0.2, "fee": 5})
        print(cm["rate"], cm["fee"], dict(cm), len(cm))
        """,
    ),
    case(
        "heapq_and_bisect",
        """
        import heapq, bisect
        tasks = [(3, "write"), (1, "plan"), (2, "code")]
        heapq.heapify(tasks)
        heapq.heappush(tasks, (0, "coffee"))
        print([heapq.heappop(tasks) for _ in range(len(tasks))])
        print(heapq.nlargest(3, [5, 1, 9, 7, 3]), heapq.nsmallest(2, [5, 1, 9], key=lambda x: -x))
        print(list(heapq.merge([1, 4, 7], [2, 5, 8])), heapq.heappushpop([1, 5], 3))
        grades = [60, 70, 80, 90]
        def letter(score):
            return "FDCBA"[bisect.bisect(grades, score)]
        print([letter(s) for s in (33, 60, 75, 89, 90, 100)])
        xs = [1, 3, 3, 7]
        bisect.insort(xs, 4); bisect.insort_left(xs, 3)
        print(xs, bisect.bisect_left(xs, 3), bisect.bisect_right(xs, 3))
        """,
    ),
    case(
        "operator_module",
        """
        import operator as op
        from operator import itemgetter, attrgetter, methodcaller
        rows = [{"n": "b", "v": 2}, {"n": "a", "v": 3}]
        print(sorted(rows, key=itemgetter("n")), op.add(2, 3), op.mul(4, 5), op.truediv(1, 4))
        print(op.neg(3), op.pow(2, 8), op.mod(9, 4), op.eq(1, 1.0), op.contains([1, 2], 2), op.not_(0))
        print(list(map(op.itemgetter(1), [(1, "x"), (2, "y")])), itemgetter(0, 2)("abc"))
        class P:
            def __init__(self, name, age):
                self.name, self.age = name, age
        people = [P("z", 30), P("y", 20)]
        print([p.name for p in sorted(people, key=attrgetter("age"))], methodcaller("upper")("hey"))
        print(op.floordiv(7, 2), op.abs(-1), op.getitem([5, 6], 1), op.and_(6, 3), op.or_(4, 1), op.xor(5, 1))
        """,
    ),
    case(
        "typing_annotations",
        """
        from typing import Optional, Union, List, Dict, Tuple, Callable, Any, Iterable, TypedDict, Literal

        class Row(TypedDict):
            name: str
            amount: float

        def total(rows: List[Row], fee: Optional[float] = None) -> float:
            return sum(r["amount"] for r in rows) + (fee or 0)

        def apply(f: Callable[[int], int], xs: Iterable[int]) -> Tuple[int, ...]:
            return tuple(f(x) for x in xs)

        Mode = Literal["fast", "slow"]
        mode: Mode = "fast"
        cache: Dict[str, Union[int, str]] = {}
        value: Any = 3
        print(total([{"name": "a", "amount": 2.5}], 1.0), apply(lambda x: x * 2, [1, 2]), mode, cache, value)
        """,
    ),
    case(
        "textwrap_module",
        """
        import textwrap
        text = "Compound interest is the addition of interest to the principal sum of a loan or deposit."
        print(textwrap.fill(text, width=30))
        print(textwrap.wrap(text, 40))
        print(textwrap.shorten(text, width=40, placeholder="..."))
        print(textwrap.indent("a\\nb", "> "), textwrap.dedent("    x\\n      y"))
        """,
    ),
    case(
        "enum_and_dataclass_modules_imported",
        """
        import enum, dataclasses
        class Level(enum.IntEnum):
            LOW = 1
            HIGH = 2
        @dataclasses.dataclass
        class Reading:
            level: Level
            value: float
        r = Reading(Level.HIGH, 3.5)
        print(r, dataclasses.asdict(r), dataclasses.is_dataclass(r), Level(1).name)
        """,
    ),
    case(
        "asdict_and_astuple_copy_every_kind_of_leaf",
        """
        import dataclasses, datetime, decimal, fractions, collections, enum
        class Color(enum.Enum):
            RED = 1
        class Plain:
            def __init__(self, a):
                self.a = a
        P = collections.namedtuple("P", "x y")
        @dataclasses.dataclass
        class Inner:
            v: object
        @dataclasses.dataclass
        class Outer:
            a: object
            b: object
            c: object
        shared = [1, 2]
        plain = Plain([1, {"k": (2, 3)}])
        o = Outer(Inner([shared, shared, {"k": (1, 2)}]), {1, 2, frozenset({3})},
                  [decimal.Decimal("1.5"), fractions.Fraction(1, 3), datetime.datetime(2020, 1, 1),
                   datetime.timedelta(3), Color.RED, P(1, 2), plain, collections.deque([1, 2]),
                   collections.Counter("aab"), collections.OrderedDict(a=1), 3 + 4j, b"x", None,
                   range(3), (plain, plain)])
        d = dataclasses.asdict(o)
        t = dataclasses.astuple(o, tuple_factory=list)
        print(d["a"], d["b"], d["c"][:6], d["c"][7:14])
        copied = d["c"][6]
        print(type(copied).__name__, copied is not plain, copied.a == plain.a, copied.a is not plain.a)
        print(d["c"][14][0] is d["c"][14][1], d["c"][4] is Color.RED)
        print(t[0], t[2][:6])
        print(dataclasses.asdict(o, dict_factory=collections.OrderedDict)["a"])
        """,
    ),
]
