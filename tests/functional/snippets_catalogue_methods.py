"""The catalogue's classes used the ordinary ways, after their functions got a checked self
(restricted_exec.language.catalogue_methods): instance calls, subclasses calling their base
unbound or through super(), properties, keyword and default arguments, argument errors,
abstract methods, generators, and the functions' names."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "instance_calls",
        """
        import collections, random, textwrap, statistics, fractions, calendar, string, json
        c = collections.Counter("abracadabra")
        print(c.most_common(2), c.total(), sorted(c.elements())[:4])
        r = random.Random(7)
        print(r.randint(1, 6), r.randrange(0, 100, 5), r.choice("xyz"), r.sample(range(10), 3), r.uniform(1, 2))
        w = textwrap.TextWrapper(width=12, initial_indent="* ")
        print(w.wrap("the quick brown fox jumps over the lazy dog"), w.fill("a b c"))
        n = statistics.NormalDist(10, 2)
        print(n.mean, n.stdev, n.variance, round(n.cdf(12), 6), round(n.inv_cdf(0.5), 6), n.samples(2, seed=3))
        f = fractions.Fraction(3, 4)
        print(f + fractions.Fraction(1, 6), f.numerator, f.denominator, f.limit_denominator(2), f.as_integer_ratio())
        cal = calendar.Calendar(firstweekday=6)
        print(cal.firstweekday, cal.getfirstweekday(), list(cal.iterweekdays()), cal.monthdayscalendar(2024, 2)[0])
        print(string.Template("$who likes $what").substitute(who="tim", what="pie"), string.Template("$x").safe_substitute())
        print(json.JSONEncoder(sort_keys=True).encode({"b": 1, "a": [1, 2]}), json.JSONDecoder().decode("[1, 2.5]"))
        """,
    ),
    case(
        "containers_and_views",
        """
        import collections
        d = collections.UserDict(a=1, b=2)
        print(d.get("a"), d.setdefault("c", 3), d.pop("b"), sorted(d.keys()), d.keys().isdisjoint(["x"]), dict(d.items()))
        l = collections.UserList([3, 1, 2])
        l.append(5); l.sort(); l.extend([0]); print(l, l.index(5), l.count(1), l.copy())
        s = collections.UserString("Hello")
        print(s.upper(), s.center(9, "*"), s.split("l"), s.format(), s.replace("l", "L", 1))
        m = collections.ChainMap({"a": 1}, {"a": 2, "b": 3})
        print(m["a"], m["b"], m.parents, m.new_child({"z": 0}).maps, len(m))
        """,
    ),
    case(
        "subclasses_call_their_base_unbound_and_through_super",
        """
        import collections, json, textwrap, calendar, random
        class Tally(collections.Counter):
            def top(self):
                return collections.Counter.most_common(self, 1) + super().most_common(2)
        print(Tally("aabbbc").top())
        class Enc(json.JSONEncoder):
            def default(self, o):
                if isinstance(o, set):
                    return sorted(o)
                return json.JSONEncoder.default(self, o)
        print(json.dumps({"s": {3, 1}}, cls=Enc))
        try:
            json.dumps({"x": object()}, cls=Enc)
        except TypeError as error:
            print(str(error)[:40])
        class Bullets(textwrap.TextWrapper):
            def wrap(self, text):
                return ["- " + line for line in textwrap.TextWrapper.wrap(self, text)]
        print(Bullets(width=10).fill("one two three four"))
        class Sunday(calendar.Calendar):
            def __init__(self):
                super().__init__()
                calendar.Calendar.setfirstweekday(self, 6)
        print(Sunday().firstweekday, calendar.Calendar.firstweekday.fget(Sunday()))
        class Dice(random.Random):
            def roll(self):
                return random.Random.randint(self, 1, 6) + super().randint(1, 6)
        print(Dice(1).roll())
        """,
    ),
    case(
        "unbound_calls_with_a_correct_self",
        """
        import collections, calendar, fractions, statistics, typing
        c = collections.Counter("hello")
        print(collections.Counter.most_common(c, 1), typing.Counter.most_common(c, 2))
        cal = calendar.Calendar()
        calendar.Calendar.firstweekday.fset(cal, 3)
        print(calendar.Calendar.getfirstweekday(cal), calendar.TextCalendar.formatweekheader(calendar.TextCalendar(), 2))
        print(fractions.Fraction.numerator.fget(fractions.Fraction(6, 8)), fractions.Fraction.limit_denominator(fractions.Fraction(355, 113), 10))
        fit = statistics.linear_regression([1, 2, 3], [1, 3, 5])
        print(statistics.LinearRegression._asdict(fit), fit._replace(slope=0.0))
        """,
    ),
    case(
        "keyword_default_and_keyword_only_arguments",
        """
        import random, textwrap, statistics, collections
        r = random.Random(3)
        print(r.randrange(start=1, stop=50, step=7), r.randrange(10), r.choices("abc", k=4), r.choices("ab", weights=[1, 0], k=2))
        print(textwrap.TextWrapper().wrap(text="x y"), textwrap.shorten("a b c d e f", width=7, placeholder="~"))
        print(statistics.NormalDist(0, 1).samples(2, seed=1), statistics.NormalDist().zscore(x=1.5))
        c = collections.Counter()
        c.update("aab", b=5)
        c.subtract({"a": 1})
        print(c)
        """,
    ),
    case(
        "argument_errors_read_as_in_cpython",
        """
        import collections, calendar, random
        for call in (
            lambda: collections.Counter().most_common(1, 2),
            lambda: calendar.Calendar().setfirstweekday(),
            lambda: random.Random(1).randint(1),
            lambda: random.Random(1).randrange(1, 2, 3, 4),
            lambda: calendar.Calendar().monthdayscalendar(2024, month=2, day=1),
        ):
            try:
                call()
            except TypeError as error:
                print(error)
        """,
    ),
    case(
        "abstract_methods_stay_abstract",
        """
        import typing
        class Bag(typing.MutableSet):
            def __init__(self): self.items = set()
            def __contains__(self, x): return x in self.items
            def __iter__(self): return iter(self.items)
            def __len__(self): return len(self.items)
        try:
            Bag()
        except TypeError as error:
            print(error)
        class Full(Bag):
            def add(self, x): self.items.add(x)
            def discard(self, x): self.items.discard(x)
        b = Full()
        b.add(2); b.add(1); b |= {5}
        print(sorted(b), b.isdisjoint([7]), len(b), b.pop() in {1, 2, 5})
        """,
    ),
    case(
        "functions_keep_their_names_and_kinds",
        """
        import calendar, collections, fractions, json
        f = collections.Counter.most_common
        print(f.__name__, f.__qualname__, f.__module__, f.__doc__.splitlines()[0])
        print(repr(calendar.Calendar.setfirstweekday).split(" at ")[0], callable(f), type(f) is type(lambda: 0))
        print(type(fractions.Fraction.numerator).__name__, fractions.Fraction.numerator.__doc__)
        print(calendar.Calendar.firstweekday.fget is calendar.Calendar.getfirstweekday, json.JSONEncoder.default.__name__)
        gen = calendar.Calendar().itermonthdays(2024, 2)
        print(type(gen).__name__, next(gen), list(gen)[:3])
        """,
    ),
]
