"""More error paths: where the error line is, what the message says, what was printed."""

# ruff: noqa: E501 - snippet sources keep the long lines models write

from snippets_base import case

CASES = [
    case(
        "uncaught_in_multiline_expression",
        """
        data = {"a": 1}
        total = (
            data["a"]
            + data["b"]
        )
        """,
    ),
    case(
        "uncaught_in_comprehension",
        """
        xs = [1, 0]
        ys = [10 / x
              for x in xs]
        """,
    ),
    case(
        "uncaught_in_lambda",
        """
        f = lambda x: x[5]
        f([1])
        """,
    ),
    case(
        "uncaught_in_property",
        """
        class A:
            @property
            def v(self):
                return self.missing
        A().v
        """,
    ),
    case(
        "bare_raise_without_active_exception",
        """
        raise
        """,
    ),
    case(
        "finally_exception_replaces_original",
        """
        try:
            1 / 0
        finally:
            raise KeyError("from finally")
        """,
    ),
    case(
        "exit_raises",
        """
        class CM:
            def __enter__(self): return self
            def __exit__(self, *a):
                raise RuntimeError("exit failed")
        with CM():
            print("body")
        """,
    ),
    case(
        "decorator_raises",
        """
        def deco(f):
            raise TypeError("bad decorator")
        @deco
        def g(): pass
        """,
    ),
    case(
        "uncaught_custom_str",
        """
        class E(Exception):
            def __str__(self):
                return "custom " + str(len(self.args))
        raise E(1, 2)
        """,
    ),
    case(
        "key_error_with_custom_repr",
        """
        class K:
            def __repr__(self): return "K!"
            def __hash__(self): return 1
            def __eq__(self, o): return False
        {}[K()]
        """,
    ),
    case(
        "generator_raises_inside_list",
        """
        def g():
            yield 1
            raise ValueError("gen failed")
        print(list(g()))
        """,
    ),
    case(
        "nested_class_method_line",
        """
        class Outer:
            class Inner:
                def f(self):
                    return int("x")
        Outer.Inner().f()
        """,
    ),
    case(
        "recursion_in_repr_caught",
        """
        class R:
            def __repr__(self):
                return repr(self)
        try:
            repr(R())
        except RecursionError as e:
            print("caught", type(e).__name__)
        """,
    ),
    case(
        "exception_with_several_args",
        """
        raise ValueError("a", 1)
        """,
    ),
    case(
        "key_error_without_args",
        """
        raise KeyError()
        """,
    ),
    case(
        "uncaught_from_main_guard",
        """
        class Done(Exception): pass
        def main():
            print("working")
            raise Done("finished early")
        if __name__ == "__main__":
            main()
        """,
    ),
    case(
        "zero_division_messages",
        """
        for expr in ["1 / 0", "1 // 0", "1 % 0", "1.0 / 0", "divmod(1, 0)", "0 ** -1", "Fraction(1, 0)"]:
            try:
                from fractions import Fraction
                eval_ = {"1 / 0": lambda: 1 / 0, "1 // 0": lambda: 1 // 0, "1 % 0": lambda: 1 % 0,
                         "1.0 / 0": lambda: 1.0 / 0, "divmod(1, 0)": lambda: divmod(1, 0),
                         "0 ** -1": lambda: 0 ** -1, "Fraction(1, 0)": lambda: Fraction(1, 0)}[expr]
                eval_()
            except ZeroDivisionError as e:
                print(expr, "->", e)
        """,
    ),
]
