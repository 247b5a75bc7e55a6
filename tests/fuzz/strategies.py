"""Hypothesis strategies: hostile Python programs.

- :func:`programs`: a small recursive grammar of statements and expressions biased toward the
  constructs sandbox escapes are made of (dunders, computed getattr, format fields, imports,
  classes with special methods, generators, lambdas, match, comprehensions, try/finally), over a
  vocabulary of catalogue modules, builtins and the sandbox's own hook names.
- :func:`mutated_attacks`: the escape suite's snippets (``corpus.py``) mutated: attribute names
  swapped for other dangerous ones, attribute reads routed through getattr/operator/functools/
  format, string spellings changed (concatenation, join, str subclasses, NFKC variants such as
  fullwidth letters), and the whole wrapped in functions, lambdas, comprehensions, classes,
  generators, try/except, decorators or match.
- :func:`hypothesmith_programs`: hypothesmith's grammar-derived programs (syntax-valid, mostly
  benign), when hypothesmith is installed.
"""

from __future__ import annotations

import ast
import keyword
import textwrap

from hypothesis import strategies as st

from restricted_exec.language.catalogue import CATALOGUE

from .corpus import attack_snippets

MODULES = sorted(CATALOGUE)
DANGEROUS_ATTRS = [
    "__class__",
    "__base__",
    "__bases__",
    "__mro__",
    "__subclasses__",
    "__globals__",
    "__builtins__",
    "__code__",
    "__closure__",
    "__dict__",
    "__traceback__",
    "__context__",
    "__cause__",
    "__init__",
    "__func__",
    "__self__",
    "__wrapped__",
    "__reduce__",
    "__reduce_ex__",
    "__getattribute__",
    "__import__",
    "__loader__",
    "__spec__",
    "__module__",
    "__name__",
    "__qualname__",
    "__defaults__",
    "__kwdefaults__",
    "__objclass__",
    "__init_subclass__",
    "__class_getitem__",
    "__set_name__",
    "__format__",
    "__getattr__",
    "gi_frame",
    "gi_code",
    "gi_yieldfrom",
    "cr_frame",
    "ag_frame",
    "ag_code",
    "ag_await",
    "f_back",
    "f_globals",
    "f_locals",
    "f_builtins",
    "f_code",
    "tb_frame",
    "tb_next",
    "co_consts",
    "co_code",
    "obj",
    "format",
    "format_map",
    "mro",
    "_os",
    "_sys",
    "_inst",
    "codecs",
    "sys",
    "os",
    "modules",
    "decoder",
    "scanner",
    "_default_decoder",
    "Formatter",
    "get_field",
    "get_value",
    "vformat",
    "_vformat",
    "_evaluate",
    "register",
    "dispatch",
    "item_separator",
    "cssclasses",
    "getcontext",
    "setcontext",
    "seed",
    "_pwned",
]
HOOKS = [
    "_getattr_",
    "_write_",
    "_getiter_",
    "_getitem_",
    "_private_",
    "_special_",
    "_print_",
    "_apply_",
    "_inplacevar_",
    "_unpack_sequence_",
    "_iter_unpack_sequence_",
    "_rx_check_",
    "_tmp0",
    "_rx_value",
    "__metaclass__",
    "__builtins__",
    "__import__",
    "__name__",
    "__file__",
    "__loader__",
    "__spec__",
    "__doc__",
]
BUILTINS = [
    "getattr",
    "setattr",
    "hasattr",
    "delattr",
    "type",
    "object",
    "print",
    "iter",
    "next",
    "vars",
    "dir",
    "globals",
    "locals",
    "super",
    "format",
    "repr",
    "str",
    "isinstance",
    "issubclass",
    "id",
    "hash",
    "callable",
    "sorted",
    "map",
    "filter",
    "zip",
    "list",
    "dict",
    "tuple",
    "set",
    "frozenset",
    "eval",
    "exec",
    "compile",
    "open",
    "help",
    "breakpoint",
    "memoryview",
    "bytes",
    "bytearray",
    "classmethod",
    "staticmethod",
    "property",
    "reversed",
    "enumerate",
    "min",
    "max",
    "sum",
    "any",
    "all",
    "len",
    "range",
    "chr",
    "ord",
    "Exception",
    "BaseException",
    "AttributeError",
    "StopIteration",
    "NotImplemented",
    "int",
]
MODULE_ATTRS = {
    "json": ["dumps", "loads", "JSONEncoder", "JSONDecoder", "decoder", "codecs", "scanner"],
    "string": ["Formatter", "Template", "ascii_letters", "capwords", "_re", "_string"],
    "operator": ["attrgetter", "itemgetter", "methodcaller", "getitem", "setitem", "call"],
    "functools": ["partial", "reduce", "lru_cache", "wraps", "singledispatch", "cmp_to_key"],
    "random": ["_os", "_inst", "seed", "Random", "getstate", "randint", "SystemRandom"],
    "datetime": ["sys", "datetime", "date", "timedelta", "timezone"],
    "typing": ["get_type_hints", "ForwardRef", "List", "NamedTuple", "TypeVar", "_eval_type"],
    "collections": ["abc", "namedtuple", "OrderedDict", "_sys", "deque", "UserString"],
    "dataclasses": ["make_dataclass", "dataclass", "fields", "replace", "sys", "_FIELDS"],
    "enum": ["Enum", "global_enum", "_EnumDict", "EnumMeta", "sys"],
    "decimal": ["getcontext", "setcontext", "localcontext", "Decimal", "Context"],
    "re": ["compile", "_compile", "sub", "_cache", "enum", "functools", "Pattern"],
    "calendar": ["HTMLCalendar", "day_name", "sys", "datetime", "setfirstweekday"],
}
VARIABLES = ["a", "b", "x", "obj", "cls", "f", "g", "e", "s"]
FORMAT_STRINGS = [
    "{0.__class__}",
    "{0.__globals__}",
    "{x.__class__.__mro__}",
    "{0[a]}",
    "{0!r:>10}",
    "{x}",
    "{0.obj}",
    "{0.gi_frame.f_back}",
    "{a.__init__.__globals__[sys]}",
    "%(a)s",
    "{0:{1}}",
    "{}",
    "{0.format}",
    "{0.__dict__}",
    "{.__class__}",
    "{0.__reduce_ex__}",
]

