"""Classes: inheritance, super(), properties, dataclasses, enums, dunder methods."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

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
