"""Dunder attributes: denied through every way a program can name an attribute.

Written ``a.__x__`` is refused by the compiler; computed names go through
``getattr``/``hasattr``/``setattr``, ``operator.attrgetter``/``methodcaller``,
``functools.partial``/``reduce`` and higher-order builtins, which must apply
the same rule at run time.
"""

from __future__ import annotations

import pytest
from rx_sec import assert_no_leak, assert_policy_violation, assert_refused, run

DUNDERS = [
    "__class__",
    "__subclasses__",
    "__globals__",
    "__dict__",
    "__code__",
    "__traceback__",
    "__builtins__",
    "__bases__",
    "__base__",
    "__mro__",
    "__getattribute__",
    "__reduce_ex__",
    "__reduce__",
    "__closure__",
    "__func__",
    "__self__",
    "__wrapped__",
    "__defaults__",
    "__kwdefaults__",
    "__loader__",
    "__spec__",
    "__setattr__",
    "__delattr__",
    "__init_subclass__",
    "__subclasshook__",
    "__getstate__",
    "__annotations__",
    "__objclass__",
    "__weakref__",
]

SUBJECTS = {
    "int": "(1)",
    "own_function": "f",
    "module_function": "json.dumps",
    "module_proxy": "json",
}

PRELUDE = "def f():\n    pass\n"


@pytest.mark.parametrize("name", DUNDERS, ids=DUNDERS)
@pytest.mark.parametrize("subject", list(SUBJECTS.values()), ids=list(SUBJECTS))
def test_cannot_read_dunder_with_attribute_syntax(subject: str, name: str) -> None:
    result = run(f"{PRELUDE}print('ran')\nx = {subject}.{name}\nprint(x)\n")
    assert_policy_violation(result, match=name)


@pytest.mark.parametrize("name", DUNDERS, ids=DUNDERS)
def test_cannot_read_dunder_with_computed_getattr(name: str) -> None:
    half = len(name) // 2
    source = f"{PRELUDE}n = {name[:half]!r} + {name[half:]!r}\nprint(getattr(json.dumps, n))\n"
    assert_refused(run(source), match=name)


@pytest.mark.parametrize("name", DUNDERS, ids=DUNDERS)
def test_cannot_read_dunder_with_getattr_default(name: str) -> None:
    source = f"n = {name[:3]!r} + {name[3:]!r}\nprint(getattr(json.dumps, n, 'absent'))\n"
    assert_refused(run(source), match=name)


@pytest.mark.parametrize("name", ["__class__", "__globals__", "__dict__"], ids=str)
def test_hasattr_reports_denied_dunders_as_missing(name: str) -> None:
    result = run(f"n = {name[:3]!r} + {name[3:]!r}\nprint(hasattr(json.dumps, n))\n")
    assert_no_leak(result)
    assert result.stdout == "False\n"


@pytest.mark.parametrize("name", ["__class__", "__init__", "__dict__", "__call__"], ids=str)
def test_cannot_set_dunder_with_setattr(name: str) -> None:
    source = f"class C:\n    pass\nn = {name[:3]!r} + {name[3:]!r}\nsetattr(C, n, 1)\nprint(C)"
    assert_refused(run(source), match=name)


def test_cannot_delete_dunder_with_delattr() -> None:
    source = 'class C:\n    pass\nn = "__q" + "ualname__"\ndelattr(C, n)\nprint("deleted")'
    assert_refused(run(source), match="__qualname__")


LYING_STR = """
class N(str):
    def __eq__(self, other):
        return False
    def __hash__(self):
        return 0
    def startswith(self, *a):
        return False
    def endswith(self, *a):
        return False
    def __str__(self):
        return "real"
"""


@pytest.mark.parametrize("name", ["__class__", "__globals__", "gi_frame"], ids=str)
@pytest.mark.parametrize(
    "call",
    ["getattr(json.dumps, n)", "hasattr(json.dumps, n) and getattr(json.dumps, n)"],
    ids=["getattr", "hasattr_then_getattr"],
)
def test_cannot_read_dunder_with_a_lying_str_subclass(call: str, name: str) -> None:
    result = run(f"{LYING_STR}\nn = N({name!r})\nprint({call})\n")
    assert_no_leak(result)
    assert result.status == "error" or result.stdout == "False\n", result