# Names that compile: the guards, not the compiler, must stop what they lead to.
PLAIN_ATTRS = st.sampled_from(
    [
        "append",
        "format",
        "format_map",
        "upper",
        "real",
        "items",
        "dumps",
        "loads",
        "obj",
        "mro",
        "register",
        "codecs",
        "decoder",
        "sys",
        "modules",
        "seed",
        "getcontext",
        "Formatter",
        "get_field",
        "vformat",
        "parse",
        "Template",
        "item_separator",
        "cssclasses",
        "partial",
        "reduce",
        "attrgetter",
        "send",
        "throw",
        "close",
        "with_traceback",
        "args",
        "add_note",
        "fromkeys",
        "setdefault",
        "default_factory",
    ]
)
NAMES = st.sampled_from(VARIABLES + MODULES + BUILTINS + HOOKS)
ATTRS = st.sampled_from(DANGEROUS_ATTRS)
IDENT = st.sampled_from(VARIABLES + HOOKS[:12])  # binding targets, including hook names


@st.composite
def name_strings(draw: st.DrawFn) -> str:
    """A string expression that evaluates to an attribute name, spelled one of many ways."""
    name = draw(st.sampled_from(DANGEROUS_ATTRS + HOOKS))
    return draw(st.sampled_from(list(spellings(name))))


def fullwidth(text: str) -> str:
    """NFKC-equivalent spelling: ASCII letters and '_' as their fullwidth forms."""
    return "".join(
        chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else ("\uff3f" if c == "_" else c)
        for c in text
    )


