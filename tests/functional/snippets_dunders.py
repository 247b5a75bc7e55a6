"""Special methods on the program's own classes: comparisons, operators and their
reflected and in-place forms, containers, iterators, callables, context managers."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "comparison_dunders",
        """
        import functools

        @functools.total_ordering
        class Version:
            def __init__(self, text):
                self.parts = tuple(int(p) for p in text.split("."))

            def __eq__(self, other):
                return self.parts == other.parts

            def __lt__(self, other):
                return self.parts < other.parts

            def __hash__(self):
                return hash(self.parts)

            def __repr__(self):
                return "v" + ".".join(map(str, self.parts))

        class Money:
            def __init__(self, cents):
                self.cents = cents
            def __eq__(self, o): return self.cents == o.cents
            def __ne__(self, o): return self.cents != o.cents
            def __lt__(self, o): return self.cents < o.cents
            def __le__(self, o): return self.cents <= o.cents
            def __gt__(self, o): return self.cents > o.cents
            def __ge__(self, o): return self.cents >= o.cents

        vs = [Version("1.10.0"), Version("1.2.3"), Version("1.2")]
        print(sorted(vs), max(vs), Version("1.2") in vs, len({Version("1.2"), Version("1.2")}))
        print(Version("2.0") >= Version("1.9"), Version("1.0") <= Version("1.0"))
        a, b = Money(5), Money(7)
        print(a == b, a != b, a < b, a <= b, a > b, a >= b)
        """,
    ),
    case(
        "arithmetic_dunders_vector",
        """
        class Vec:
            def __init__(self, *xs):
                self.xs = list(xs)
            def __repr__(self): return f"Vec{tuple(self.xs)}"
            def __add__(self, o): return Vec(*[a + b for a, b in zip(self.xs, o.xs)])
            def __sub__(self, o): return Vec(*[a - b for a, b in zip(self.xs, o.xs)])
            def __mul__(self, k): return Vec(*[a * k for a in self.xs])
            def __rmul__(self, k): return self * k
            def __truediv__(self, k): return Vec(*[a / k for a in self.xs])
            def __floordiv__(self, k): return Vec(*[a // k for a in self.xs])
            def __mod__(self, k): return Vec(*[a % k for a in self.xs])
            def __pow__(self, k): return Vec(*[a ** k for a in self.xs])
            def __matmul__(self, o): return sum(a * b for a, b in zip(self.xs, o.xs))
            def __neg__(self): return Vec(*[-a for a in self.xs])
            def __pos__(self): return Vec(*self.xs)
            def __abs__(self): return math.sqrt(self @ self)
            def __len__(self): return len(self.xs)
            def __bool__(self): return any(self.xs)
            def __getitem__(self, i): return self.xs[i]
            def __iter__(self): return iter(self.xs)
            def __contains__(self, v): return v in self.xs
            def __eq__(self, o): return self.xs == o.xs

        v, w = Vec(3, 4), Vec(1, 2)
        print(v + w, v - w, v * 2, 3 * v, v / 2, v // 2, v % 2, v ** 2)
        print(v @ w, -v, +v, abs(v), len(v), bool(v), bool(Vec(0, 0)), v[1], v[-1:], 4 in v)
        print(list(v), [x * 10 for x in w], v == Vec(3, 4), v != w)
        """,
    ),
    case(
        "reflected_dunders",
        """
        class Meters:
            def __init__(self, v): self.v = v
            def __repr__(self): return f"{self.v}m"
            def __radd__(self, o): return Meters(o + self.v)
            def __rsub__(self, o): return Meters(o - self.v)
            def __rmul__(self, o): return Meters(o * self.v)
            def __rtruediv__(self, o): return o / self.v
            def __rfloordiv__(self, o): return o // self.v
            def __rmod__(self, o): return o % self.v
            def __rpow__(self, o): return o ** self.v
            def __rmatmul__(self, o): return ("rmatmul", o)
            def __add__(self, o):
                return Meters(self.v + (o.v if isinstance(o, Meters) else o))

        m = Meters(4)
        print(10 + m, 10 - m, 3 * m, 10 / m, 10 // m, 10 % m, 2 ** m, [1] @ m)
        print(sum([Meters(1), Meters(2), Meters(3)]), m + m, m + 1)
        """,
    ),
    case(
        "inplace_dunders",
        """
        class Basket:
            def __init__(self):
                self.items = []
                self.factor = 1
            def __iadd__(self, item):
                self.items.append(item)
                return self
            def __isub__(self, item):
                self.items.remove(item)
                return self
            def __imul__(self, k):
                self.items = self.items * k
                return self
            def __itruediv__(self, k):
                self.factor /= k
                return self
            def __ifloordiv__(self, k):
                self.factor //= k
                return self
            def __imod__(self, k):
                self.factor %= k
                return self
            def __ipow__(self, k):
                self.factor **= k
                return self
            def __imatmul__(self, other):
                self.items = [(a, b) for a, b in zip(self.items, other)]
                return self
            def __repr__(self):
                return f"Basket({self.items}, factor={self.factor})"

        b = Basket()
        b += "apple"
        b += "pear"
        b -= "apple"
        b *= 3
        print(b)
        b /= 4; print(b)
        b.factor = 17; b //= 5; print(b)
        b %= 2; print(b)
        b.factor = 3; b **= 3; print(b)
        b @= [1, 2, 3]; print(b)
        """,
    ),
    case(
        "container_protocol",
        """
        class Ledger:
            def __init__(self):
                self._entries = {}
            def __setitem__(self, key, value):
                print(f"set {key}={value}")
                self._entries[key] = value
            def __getitem__(self, key):
                return self._entries[key]
            def __delitem__(self, key):
                print(f"del {key}")
                del self._entries[key]
            def __len__(self):
                return len(self._entries)
            def __contains__(self, key):
                return key in self._entries
            def __iter__(self):
                return iter(sorted(self._entries))

        book = Ledger()
        book["rent"] = 1200
        book["food"] = 300
        book["food"] += 25
        print(book["food"], len(book), "rent" in book, list(book))
        del book["rent"]
        print(len(book), "rent" in book, [k for k in book])
        """,
    ),
    case(
        "iterator_protocol",
        """
        class Countdown:
            def __init__(self, start):
                self.current = start
            def __iter__(self):
                return self
            def __next__(self):
                if self.current <= 0:
                    raise StopIteration
                self.current -= 1
                return self.current + 1

        class Fib:
            def __init__(self, limit):
                self.limit = limit
            def __iter__(self):
                a, b = 0, 1
                while a < self.limit:
                    yield a
                    a, b = b, a + b

        print(list(Countdown(5)), sum(Countdown(4)), list(Fib(50)))
        it = iter(Countdown(2))
        print(next(it), next(it), next(it, "done"))
        """,
    ),
    case(
        "callable_and_context_manager",
        """
        class Multiplier:
            def __init__(self, k):
                self.k = k
            def __call__(self, x):
                return x * self.k

        class Timer:
            def __init__(self, label):
                self.label = label
            def __enter__(self):
                print("enter", self.label)
                return self
            def __exit__(self, exc_type, exc, tb):
                print("exit", self.label, exc_type.__name__ if exc_type else None)
                return exc_type is KeyError

        double = Multiplier(2)
        print(double(21), list(map(double, [1, 2])), callable(double), callable(3))
        with Timer("a") as t:
            print("inside", t.label)
        with Timer("b"):
            {}["missing"]
        print("KeyError suppressed")
        with Timer("outer"), Timer("inner"):
            print("nested")
        """,
    ),
    case(
        "str_repr_format_dunders",
        """
        class Money:
            def __init__(self, amount, currency="EUR"):
                self.amount = amount
                self.currency = currency
            def __repr__(self):
                return f"Money({self.amount!r}, {self.currency!r})"
            def __str__(self):
                return f"{self.amount:.2f} {self.currency}"
            def __format__(self, spec):
                if spec == "short":
                    return f"{self.amount:.0f}{self.currency[0]}"
                return format(str(self), spec)

        m = Money(12.5)
        print(m, repr(m), str(m), [m], f"{m}", f"{m!r}", f"{m:short}", f"[{m:>14}]")
        print("{} {:short}".format(m, m), "%s | %r" % (m, m), format(m, "short"))
        """,
    ),
    case(
        "hash_and_eq_in_sets",
        """
        class Coord:
            def __init__(self, lat, lon):
                self.lat, self.lon = round(lat, 3), round(lon, 3)
            def __eq__(self, other):
                return isinstance(other, Coord) and (self.lat, self.lon) == (other.lat, other.lon)
            def __hash__(self):
                return hash((self.lat, self.lon))
            def __repr__(self):
                return f"({self.lat}, {self.lon})"

        seen = {Coord(1.0001, 2.0), Coord(1.0, 2.0), Coord(3, 4)}
        print(len(seen), Coord(3, 4) in seen, {Coord(1, 1): "a"}[Coord(1.0002, 1)])
        class NoHash:
            def __eq__(self, other):
                return True
        try:
            {NoHash()}
        except TypeError as e:
            print("TypeError:", e)
        """,
    ),
    case(
        "other_numeric_dunders",
        """
        class Fixed:
            def __init__(self, v): self.v = v
            def __int__(self): return int(self.v)
            def __float__(self): return float(self.v)
            def __index__(self): return int(self.v)
            def __round__(self, n=None): return Fixed(round(self.v, n))
            def __invert__(self): return Fixed(-self.v)
            def __repr__(self): return f"Fixed({self.v})"

        f = Fixed(3.7)
        print(int(f), float(f), round(f, 0), ~f, [10, 20, 30, 40][Fixed(3)], bin(Fixed(5)), hex(Fixed(255)))
        """,
    ),
]
