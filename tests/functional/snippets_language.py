"""Statements and scoping: augmented assignment, closures, generators, match, ..."""

from snippets_base import case

CASES = [
    case(
        "augmented_assignment_everywhere",
        """
        total = 0
        for x in [5, 10, 15]:
            total += x
        total -= 3; total *= 2; total //= 3; total **= 2; total %= 1000
        print(total)
        counts = {}
        for word in "the cat the hat the end".split():
            counts[word] = counts.get(word, 0) + 1
        counts["the"] += 10
        grid = [[0] * 3 for _ in range(2)]
        grid[1][2] += 7
        grid[0][0] -= 1
        class Box: pass
        b = Box(); b.n = 1; b.n += 41; b.n /= 2
        s = "ab"; s *= 3; s += "!"
        bits = 0b1010; bits |= 1; bits &= 0b1110; bits ^= 0b0100; bits <<= 2; bits >>= 1
        lst = [1]; lst += [2, 3]; lst *= 2
        print(counts, grid, b.n, s, bits, lst)
        """,
    ),
    case(
        "global_and_nonlocal",
        """
        calls = 0

        def tracked():
            global calls
            calls += 1
            return calls

        def make_account(balance):
            def deposit(x):
                nonlocal balance
                balance += x
                return balance
            def get():
                return balance
            return deposit, get

        tracked(); tracked()
        dep, get = make_account(100)
        dep(50); dep(-20)
        print(calls, get())

        def set_config():
            global RATE
            RATE = 0.07
        set_config()
        print(RATE)
        """,
    ),
    case(
        "closures_and_late_binding",
        """
        def multiplier(n):
            return lambda x: x * n

        funcs = [multiplier(i) for i in range(4)]
        late = [lambda x: x * i for i in range(4)]
        bound = [lambda x, i=i: x * i for i in range(4)]
        print([f(10) for f in funcs], [f(10) for f in late], [f(10) for f in bound])

        def counter():
            count = 0
            def inc():
                nonlocal count
                count += 1
                return count
            return inc
        c1, c2 = counter(), counter()
        print(c1(), c1(), c2(), c1())
        """,
    ),
    case(
        "lambdas_sort_keys",
        """
        people = [("Ann", 31, 5200.0), ("bob", 25, 4100.5), ("Cy", 31, 3900.0)]
        print(sorted(people, key=lambda p: (-p[1], p[0].lower())))
        print(max(people, key=lambda p: p[2])[0], min(people, key=lambda p: p[1]))
        square = lambda x: x ** 2
        compose = lambda f, g: lambda x: f(g(x))
        print(compose(square, abs)(-3), (lambda *a, **k: (a, k))(1, 2, z=3))
        print(list(filter(lambda p: p[1] > 30, people)))
        """,
    ),
    case(
        "decorators_plain_and_with_args",
        """
        import functools

        def logged(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                print(f"calling {func.__name__}{args}")
                result = func(*args, **kwargs)
                print(f"{func.__name__} -> {result}")
                return result
            return wrapper

        def repeat(times):
            def deco(func):
                def wrapper(*a):
                    return [func(*a) for _ in range(times)]
                return wrapper
            return deco

        @logged
        def add(a, b):
            \"\"\"Add two numbers.\"\"\"
            return a + b

        @repeat(3)
        def greet(name):
            return f"hi {name}"

        add(2, 3)
        print(add.__name__, add.__doc__, greet("Al"))
        """,
    ),
    case(
        "lru_cache_and_cache",
        """
        from functools import lru_cache, cache

        @lru_cache(maxsize=None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        @cache
        def ways(amount, coins=(1, 5, 10, 25)):
            if amount == 0:
                return 1
            if amount < 0 or not coins:
                return 0
            return ways(amount - coins[0], coins) + ways(amount, coins[1:])

        print(fib(80), fib.cache_info().hits > 0, ways(100))
        fib.cache_clear()
        print(fib.cache_info())

        @lru_cache(maxsize=2)
        def sq(x):
            print("computing", x)
            return x * x
        print(sq(2), sq(2), sq(3), sq(4), sq(2))
        """,
    ),
    case(
        "generators_and_yield_from",
        """
        def chunks(seq, size):
            for i in range(0, len(seq), size):
                yield seq[i:i + size]

        def flatten(nested):
            for item in nested:
                if isinstance(item, list):
                    yield from flatten(item)
                else:
                    yield item

        def running_total():
            total = 0
            while True:
                x = yield total
                if x is None:
                    return total
                total += x

        def delegator():
            result = yield from running_total()
            print("inner returned", result)

        print(list(chunks(list(range(7)), 3)), list(flatten([1, [2, [3, [4]], 5]])))
        g = running_total(); next(g)
        print(g.send(10), g.send(5))
        d = delegator(); next(d); d.send(3)
        try:
            d.send(None)
        except StopIteration:
            print("delegator done")
        gen = (n * n for n in range(5))
        print(next(gen), list(gen), list(gen))
        """,
    ),
    case(
        "generator_close_and_throw",
        """
        def worker():
            try:
                while True:
                    try:
                        job = yield
                        print("job", job)
                    except ValueError as e:
                        print("recovered from", e)
            finally:
                print("worker closed")

        w = worker(); next(w)
        w.send("a")
        w.throw(ValueError("bad job"))
        w.send("b")
        w.close()
        """,
    ),
    case(
        "comprehensions_all_kinds",
        """
        nums = range(1, 11)
        squares = [n * n for n in nums if n % 2]
        table = {n: n ** 3 for n in nums if n > 7}
        letters = {c for c in "mississippi"}
        pairs = [(a, b) for a in range(3) for b in range(a)]
        matrix = [[r * 3 + c for c in range(3)] for r in range(3)]
        transposed = [[row[i] for row in matrix] for i in range(3)]
        total = sum(n for n in nums if n % 3 == 0)
        print(squares, table, sorted(letters), pairs, transposed, total)
        flat = [x for row in matrix for x in row if x % 2 == 0]
        print(flat, {k: v for k, v in zip("abc", flat)}, [y for x in [[1], [2, 3]] for y in x])
        """,
    ),
    case(
        "walrus",
        """
        data = [4, 8, 15, 16, 23, 42]
        if (n := len(data)) > 5:
            print(f"{n} items")
        print([y for x in data if (y := x * 2) > 30], y)
        stack = [1, 2, 3]
        while (top := stack.pop() if stack else None) is not None:
            print("popped", top)
        print(total := sum(data), total / n)
        """,
    ),
    case(
        "match_statement",
        """
        def describe(cmd):
            match cmd:
                case {"op": "add", "args": [a, b]}:
                    return a + b
                case {"op": "neg", "args": [a]}:
                    return -a
                case [x, y, *rest] if not rest:
                    return f"pair {x},{y}"
                case [first, *rest]:
                    return f"starts {first}, {len(rest)} more"
                case int(n) | float(n) if n < 0:
                    return "negative number"
                case str() as s:
                    return s.upper()
                case None:
                    return "nothing"
                case _:
                    return "unknown"

        for c in [{"op": "add", "args": [2, 3]}, {"op": "neg", "args": [4]}, [1, 2], [1, 2, 3],
                  -2.5, "hey", None, 42]:
            print(describe(c))
        """,
    ),
    case(
        "match_class_patterns",
        """
        from dataclasses import dataclass

        @dataclass
        class Point:
            x: float
            y: float

        @dataclass
        class Circle:
            center: Point
            r: float

        def area(shape):
            match shape:
                case Circle(center=Point(x=0, y=0), r=r):
                    return f"origin circle {math.pi * r * r:.3f}"
                case Circle(r=r):
                    return f"circle {math.pi * r * r:.3f}"
                case Point(x, y):
                    return f"point at {x},{y}"

        print(area(Circle(Point(0, 0), 1)), area(Circle(Point(1, 0), 2)), area(Point(3, 4)))
        """,
    ),
]