def spellings(name: str) -> tuple[str, ...]:
    half = max(1, len(name) // 2)
    return (
        repr(name),
        f"{name[:half]!r} + {name[half:]!r}",
        f"''.join({list(name)!r})",
        f"str({name!r})",
        f"{name.upper()!r}.lower()",
        f"{name!r}[::-1][::-1]",
        f"b{name!r}.decode()" if name.isascii() else repr(name),
        f"'%s' % {name!r}",
        f"S({name!r})",  # a str subclass (see STR_SUBCLASS)
        repr(fullwidth(name)),
        f"chr(95) * 2 + {name.strip('_')!r} + chr(95) * 2",
    )


STR_SUBCLASS = (
    "class S(str):\n"
    "    def __eq__(self, other):\n        return True\n"
    "    def __hash__(self):\n        return 0\n"
)


def _fstring(expr: str, suffix: str) -> str:
    # Python 3.11 f-strings cannot nest the same quote or hold a backslash: fall back to format.
    if any(mark in expr for mark in ('"', "\\", "f'", "{")):
        return f"format({expr})"
    return 'f"{' + expr + suffix + '}"'


def expressions() -> st.SearchStrategy[str]:
    base = st.one_of(
        NAMES,
        st.integers(-3, 300).map(str),
        st.sampled_from(FORMAT_STRINGS).map(repr),
        name_strings(),
        st.sampled_from(["None", "True", "[]", "{}", "()", "1.5", "'a'", "...", "b'x'"]),
        st.sampled_from(MODULES).flatmap(
            lambda m: st.sampled_from(MODULE_ATTRS.get(m, ["__name__"])).map(lambda a: f"{m}.{a}")
        ),
    )

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        two = st.tuples(children, children)
        return st.one_of(
            st.tuples(children, ATTRS).map(lambda t: f"({t[0]}).{t[1]}"),
            st.tuples(children, PLAIN_ATTRS).map(lambda t: f"({t[0]}).{t[1]}"),
            st.tuples(children, st.lists(children, max_size=3)).map(
                lambda t: f"{t[0]}({', '.join(t[1])})"
            ),
            st.tuples(children, name_strings()).map(lambda t: f"getattr({t[0]}, {t[1]})"),
            st.tuples(children, name_strings()).map(
                lambda t: f"operator.attrgetter({t[1]})({t[0]})"
            ),
            st.tuples(children, name_strings()).map(
                lambda t: f"functools.reduce(getattr, [{t[1]}], {t[0]})"
            ),
            st.tuples(children, name_strings()).map(
                lambda t: f"functools.partial(getattr, {t[0]})({t[1]})"
            ),
            two.map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(
                children, st.sampled_from(["+", "*", "%", "**", "<<", "|", "==", "@"]), children
            ).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(IDENT, children).map(lambda t: f"(lambda {t[0]}: {t[1]})"),
            st.tuples(IDENT, children).map(lambda t: f"(lambda {t[0]}, /: {t[1]})"),
            two.map(lambda t: f"[{t[0]} for x in {t[1]}]"),
            two.map(lambda t: f"({t[0]} for x in {t[1]})"),
            two.map(lambda t: f"{{{t[0]}: x for x in {t[1]}}}"),
            st.tuples(st.sampled_from(FORMAT_STRINGS), children).map(
                lambda t: f"{t[0]!r}.format({t[1]})"
            ),
            st.tuples(st.sampled_from(FORMAT_STRINGS), children).map(
                lambda t: f"{t[0]!r}.format_map({{'x': {t[1]}, 'a': {t[1]}}})"
            ),
            st.tuples(st.sampled_from(FORMAT_STRINGS), children).map(
                lambda t: f"str.format({t[0]!r}, {t[1]})"
            ),
            children.map(lambda c: _fstring(c, "!r")),
            children.map(lambda c: _fstring(c, ":{1}")),
            st.tuples(IDENT, children).map(lambda t: f"({t[0]} := {t[1]})"),
            st.tuples(children, children, children).map(
                lambda t: f"({t[0]} if {t[1]} else {t[2]})"
            ),
            two.map(lambda t: f"({t[0]}, {t[1]})"),
            children.map(lambda c: f"type({c})"),
            children.map(lambda c: f"vars({c})"),
            children.map(lambda c: f"next(iter({c}))"),
            children.map(lambda c: f"sorted([{c}], key=getattr)"),
            st.tuples(children, name_strings()).map(lambda t: f"hasattr({t[0]}, {t[1]})"),
        )

    return st.recursive(base, extend, max_leaves=8)


EXPR = expressions()


def _indent(block: str) -> str:
    return textwrap.indent(block, "    ")


@st.composite
def statements(draw: st.DrawFn, depth: int = 0) -> str:
    simple = [
        st.tuples(IDENT, EXPR).map(lambda t: f"{t[0]} = {t[1]}"),
        st.tuples(EXPR, ATTRS | PLAIN_ATTRS, EXPR).map(lambda t: f"({t[0]}).{t[1]} = {t[2]}"),
        st.tuples(EXPR, name_strings(), EXPR).map(lambda t: f"setattr({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(EXPR, EXPR, EXPR).map(lambda t: f"{t[0]}[{t[1]}] = {t[2]}"),
        EXPR.map(lambda e: f"print({e})"),
        EXPR,
        st.sampled_from(MODULES).map(lambda m: f"import {m}"),
        st.tuples(st.sampled_from(MODULES), IDENT).map(lambda t: f"import {t[0]} as {t[1]}"),
        st.sampled_from(MODULES).flatmap(
            lambda m: st.sampled_from(MODULE_ATTRS.get(m, ["__name__"]) + DANGEROUS_ATTRS).map(
                lambda a: f"from {m} import {a}"
            )
        ),
        st.sampled_from(
            [
                "import os",
                "import sys",
                "from . import x",
                "import json.decoder",
                "from json import decoder",
                "import importlib",
                "__import__('os')",
                "from os import path",
                "import builtins",
                "import _thread",
            ]
        ),
        st.tuples(IDENT, EXPR).map(lambda t: f"{t[0]} += {t[1]}"),
        IDENT.map(lambda name: f"del {name}"),
        st.tuples(EXPR, ATTRS | PLAIN_ATTRS).map(lambda t: f"del ({t[0]}).{t[1]}"),
        st.tuples(EXPR, EXPR).map(lambda t: f"del ({t[0]})[{t[1]}]"),
        EXPR.map(lambda e: f"raise {e}"),
        st.sampled_from(VARIABLES).map(lambda v: f"global {v}"),
    ]
    if depth >= 2:
        return draw(st.one_of(simple))
    body = st.lists(statements(depth + 1), min_size=1, max_size=3).map(
        lambda lines: _indent("\n".join(lines))
    )
    special = st.sampled_from(
        [
            "__init__",
            "__getattr__",
            "__getattribute__",
            "__format__",
            "__eq__",
            "__hash__",
            "__index__",
            "__iter__",
            "__class_getitem__",
            "__init_subclass__",
            "__set_name__",
            "__del__",
            "__reduce__",
            "__repr__",
            "__len__",
            "__enter__",
            "__exit__",
            "__missing__",
            "__instancecheck__",
            "__mro_entries__",
            "__get__",
        ]
    )
    bases = st.sampled_from(
        [
            "",
            "(object)",
            "(str)",
            "(int)",
            "(dict)",
            "(Exception)",
            "(type)",
            "(json.JSONEncoder)",
            "(string.Formatter)",
            "(S)",
            "(BaseException)",
            "(metaclass=type)",
            "(collections.UserString)",
        ]
    )
    compound = [
        st.tuples(IDENT, IDENT, body).map(lambda t: f"def {t[0]}({t[1]}):\n{t[2]}"),
        st.tuples(IDENT, IDENT, EXPR, body).map(
            lambda t: f"def f({t[0]}={t[2]}, /, *, {t[1]}=None):\n{t[3]}"
        ),
        st.tuples(IDENT, body).map(lambda t: f"def g({t[0]}=None):\n{t[1]}\n    yield {t[0]}"),
        st.tuples(bases, special, body).map(
            lambda t: (
                f"class C{t[0]}:\n    def {t[1]}(self, *args, **kwargs):\n"
                + _indent(t[2])
                + "\n        return self"
            )
        ),
        st.tuples(bases, IDENT, EXPR).map(lambda t: f"class C{t[0]}:\n    {t[1]} = {t[2]}"),
        st.tuples(body, body).map(
            lambda t: f"try:\n{t[0]}\nexcept Exception as e:\n    print(e)\nfinally:\n{t[1]}"
        ),
        st.tuples(body, IDENT).map(
            lambda t: f"try:\n{t[0]}\nexcept BaseException as {t[1]}:\n    print({t[1]})"
        ),
        st.tuples(IDENT, EXPR, body).map(lambda t: f"for {t[0]} in {t[1]}:\n{t[2]}"),
        st.tuples(EXPR, body).map(lambda t: f"n = 0\nwhile n < 3 and {t[0]}:\n    n += 1\n{t[1]}"),
        st.tuples(EXPR, IDENT, body).map(lambda t: f"with {t[0]} as {t[1]}:\n{t[2]}"),
        st.tuples(EXPR, IDENT, body).map(
            lambda t: (
                f"match {t[0]}:\n    case {{'a': {t[1]}}}:\n{_indent(t[2])}\n"
                f"    case [*{t[1]}]:\n        pass\n    case _:\n        pass"
            )
        ),
        st.tuples(EXPR, body).map(lambda t: f"@{t[0]}\ndef decorated():\n{t[1]}"),
        st.tuples(EXPR, body).map(lambda t: f"if {t[0]}:\n{t[1]}\nelse:\n    pass"),
    ]
    return draw(st.one_of(simple + compound))


@st.composite
def programs(draw: st.DrawFn) -> str:
    prelude = draw(
        st.sampled_from(["", "import operator, functools, string, collections\n", STR_SUBCLASS])
    )
    lines = draw(st.lists(statements(), min_size=1, max_size=5))
    return prelude + "\n".join(lines) + "\n"


# -- mutation of the escape suite ----------------------------------------------------------


class _Router(ast.NodeTransformer):
    """Reroute one attribute read (the n-th) through another spelling."""

    def __init__(self, target: int, route: str, new_attr: str | None) -> None:
        self.target, self.route, self.new_attr, self.seen = target, route, new_attr, 0

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            return node
        index, self.seen = self.seen, self.seen + 1
        if index != self.target:
            return node
        attr = self.new_attr or node.attr
        value = ast.unparse(node.value)
        routes = {
            "swap": f"({value}).{attr}",
            "getattr": f"getattr({value}, {attr!r})",
            "attrgetter": f"__import__('operator').attrgetter({attr!r})({value})"
            if False
            else f"operator.attrgetter({attr!r})({value})",
            "reduce": f"functools.reduce(getattr, [{attr!r}], {value})",
            "partial": f"functools.partial(getattr, {value})({attr!r})",
            "format": f"'{{0.{attr}}}'.format({value})",
            "format_map": f"'{{x.{attr}}}'.format_map({{'x': {value}}})",
            "lambda": f"(lambda o: o.{attr})({value})",
            "comprehension": f"[o.{attr} for o in [{value}]][0]",
            "dict": f"vars({value})[{attr!r}]",
            "object": f"object.__getattribute__({value}, {attr!r})",
            "map": f"list(map(lambda o: getattr(o, {attr!r}), [{value}]))[0]",
            "sorted": f"sorted([{attr!r}], key=functools.partial(getattr, {value}))",
            "methodcaller": f"operator.methodcaller('__getattribute__', {attr!r})({value})",
        }
        return ast.parse(routes[self.route], mode="eval").body


ROUTES = [
    "swap",
    "getattr",
    "attrgetter",
    "reduce",
    "partial",
    "format",
    "format_map",
    "lambda",
    "comprehension",
    "dict",
    "object",
    "map",
    "sorted",
    "methodcaller",
]

WRAPPERS = {
    "function": lambda src: f"def wrapped():\n{_indent(src)}\nwrapped()",
    "generator": lambda src: f"def wrapped():\n{_indent(src)}\n    yield 1\nlist(wrapped())",
    "comprehension": lambda src: f"def wrapped():\n{_indent(src)}\n[wrapped() for _ in [0]]",
    "lambda": lambda src: f"def wrapped():\n{_indent(src)}\n(lambda: wrapped())()",
    "class_body": lambda src: f"class Wrapped:\n{_indent(src)}",
    "method": lambda src: f"class W:\n    def m(self):\n{_indent(_indent(src))}\nW().m()",
    "try": lambda src: f"try:\n{_indent(src)}\nexcept Exception as caught:\n    print(caught)",
    "finally": lambda src: f"try:\n    pass\nfinally:\n{_indent(src)}",
    "decorator": lambda src: f"@(lambda fn: fn())\ndef wrapped():\n{_indent(src)}",
    "match": lambda src: f"match 1:\n    case 1:\n{_indent(_indent(src))}",
    "with": lambda src: (
        "class CM:\n    def __enter__(self):\n        return self\n"
        "    def __exit__(self, *a):\n        return True\n"
        f"with CM():\n{_indent(src)}"
    ),
    "map": lambda src: f"def wrapped(_):\n{_indent(src)}\nlist(map(wrapped, [0]))",
    "sorted_key": lambda src: (
        f"def wrapped(_):\n{_indent(src)}\n    return 0\nsorted([1, 2], key=wrapped)"
    ),
    "default_arg": lambda src: (
        f"def wrapped():\n{_indent(src)}\ndef h(v=wrapped()):\n    return v\nh()"
    ),
}


def _string_constants(tree: ast.AST) -> list[ast.Constant]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value
    ]


class _Respell(ast.NodeTransformer):
    def __init__(self, target: ast.Constant, replacement: str) -> None:
        self.target, self.replacement = target, replacement

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if node is self.target:
            return ast.parse(self.replacement, mode="eval").body
        return node


def _identifiers(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return sorted(n for n in names if not keyword.iskeyword(n))


@st.composite
def mutated_attacks(draw: st.DrawFn) -> str:
    source = draw(st.sampled_from(attack_snippets()))
    steps = draw(
        st.lists(st.sampled_from(["route", "respell", "nfkc", "wrap", "swap_string"]), max_size=3)
    )
    for step in steps:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            break
        if step == "route":
            count = sum(
                1
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)
            )
            if not count:
                continue
            route = draw(st.sampled_from(ROUTES))
            new_attr = draw(st.none() | ATTRS)
            tree = _Router(draw(st.integers(0, count - 1)), route, new_attr).visit(tree)
            source = ast.unparse(ast.fix_missing_locations(tree))
        elif step in ("respell", "swap_string"):
            constants = _string_constants(tree)
            if not constants:
                continue
            target = draw(st.sampled_from(constants))
            value = target.value if step == "respell" else draw(ATTRS)
            replacement = draw(st.sampled_from(list(spellings(value))))
            try:
                tree = _Respell(target, replacement).visit(tree)
            except SyntaxError:  # a spelling that cannot hold this value
                continue
            source = ast.unparse(ast.fix_missing_locations(tree))
        elif step == "nfkc":
            names = _identifiers(source)
            if not names:
                continue
            name = draw(st.sampled_from(names))
            source = source.replace(name, fullwidth(name), draw(st.integers(1, 3)))
        else:
            wrapper = draw(st.sampled_from(sorted(WRAPPERS)))
            source = WRAPPERS[wrapper](source)
    prelude = (
        "import operator, functools, string\n"
        if "operator." in source or "functools." in source
        else ""
    )
    if "S(" in source:
        prelude += STR_SUBCLASS
    return prelude + source


def hypothesmith_programs() -> st.SearchStrategy[str] | None:
    try:
        import hypothesmith
    except ImportError:
        return None
    return hypothesmith.from_node()
