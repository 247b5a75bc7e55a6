"""Classes: inheritance, super(), properties, dataclasses, enums, dunder methods."""

from snippets_base import case

CASES = [
    case(
        "account_private_balance",
        """
        class InsufficientFunds(Exception):
            pass

        class Account:
            interest_rate = 0.02

            def __init__(self, owner, balance=0.0):
                self.owner = owner
                self._balance = balance
                self.__history = []

            @property
            def balance(self):
                return self._balance

            @balance.setter
            def balance(self, value):
                if value < 0:
                    raise ValueError("negative balance")
                self._balance = value

            def deposit(self, amount):
                self._balance += amount
                self.__history.append(("deposit", amount))

            def withdraw(self, amount):
                if amount > self._balance:
                    raise InsufficientFunds(f"{self.owner} cannot withdraw {amount}")
                self._balance -= amount
                self.__history.append(("withdraw", amount))

            def history(self):
                return list(self.__history)

        acct = Account("Ann", 100)
        acct.deposit(50)
        acct.withdraw(30)
        print(acct.balance, acct.history())
        acct.balance = 10
        print(acct._balance)
        try:
            acct.withdraw(1000)
        except InsufficientFunds as e:
            print("error:", e, type(e).__name__)
        try:
            acct.balance = -5
        except ValueError as e:
            print("error:", e)
        """,
    ),
    case(
        "inheritance_and_super",
        """
        class Shape:
            def __init__(self, name):
                self.name = name

            def area(self):
                raise NotImplementedError

            def describe(self):
                return f"{self.name} with area {self.area():.2f}"

        class Rectangle(Shape):
            def __init__(self, w, h):
                super().__init__("rectangle")
                self.w, self.h = w, h

            def area(self):
                return self.w * self.h

        class Square(Rectangle):
            def __init__(self, side):
                super().__init__(side, side)
                self.name = "square"

        class Circle(Shape):
            def __init__(self, r):
                super(Circle, self).__init__("circle")
                self.r = r

            def area(self):
                return math.pi * self.r ** 2

        for s in [Rectangle(2, 3), Square(4), Circle(1.5)]:
            print(s.describe(), isinstance(s, Rectangle), issubclass(type(s), Shape))
        print(Square.__name__, Square.__qualname__)
        """,
    ),
    case(
        "classmethod_staticmethod",
        """
        class Temperature:
            def __init__(self, celsius):
                self.celsius = celsius

            @classmethod
            def from_fahrenheit(cls, f):
                return cls((f - 32) * 5 / 9)

            @staticmethod
            def c_to_k(c):
                return c + 273.15

            def __repr__(self):
                return f"Temperature({self.celsius:.2f})"

        t = Temperature.from_fahrenheit(98.6)
        print(t, Temperature.c_to_k(t.celsius), t.c_to_k(0))
        print(repr(t), str(t), [t])
        """,
    ),
    case(
        "dataclass_inventory",
        """
        from dataclasses import dataclass, field, asdict, replace, astuple, fields

        @dataclass
        class Item:
            name: str
            price: float
            qty: int = 0
            tags: list = field(default_factory=list)

            @property
            def value(self):
                return self.price * self.qty

        @dataclass(frozen=True, order=True)
        class Sku:
            code: str
            size: int = 1

        stock = [Item("bolt", 0.1, 500), Item("nut", 0.05, 800, ["m4"]), Item("gear", 12.5, 3)]
        for it in sorted(stock, key=lambda i: i.value, reverse=True):
            print(it, f"{it.value:.2f}")
        print(asdict(stock[1]), astuple(stock[2]))
        print(replace(stock[0], qty=1), [f.name for f in fields(Item)])
        print(sorted([Sku("b"), Sku("a", 2), Sku("a", 1)]), Sku("x") == Sku("x"), hash(Sku("x")) == hash(Sku("x")))
        try:
            Sku("z").code = "y"
        except Exception as e:
            print(type(e).__name__, e)
        """,
    ),
    case(
        "dataclass_post_init_and_kw_only",
        """
        from dataclasses import dataclass, field

        @dataclass(kw_only=True)
        class Loan:
            principal: float
            rate: float
            years: int = 30
            monthly: float = field(init=False)

            def __post_init__(self):
                r = self.rate / 12
                n = self.years * 12
                self.monthly = self.principal * r / (1 - (1 + r) ** -n)

        loan = Loan(principal=250_000, rate=0.045)
        print(f"{loan.monthly:.2f}", loan)
        loan.years -= 5
        loan.__post_init__()
        print(f"{loan.monthly:.2f}", loan.years)
        """,
    ),
    case(
        "dataclass_slots_attribute_write",
        """
        from dataclasses import dataclass

        @dataclass(slots=True)
        class Point:
            x: float
            y: float

        p = Point(1, 2)
        p.x += 2
        print(p, Point(3, 2) == p)
        """,
        bug="dataclass(slots=True) rebuilds the class, which is then not 'own': attribute writes denied",
    ),
    case(
        "enum_kinds",
        """
        from enum import Enum, IntEnum, Flag, auto, unique

        @unique
        class Status(Enum):
            ACTIVE = "active"
            CLOSED = "closed"

        class Priority(IntEnum):
            LOW = 1
            HIGH = 3

        class Perm(Flag):
            R = auto()
            W = auto()
            X = auto()

        class Color(Enum):
            RED = auto()
            GREEN = auto()

            def describe(self):
                return f"{self.name.lower()}={self.value}"

        print(Status.ACTIVE, Status("closed"), Status["ACTIVE"].value, list(Status))
        print(Priority.HIGH > Priority.LOW, Priority.HIGH + 1, sorted([Priority.HIGH, Priority.LOW]))
        rw = Perm.R | Perm.W
        print(rw, Perm.W in rw, Perm.X in rw, bool(Perm.X & rw))
        print(Color.GREEN.describe(), [c.name for c in Color], len(Color), repr(Color.RED))
        print(Status.ACTIVE is Status("active"), Status.ACTIVE == "active")
        """,
    ),
    case(
        "enum_str_and_match",
        """
        from enum import Enum

        class Unit(str, Enum):
            KG = "kg"
            LB = "lb"

        def to_kg(value, unit):
            match unit:
                case Unit.KG:
                    return value
                case Unit.LB:
                    return value * 0.45359237

        print(to_kg(10, Unit.LB), to_kg(3, Unit("kg")), Unit.KG.value, f"{Unit.LB.value}")
        """,
    ),
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
    case(
        "custom_exception_hierarchy",
        """
        class AppError(Exception):
            \"\"\"Base error of the app.\"\"\"

        class ValidationError(AppError):
            def __init__(self, field, problem):
                super().__init__(f"{field}: {problem}")
                self.field = field

        def validate(order):
            if order.get("qty", 0) <= 0:
                raise ValidationError("qty", "must be positive")
            return True

        for order in [{"qty": 2}, {"qty": 0}, {}]:
            try:
                print(validate(order))
            except AppError as e:
                print(type(e).__name__, e.field, e, e.args, AppError.__doc__)
        print(issubclass(ValidationError, Exception), ValidationError.__name__)
        """,
    ),
    case(
        "class_attributes_and_counters",
        """
        class Order:
            count = 0
            registry = []

            def __init__(self, total):
                Order.count += 1
                self.id = Order.count
                self.total = total
                Order.registry.append(self)

            def __repr__(self):
                return f"<Order {self.id}: {self.total}>"

        for t in (10, 25.5, 7):
            Order(t)
        print(Order.count, Order.registry, [o.id for o in Order.registry if o.total > 8])
        o = Order.registry[0]
        o.total *= 2
        setattr(o, "note", "rush")
        print(o, getattr(o, "note"), hasattr(o, "missing"), getattr(o, "missing", "default"))
        """,
    ),
    case(
        "namedtuple_api",
        """
        from collections import namedtuple
        from typing import NamedTuple

        Point = namedtuple("Point", ["x", "y"])
        p = Point(1, 2)
        print(p, p.x + p.y, p._replace(y=10), p._asdict(), Point._fields, Point._make([5, 6]))

        class Employee(NamedTuple):
            name: str
            salary: float = 50000.0

        e = Employee("Ann")
        print(e, e._replace(salary=e.salary * 1.1), e._fields, e._asdict(), Employee._field_defaults)
        x, y = p
        print(x, y, p[0], len(p), tuple(p), p == (1, 2))
        """,
    ),
    case(
        "readable_dunders",
        """
        class Widget:
            \"\"\"A widget.\"\"\"
            def method(self):
                \"\"\"Does a thing.\"\"\"

        def outer():
            def inner():
                pass
            return inner

        print(Widget.__name__, Widget.__qualname__, Widget.__doc__, Widget.method.__doc__)
        print(Widget.method.__qualname__, outer().__qualname__, outer.__name__, Widget.__module__)
        print(type(3).__name__, type("s").__name__, type([]).__name__, type(Widget()).__name__)
        try:
            try:
                1 / 0
            except ZeroDivisionError as exc:
                raise ValueError("bad input") from exc
        except ValueError as e:
            print(type(e.__cause__).__name__, e.__cause__, e.__context__ is e.__cause__)
        try:
            try:
                {}["k"]
            except KeyError:
                raise RuntimeError("during handling")
        except RuntimeError as e:
            print(repr(e.__context__), e.__cause__)
        """,
    ),
    case(
        "abstract_style_and_polymorphism",
        """
        class Employee:
            def __init__(self, name, base):
                self.name, self.base = name, base
            def pay(self):
                return self.base
            def __str__(self):
                return f"{self.name}: {self.pay():,.2f}"

        class Manager(Employee):
            def __init__(self, name, base, bonus):
                super().__init__(name, base)
                self.bonus = bonus
            def pay(self):
                return super().pay() + self.bonus

        class Contractor(Employee):
            def pay(self):
                return self.base * 1.2

        staff = [Employee("Ann", 4000), Manager("Bob", 5000, 1500), Contractor("Cy", 3000)]
        for s in staff:
            print(s)
        print(f"payroll: {sum(s.pay() for s in staff):,.2f}")
        print([type(s).__name__ for s in staff if isinstance(s, Employee)])
        """,
    ),
    case(
        "multiple_inheritance_mixin",
        """
        class JsonMixin:
            def to_json(self):
                return json.dumps(self.as_dict(), sort_keys=True)

        class ReprMixin:
            def __repr__(self):
                fields = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items())
                return f"{type(self).__name__}({fields})"

        class Product(JsonMixin, ReprMixin):
            def __init__(self, sku, price):
                self.sku, self.price = sku, price
            def as_dict(self):
                return {"sku": self.sku, "price": self.price}

        p = Product("A-1", 9.99)
        print(p, p.to_json(), isinstance(p, JsonMixin))
        """,
    ),
    case(
        "object_builtin_and_sentinel",
        """
        MISSING = object()
        def lookup(d, k, default=MISSING):
            if k in d:
                return d[k]
            if default is MISSING:
                raise KeyError(k)
            return default
        print(lookup({"a": 1}, "a"), lookup({}, "b", 0))
        class Plain(object):
            pass
        p = Plain()
        p.x = 1
        print(p.x, isinstance(p, object), Plain.__name__)
        """,
    ),
]