CASES += [
    case(
        "preloaded_names_rebound",
        """
        print(datetime.date(2024, 1, 1))
        from datetime import datetime
        print(datetime(2024, 1, 1), datetime.strptime("2024-02-03", "%Y-%m-%d").date())

        def local_shadow():
            math = 3
            return math + 1

        def param_shadow(json):
            return json.upper()

        print(local_shadow(), param_shadow("x"), math.sqrt(4))
        import cmath as math
        print(math.sqrt(-1))
        """,
    ),
    case(
        "preloaded_names_rebound_by_every_binding",
        """
        def early():
            return math.floor(2.5)

        print(early())
        for math in [1, 2]:
            pass
        print(math)
        try:
            early()
        except AttributeError as e:
            print("AttributeError:", e)
        try:
            1 / 0
        except ZeroDivisionError as json:
            print(type(json).__name__)
        match 7:
            case datetime:
                print("captured", datetime)
        """,
    ),
    case(
        "preloaded_names_global_and_del",
        """
        def patch():
            global json
            json = "patched"

        print(json.dumps([1]))
        patch()
        print(json)
        del math
        try:
            math.sqrt(1)
        except NameError as e:
            print("NameError:", e)
        xs = [datetime for datetime in range(3)]
        print(xs, datetime.date(2020, 2, 29))
        """,
    ),
    case(
        "class_body_scope",
        """
        class Rates:
            base = 0.05
            table = {y: base * y for y in range(1, 4)} if False else None
            bump = base + 0.01
            math = "class attribute"
            shout = math.upper()

        print(Rates.bump, Rates.shout, math.pi)

        class Broken:
            x = 5
            ys = [x for _ in range(3)]
        """,
    ),
]
