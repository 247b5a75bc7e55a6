"""More class shapes models write: subclassing builtins, generics, enums with data,
class decorators, NotImplemented, alternate constructors."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "enum_members_with_init_attributes",
        """
        from enum import Enum

        class Planet(Enum):
            MERCURY = (3.303e23, 2.4397e6)
            EARTH = (5.976e24, 6.37814e6)

            def __init__(self, mass, radius):
                self.mass = mass
                self.radius = radius

            @property
            def surface_gravity(self):
                return 6.673e-11 * self.mass / (self.radius * self.radius)

        for p in Planet:
            print(f"{p.name:<8} {p.surface_gravity:6.2f} m/s2")
        """,
    ),
    case(
        "enum_functional_api_and_intflag",
        """
        from enum import Enum, IntFlag
        Color = Enum("Color", "RED GREEN BLUE")
        print(Color.GREEN, Color.GREEN.value, [c.name for c in Color])

        class Perm(IntFlag):
            R = 4
            W = 2
            X = 1
        mode = Perm.R | Perm.W
        print(mode, int(mode), Perm.X in mode, oct(mode | Perm.X))
        """,
    ),
    case(
        "type_of_self_constructs_subclass",
        """
        class Quantity:
            def __init__(self, value):
                self.value = value
            def __add__(self, other):
                return type(self)(self.value + other.value)
            def __repr__(self):
                return f"{type(self).__name__}({self.value})"

        class Meters(Quantity):
            pass

        print(Meters(1.5) + Meters(2), Quantity(1) + Quantity(2), type(Meters(1)) is Meters)
        print(type(3), type(Meters(1)), Meters, type("s"), type(None))
        """,
    ),
    case(
        "subclass_dict_with_missing",
        """
        class Tally(dict):
            def __missing__(self, key):
                return 0

        t = Tally()
        for w in "to be or not to be".split():
            t[w] += 1
        print(t, t["zz"], len(t), isinstance(t, dict))

        class Defaults(dict):
            def __missing__(self, key):
                return f"<{key}>"
        print("{name} is {age}".format_map(Defaults(name="Ann")))
        """,
    ),
    case(
        "subclass_list_and_super",
        """
        class Stack(list):
            def push(self, x):
                super().append(x)
            def peek(self):
                return self[-1]

        class History(list):
            def append(self, x):
                print("recording", x)
                super().append(x)

        s = Stack()
        s.push(1); s.push(2)
        print(s, s.peek(), len(s), s.pop(), s)
        h = History()
        h.append("a"); h += ["b"]
        print(h)
        """,
    ),
    case(
        "subclass_int_and_str",
        """
        class Cents(int):
            def __str__(self):
                return f"${self / 100:,.2f}"

        class Tag(str):
            def wrap(self):
                return f"<{self}>"

        c = Cents(123456)
        print(c, c + 1, repr(c), isinstance(c, int), Cents(5) * 2)
        print(Tag("b").wrap(), Tag("x").upper(), Tag("a") + "b", len(Tag("abc")))
        """,
    ),
    case(
        "typing_generic_and_protocol",
        """
        from typing import TypeVar, Generic, Protocol, Optional

        T = TypeVar("T")

        class Box(Generic[T]):
            def __init__(self, item: T) -> None:
                self.item = item
            def get(self) -> T:
                return self.item

        class HasArea(Protocol):
            def area(self) -> float: ...

        class Square:
            def __init__(self, s: float) -> None:
                self.s = s
            def area(self) -> float:
                return self.s ** 2

        def total(shapes: list[HasArea], extra: Optional[float] = None) -> float:
            return sum(s.area() for s in shapes) + (extra or 0)

        print(Box[int](3).get(), Box("s").get(), total([Square(2), Square(3)], 0.5))
        """,
    ),
    case(
        "alternate_constructors_inheritance",
        """
        from datetime import date

        class Person:
            def __init__(self, name, born):
                self.name, self.born = name, born
            @classmethod
            def from_string(cls, text):
                name, iso = text.split(";")
                return cls(name, date.fromisoformat(iso))
            def age_on(self, day):
                return day.year - self.born.year - ((day.month, day.day) < (self.born.month, self.born.day))

        class Employee(Person):
            company = "ACME"

        e = Employee.from_string("Ann;1990-05-17")
        print(type(e).__name__, e.name, e.age_on(date(2024, 5, 16)), e.company)
        """,
    ),
    case(
        "property_setter_deleter_validation",
        """
        class Thermostat:
            def __init__(self):
                self._target = 20.0

            @property
            def target(self):
                return self._target

            @target.setter
            def target(self, value):
                if not 5 <= value <= 30:
                    raise ValueError(f"target {value} out of range")
                self._target = value

            @target.deleter
            def target(self):
                print("resetting")
                self._target = 20.0

        t = Thermostat()
        t.target = 22.5
        t.target += 1
        print(t.target)
        del t.target
        print(t.target)
        try:
            t.target = 40
        except ValueError as e:
            print(e)
        """,
    ),
    case(
        "not_implemented_fallbacks",
        """
        class Money:
            def __init__(self, cents):
                self.cents = cents
            def __eq__(self, other):
                if not isinstance(other, Money):
                    return NotImplemented
                return self.cents == other.cents
            def __add__(self, other):
                if isinstance(other, Money):
                    return Money(self.cents + other.cents)
                return NotImplemented
            def __radd__(self, other):
                if other == 0:
                    return self
                return NotImplemented
            def __repr__(self):
                return f"Money({self.cents})"

        print(Money(1) == Money(1), Money(1) == 1, Money(1) + Money(2), sum([Money(5), Money(7)]))
        try:
            Money(1) + "x"
        except TypeError as e:
            print("TypeError:", e)
        """,
    ),
    case(
        "class_decorator_registry",
        """
        REGISTRY = {}

        def register(cls):
            REGISTRY[cls.__name__.lower()] = cls
            cls.registered = True
            return cls

        @register
        class Csv:
            def render(self, rows):
                return "\\n".join(",".join(map(str, r)) for r in rows)

        @register
        class Tsv(Csv):
            def render(self, rows):
                return super().render(rows).replace(",", "\\t")

        for name in sorted(REGISTRY):
            print(name, repr(REGISTRY[name]().render([(1, 2), (3, 4)])), REGISTRY[name].registered)
        """,
    ),
    case(
        "old_style_getitem_iteration",
        """
        class Squares:
            def __init__(self, n):
                self.n = n
            def __getitem__(self, i):
                if i >= self.n:
                    raise IndexError(i)
                return i * i

        print(list(Squares(5)), 9 in Squares(5), max(Squares(4)), [x for x in Squares(3)])
        """,
    ),
    case(
        "cached_property_and_function_attributes",
        """
        from functools import cached_property

        class Dataset:
            def __init__(self, values):
                self.values = values
            @cached_property
            def mean(self):
                print("computing mean")
                return sum(self.values) / len(self.values)

        d = Dataset([1, 2, 3, 4])
        print(d.mean, d.mean)

        def counted(func):
            def wrapper(*args):
                wrapper.calls += 1
                return func(*args)
            wrapper.calls = 0
            return wrapper

        @counted
        def square(x):
            return x * x
        square(2); square(3)
        print(square.calls)
        """,
    ),
    case(
        "namedtuple_subclass_and_defaults",
        """
        from collections import namedtuple

        class Point(namedtuple("Point", "x y")):
            def norm(self):
                return math.hypot(self.x, self.y)

        Config = namedtuple("Config", "host port", defaults=["localhost", 8080])
        p = Point(3, 4)
        print(p.norm(), p._replace(x=0), p._asdict(), Point._fields)
        print(Config(), Config._field_defaults, Config("example.org")._asdict(), Config._make(["h", 1]))
        """,
    ),
    case(
        "json_encoder_subclass_and_default",
        """
        from decimal import Decimal

        class Encoder(json.JSONEncoder):
            def default(self, o):
                if isinstance(o, (set, frozenset)):
                    return sorted(o)
                if isinstance(o, Decimal):
                    return str(o)
                return super().default(o)

        class Point:
            def __init__(self, x, y):
                self.x, self.y = x, y

        print(json.dumps({"ids": {3, 1, 2}, "amount": Decimal("9.90")}, cls=Encoder))
        print(json.dumps([Point(1, 2)], default=lambda o: {"x": o.x, "y": o.y}))
        try:
            json.dumps(Point(0, 0), cls=Encoder)
        except TypeError as e:
            print("TypeError:", e)
        """,
    ),
    case(
        "dataclass_ordering_and_comparison",
        """
        from dataclasses import dataclass, field

        @dataclass(order=True)
        class Task:
            priority: int
            name: str = field(compare=False)
            tags: list = field(default_factory=list, compare=False, repr=False)

        tasks = [Task(3, "write"), Task(1, "plan"), Task(2, "code", ["x"])]
        print(sorted(tasks), min(tasks).name, Task(1, "a") == Task(1, "b"), Task(1, "a") < Task(2, "a"))
        """,
    ),
]
