"""A program cannot bind the names the compiled code relies on.

The compiler emits calls to ``_getattr_``, ``_write_``, ``_getiter_``,
``_private_``, ``_special_``, ``_rx_value_``, ``_rx_check_`` and
``__metaclass__``; rebinding any of them in some scope (a class body, a
positional-only parameter: GHSA-ffg3-p8fm-mjx2, fixed in RestrictedPython 8.3)
would turn the guard off there. ``print`` is reserved too.
"""

from __future__ import annotations

import pytest
from rx_sec import assert_policy_violation, run

from restricted_exec import InputError

HOOKS = [
    "_getattr_",
    "_write_",
    "_getiter_",
    "_private_",
    "_special_",
    "_rx_value_",
    "_rx_check_",
    "__metaclass__",
    "_getitem_",
    "_inplacevar_",
    "_rx_math__sqrt",
    "_rx_math__sqrt_",
    "__builtins__",
    "print",
]

FORMS = {
    "assignment": "{n} = 1",
    "augmented": "{n} += 1",
    "annotated": "{n}: int = 1",
    "tuple_target": "a, {n} = 1, 2",
    "starred_target": "a, *{n} = 1, 2",
    "parameter": "def f({n}):\n    pass",
    "positional_only": "def f({n}, /):\n    pass",
    "keyword_only": "def f(*, {n}):\n    pass",
    "varargs": "def f(*{n}):\n    pass",
    "kwargs": "def f(**{n}):\n    pass",
    "default_parameter_in_nested": "def g():\n    def f({n}=None, /):\n        pass",
    "lambda": "f = lambda {n}: 0",
    "lambda_positional_only": "f = lambda {n}, /: 0",
    "walrus": "print(({n} := 1))",
    "for_target": "for {n} in []:\n    pass",
    "comprehension": "x = [0 for {n} in []]",
    "dict_comprehension": "x = {{0: 0 for {n} in []}}",
    "generator_expression": "x = list(0 for {n} in [])",
    "except_as": "try:\n    pass\nexcept Exception as {n}:\n    pass",
    "import_as": "import math as {n}",
    "from_import_as": "from math import pi as {n}",
    "with_as": "class C:\n    pass\nwith C() as {n}:\n    pass",
    "match_capture": "match 1:\n    case {n}:\n        pass",
    "match_as": "match 1:\n    case 1 as {n}:\n        pass",
    "match_star": "match [1]:\n    case [*{n}]:\n        pass",
    "match_mapping_rest": "match {{}}:\n    case {{**{n}}}:\n        pass",
    "global": "def f():\n    global {n}",
    "nonlocal": "def f():\n    x = 1\n    def g():\n        nonlocal {n}",
    "class_body": "class C:\n    {n} = staticmethod(lambda *a: a[0])",
    "function_name": "def {n}():\n    pass",
    "class_name": "class {n}:\n    pass",
    "decorated_function_name": "@staticmethod\ndef {n}():\n    pass",
    "decorator_reference": "@{n}\ndef f():\n    pass",
    "delete": "del {n}",
    "read": "x = {n}",
}


def _applies(name: str, form: str) -> bool:
    # Reading print or __builtins__... print is an ordinary builtin to call.
    return not (name == "print" and form in ("read", "decorator_reference"))


CASES = [(n, f) for n in HOOKS for f in FORMS if _applies(n, f)]


@pytest.mark.parametrize("name, form", CASES, ids=[f"{n}-{f}" for n, f in CASES])
def test_cannot_bind_guard_hook(name: str, form: str) -> None:
    source = FORMS[form].format(n=name)
    result = run(f'print("before")\n{source}\n')
    assert_policy_violation(result)


def test_shadowed_write_hook_in_positional_only_parameter_cannot_poison_json() -> None:
    source = "def f(_write_=lambda o: o, /):\n    json.dumps = lambda *a: 'poisoned'\nf()\n"
    assert_policy_violation(run(source))
    assert run("print(json.dumps(1))").stdout == "1\n"


def test_class_body_cannot_replace_the_write_hook() -> None:
    source = "class C:\n    _write_ = lambda o: o\n    json.JSONEncoder.item_separator = '!'\n"
    assert_policy_violation(run(source))


@pytest.mark.parametrize("name", ["_getattr_", "_write_", "__metaclass__", "_rx_value_", "_x"])
def test_inputs_cannot_bind_hooks(name: str) -> None:
    import restricted_exec
    from restricted_exec import Policy

    with pytest.raises(InputError, match="may not start with"):
        restricted_exec.run("print(1)", inputs={name: 1}, policy=Policy(isolation="inline"))


def test_a_program_defined_metaclass_keyword_is_refused() -> None:
    result = run("class M:\n    pass\nclass C(metaclass=M):\n    pass")
    assert_policy_violation(result, match="metaclass")
