"""Every builtin of the default policy, used the way calculation code uses it."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "numeric_builtins",
        """
        print(abs(-7), abs(-2.5), abs(3 + 4j), divmod(17, 5), divmod(-17, 5), divmod(7.5, 2))
        print(pow(2, 10), pow(2, -1), pow(3, 4, 5), pow(38, -1, 97), round(2.675, 2), round(0.5), round(1.5))
        print(round(1234.5678, -2), round(7), round(-0.5), int("42"), int("ff", 16), int("0b101", 0), int(-3.9))
        print(float("1e3"), float(" -2.5 "), float("nan") != float("nan"), float("inf") > 1e308)
        print(complex(1, 2) * complex(0, 1), complex("3+4j").imag, (1 + 2j).conjugate())
        print(bin(10), oct(64), hex(255), hex(-1), bin(-5))
        print(sum([0.1] * 10), sum([[1], [2]], []), sum(range(101)), sum([1, 2], 10), sum((), start=5))
        print(max(3, 9, 2), min([4, 1, 8]), max([], default=None), min("hello"), max({"a": 1, "b": 0}))
        """,
    ),
    case(
        "bool_and_truthiness",
        """
        values = [0, 1, "", "0", [], [0], {}, None, 0.0, -1, set(), ()]
        print([bool(v) for v in values])
        print(all([]), any([]), all(x > 0 for x in [1, 2]), any(x > 5 for x in [1, 2]))
        print(True + True, True * 3.5, int(True), bool("False"), isinstance(True, int))
        """,
    ),
    case(
        "chr_ord_and_strings",
        """
        word = "Cipher"
        shifted = "".join(chr((ord(c) - 65 + 3) % 26 + 65) if c.isupper() else
                          chr((ord(c) - 97 + 3) % 26 + 97) for c in word)
        print(shifted, [ord(c) for c in "AZaz"], chr(8364), ord("€"))
        print(str(3.0), str([1, "a"]), str(None), repr(1.0), repr("a'b"), len("naïve"))
        """,
    ),
    case(
        "containers_construction",
        """
        print(list("abc"), tuple([1, 2]), set([3, 3, 1]), frozenset([2, 2]), dict(a=1, b=2))
        print(dict([("x", 1), ("y", 2)]), dict(zip("ab", range(2))), dict.fromkeys(["p", "q"], 0))
        print(list(range(5, 0, -2)), tuple(), list(), dict(), set(), len(range(0, 100, 7)))
        fs = frozenset({1, 2, 3})
        print(fs | {4}, fs & {2, 9}, fs - {1}, fs ^ {3, 5}, {1, 2} <= fs, hash(fs) == hash(frozenset([3, 2, 1])))
        r = range(10, 50, 5)
        print(r, r[2], r[-1], r[1:3], 25 in r, r.index(40), r.count(11), list(reversed(r))[:3])
        """,
    ),
    case(
        "iteration_builtins",
        """
        names = ["ann", "bob", "cy"]
        scores = [88, 92, 79]
        print(list(enumerate(names, start=1)), list(zip(names, scores)), dict(zip(names, scores)))
        print(list(zip(*[(1, "a"), (2, "b")])), list(zip("ab", [1, 2, 3])))
        print(list(map(str.upper, names)), list(map(lambda a, b: a * b, [1, 2], [3, 4])))
        print(list(filter(None, [0, 1, "", "x"])), list(filter(str.isdigit, ["1", "a", "22"])))
        print(sorted(names, key=len, reverse=True), sorted("hello"), list(reversed(names)))
        print(sorted({3: "c", 1: "a"}), sorted([(2, "b"), (1, "z"), (2, "a")]))
        it = iter(scores)
        print(next(it), next(it), list(it), next(it, "exhausted"))
        print(list(iter([1, 2, 3].pop, 1)) if False else list(iter(iter([4, 5]))))
        """,
    ),
    case(
        "iter_with_sentinel",
        """
        data = [5, 3, 0, 7]
        pos = -1
        def next_item():
            global pos
            pos += 1
            return data[pos]
        print(list(iter(next_item, 0)))
        """,
    ),
    case(
        "getattr_hasattr_setattr",
        """
        class Config:
            debug = False
            def __init__(self):
                self.rate = 0.05

        cfg = Config()
        for key, value in {"rate": 0.07, "currency": "EUR", "debug": True}.items():
            setattr(cfg, key, value)
        print(getattr(cfg, "rate"), getattr(cfg, "currency"), cfg.debug, Config.debug)
        print(hasattr(cfg, "rate"), hasattr(cfg, "nope"), getattr(cfg, "nope", None))
        print(getattr("text", "upper")(), getattr([1, 2], "count")(2), hasattr(3, "real"))
        try:
            getattr(cfg, "missing")
        except AttributeError as e:
            print("AttributeError:", e)
        """,
    ),
    case(
        "isinstance_issubclass_type",
        """
        class Animal: pass
        class Dog(Animal): pass
        d = Dog()
        print(isinstance(d, Animal), isinstance(3, (str, int)), isinstance(3.0, int))
        print(issubclass(Dog, Animal), issubclass(bool, int), issubclass(Dog, (int, Animal)))
        print(type(d) is Dog, type(3) == int, type(1.5).__name__, type(None).__name__)
        print([type(v).__name__ for v in (1, 1.0, "s", [], (), {}, set(), True, 1j, range(1))])
        print(isinstance(ValueError(), Exception), issubclass(KeyError, LookupError))
        """,
    ),
    case(
        "callable_hash_id_repr",
        """
        def f(): pass
        class C: pass
        print(callable(f), callable(C), callable(C()), callable(len), callable("x"))
        print(hash(42), hash(-1) == hash(-2), hash(1.0) == hash(1), hash((1, 2)) == hash((1, 2)))
        a = [1]; b = a
        print(id(a) == id(b), id(a) == id([1]))
        try:
            hash([1])
        except TypeError as e:
            print("TypeError:", e)
        """,
    ),
    case(
        "super_and_object",
        """
        class Base:
            def greet(self):
                return "base"
        class Child(Base):
            def greet(self):
                return "child+" + super().greet()
        class Grand(Child):
            def greet(self):
                return "grand+" + super(Child, self).greet()
        print(Child().greet(), Grand().greet(), isinstance(object(), object))
        """,
    ),
    case(
        "slice_builtin",
        """
        row = "2024-03-15,ACME,125.50,200"
        DATE, NAME, PRICE = slice(0, 10), slice(11, 15), slice(16, 22)
        print(row[DATE], row[NAME], float(row[PRICE]))
        print(list(range(20))[slice(None, None, 5)], slice(3), slice(1, 2, 3))
        """,
    ),
    case(
        "format_builtin_and_repr",
        """
        print(format(3.14159, ".2f"), format(1000000, ","), format(0.25, ".1%"), format(42, "x"))
        print(repr([1, "2", 3.0]), repr({"k": (1,)}), repr(None), repr(True), repr(b"\\x00a"))
        print(ascii("café"), ascii(["ü"]))
        """,
    ),
    case(
        "bytes_and_bytearray",
        """
        data = "Grüße".encode("utf-8")
        print(data, len(data), data.decode("utf-8"), list(data[:3]), data.hex())
        buf = bytearray(b"abc")
        buf[0] = 65
        buf += b"!"
        print(buf, bytes(buf), bytes(3), bytes([104, 105]), b"a,b".split(b","))
        print(bytes.fromhex("48656c6c6f"), "café".encode("ascii", errors="replace"))
        """,
    ),
    case(
        "stop_iteration_and_exceptions",
        """
        it = iter([1])
        next(it)
        try:
            next(it)
        except StopIteration:
            print("StopIteration caught")
        for exc in (ValueError("v"), TypeError("t"), KeyError("k"), IndexError("i"),
                    ZeroDivisionError("z"), OverflowError("o"), RecursionError("r"),
                    TimeoutError("slow"), NotImplementedError("n"), ArithmeticError("a"),
                    LookupError("l"), RuntimeError("rt"), AttributeError("at"), NameError("nm")):
            try:
                raise exc
            except Exception as e:
                print(type(e).__name__, repr(e), str(e))
        """,
    ),
    case(
        "recursion_error_caught",
        """
        def depth(n):
            return depth(n + 1)
        try:
            depth(0)
        except RecursionError as e:
            print("RecursionError:", e)
        """,
    ),
    case(
        "overflow_and_float_errors",
        """
        try:
            math.exp(1000)
        except OverflowError as e:
            print("OverflowError:", e)
        try:
            2.0 ** 10000
        except OverflowError as e:
            print("OverflowError:", e)
        try:
            math.sqrt(-1)
        except ValueError as e:
            print("ValueError:", e)
        print(10 ** 30, 2 ** 100 // 3, -7 // 2, -7 % 3, 7 % -3, 1e308 * 10, -1e308 * 10)
        """,
    ),
    case(
        "int_big_and_digits",
        """
        n = math.factorial(30)
        print(n, len(str(n)), sum(int(d) for d in str(n)), n.bit_length(), (255).to_bytes(2, "big"))
        print(int.from_bytes(b"\\x01\\x00", "big"), (10).as_integer_ratio(), (0.75).as_integer_ratio())
        print((3.0).is_integer(), (-12).__abs__() if False else abs(-12), 7 .real, (5).conjugate())
        """,
    ),
    case(
        "dict_methods",
        """
        stock = {"apple": 3, "pear": 0}
        stock.update(kiwi=5, apple=4)
        stock.setdefault("plum", 1)
        removed = stock.pop("pear")
        print(stock, removed, stock.get("nope", -1), list(stock.keys()), list(stock.values()))
        print(sorted(stock.items(), key=lambda kv: kv[1]), stock.popitem(), len(stock))
        merged = stock | {"fig": 2}
        stock |= {"date": 9}
        print(merged, stock, "kiwi" in stock, stock.copy() == stock)
        stock.clear()
        print(stock)
        """,
    ),
    case(
        "list_methods",
        """
        q = [5, 3, 8]
        q.append(1); q.extend([9, 2]); q.insert(0, 7)
        q.sort(); print(q)
        q.sort(key=lambda x: -x); print(q)
        q.reverse(); print(q, q.index(8), q.count(3), q.pop(), q.pop(0))
        q.remove(5); print(q, q.copy(), q * 2, q + [0], [0] * 3)
        q.clear(); print(q, len(q))
        """,
    ),
    case(
        "set_methods",
        """
        a = {1, 2, 3, 4}
        b = {3, 4, 5}
        print(a | b, a & b, a - b, a ^ b, a.union([9]), a.intersection(b), a.difference(b))
        print(a.issubset({1, 2, 3, 4, 5}), a.isdisjoint({7}), b.issuperset({3}))
        a.add(10); a.discard(1); a.remove(2); print(sorted(a), a.pop() in {3, 4, 10})
        a.update([20]); a -= {20}; a &= {3, 4, 10}; print(sorted(a))
        """,
    ),
]