def test_cannot_set_dunder_with_a_lying_str_subclass() -> None:
    source = f"{LYING_STR}\nclass C:\n    pass\nsetattr(C, N('__init__'), 1)\nprint('set')"
    assert_refused(run(source), match="__init__")


OPERATOR_FORMS = {
    "attrgetter": 'import operator\nprint(operator.attrgetter("__class__")(1))',
    "attrgetter_dotted": 'import operator\nprint(operator.attrgetter("real.__class__")(1))',
    "attrgetter_globals": 'import operator\nprint(operator.attrgetter("__globals__")(json.dumps))',
    "attrgetter_frame": (
        'import operator\ndef g():\n    yield 1\nprint(operator.attrgetter("gi_frame")(g()))'
    ),
    "attrgetter_private": 'import random\nimport operator\nprint(operator.attrgetter("_os")(json))',
    "attrgetter_str_subclass": (
        'import operator\nclass N(str):\n    pass\nprint(operator.attrgetter(N("__class__"))(1))'
    ),
    "methodcaller": 'import operator\nprint(operator.methodcaller("__reduce_ex__", 2)(1))',
    "methodcaller_subclasses": (
        'import operator\nprint(operator.methodcaller("__subclasses__")(object))'
    ),
    "methodcaller_getattribute": (
        'import operator\nprint(operator.methodcaller("__getattribute__", "__class__")(1))'
    ),
    "partial_getattr": 'import functools\nprint(functools.partial(getattr, 1)("__class__"))',
    "reduce_getattr": (
        'import functools\nprint(functools.reduce(getattr, ["__class__", "__mro__"], 1))'
    ),
    "map_getattr": 'print(list(map(getattr, [json.dumps], ["__globals__"])))',
    "filter_getattr": ('print(list(filter(lambda n: getattr(json.dumps, n), ["__globals__"])))'),
    "sorted_key_getattr": (
        'import functools\nprint(sorted(["__globals__"], key=functools.partial(getattr, json.dumps)))'  # noqa: E501
    ),
    "max_key_getattr": 'print(max(["__code__"], key=lambda n: getattr(json.dumps, n)))',
    "getattr_of_getattr": 'print(getattr(getattr, "__self__"))',
    "match_class_pattern": "match 1:\n    case int(__class__=c):\n        print(c)",
    "fstring": 'print(f"{(1).__class__}")',
    "fstring_nested_spec": 'print(f"{1:{(1).__class__}}")',
    "object_getattribute": 'print(object.__getattribute__(1, "__class__"))',
    "super_getattribute": (
        "class C:\n    def m(self):\n        return super().__getattribute__('__class__')\n"
        "print(C().m())"
    ),
}


@pytest.mark.parametrize("source", list(OPERATOR_FORMS.values()), ids=list(OPERATOR_FORMS))
def test_cannot_read_dunder_through_higher_order_functions(source: str) -> None:
    assert_refused(run(source))


DEFINITIONS = [
    "__getattribute__",
    "__getattr__",
    "__set_name__",
    "__init_subclass__",
    "__class_getitem__",
    "__reduce__",
    "__reduce_ex__",
    "__del__",
    "__deepcopy__",
    "__instancecheck__",
    "__subclasscheck__",
    "__mro_entries__",
    "__prepare__",
]


@pytest.mark.parametrize("name", DEFINITIONS, ids=DEFINITIONS)
def test_cannot_define_unreviewed_special_methods(name: str) -> None:
    result = run(f"class C:\n    def {name}(self, *a):\n        return 1\nprint(C)")
    assert_policy_violation(result, match=name)


@pytest.mark.parametrize("name", ["__class__", "__dict__", "__slots__", "__match_args__"], ids=str)
def test_cannot_bind_dunder_names_in_a_class_body(name: str) -> None:
    assert_policy_violation(run(f"class C:\n    {name} = ()\nprint(C)"), match=name)


def test_readable_dunders_still_work() -> None:
    source = (
        "try:\n    1/0\nexcept ZeroDivisionError as e:\n"
        "    print(type(e).__name__, type(e).__qualname__, e.__cause__, e.__context__)"
    )
    result = run(source)
    assert_no_leak(result)
    assert result.stdout == "ZeroDivisionError ZeroDivisionError None None\n"
