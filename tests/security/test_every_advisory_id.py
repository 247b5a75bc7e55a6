"""The remaining published techniques, one claim-named test (at least) per advisory id.

``test_advisories.py`` replays several advisories in inline mode. This file closes the gaps of
issue 5: every listed id has a test here named after it, each advisory is also replayed once in
the default process isolation, and the techniques of the ids ``test_advisories.py`` does not
name (CVE-2024-47532's ``string`` half, CVE-2026-76825, CVE-2021-32807, CVE-2021-32633, the
8.5 and 9.0 fixes) are spelled out. Sources (read during the audit):

- RestrictedPython CHANGES (in the installed 9.0 distribution's metadata): 7.0 CVE-2023-37271
  (restricted-Python-internals attributes, GHSA-wqc8-x2pr-7jqh) and CVE-2023-41039 (format,
  GHSA-xjw2-6jm9-rf67); 7.3 CVE-2024-47532 ("information leakage via AttributeError.obj and
  the string module"); 8.0 CVE-2025-22153 (try/except*); 8.3 positional-only parameter names
  (CVE-2026-55830, GHSA-ffg3-p8fm-mjx2); 8.4 CVE-2026-76825 (``string.Formatter`` and its
  traversal methods reachable via ``safer_getattr``); 8.5 (lazy imports, PEP 810; unpacking in
  comprehensions, PEP 798; ``ag_await``/``ag_frame``/``ag_code``); 9.0 (``bytes``, ``sorted``,
  ``tuple``, ``zip``, ``reversed`` iterate in C past ``_getiter_``; an ``__import__`` hands the
  boundary to the application's import policy).
- Zope AccessControl: CVE-2021-32807 (PYSEC-2021-875: restricted code may use the ``string``
  module, whose ``Formatter`` can be subclassed/overridden to reach unsafe libraries; fixed in
  4.3/5.2 by denying ``string.Formatter``); CVE-2023-41050 (GHSA-8xv7-89vj-q48c:
  ``str.format_map`` still unsafe). Zope CVE-2021-32633 (GHSA-5pr9-v234-jw36: untrusted modules
  reached indirectly through modules that are allowed, e.g. by traversal). Also found while
  looking: AccessControl CVE-2026-77401 (GHSA-pq59-9fq7-m886: ``format``/``format_map`` on
  *subclasses* of ``str``), which ``test_advisories.py`` covers under its own id.
"""

from __future__ import annotations

import pytest
from rx_sec import assert_no_leak, assert_ok, assert_policy_violation, assert_refused, run

import restricted_exec
from restricted_exec import ExecutionResult, Policy

PROCESS = Policy(timeout_s=5, memory_mb=128)


def run_process(code: str) -> ExecutionResult:
    """The default isolation: a fresh locked-down child."""
    return restricted_exec.run(code, policy=PROCESS)


def _both(code: str) -> list[ExecutionResult]:
    return [run(code), run_process(code)]


# -- CVE-2023-37271: internals attributes (generator/frame/code) -------------------------------

CVE_2023_37271 = {
    "gi_frame_literal": "g = (x for x in [1])\nprint(g.gi_frame.f_globals)",
    "gi_frame_str_subclass_name": (
        "class S(str):\n    pass\ng = (x for x in [1])\nprint(getattr(g, S('gi_frame')))"
    ),
    "gi_code_consts": "def f():\n    yield 1\nprint(getattr(f(), 'gi_code').co_consts)",
    "f_back_through_traceback": (
        "try:\n    1/0\nexcept Exception as e:\n    print(getattr(e, '__traceback__'))"
    ),
    "gi_frame_through_format": 'g = (x for x in [1])\nprint("{0.gi_frame}".format(g))',
}


@pytest.mark.parametrize("source", CVE_2023_37271.values(), ids=CVE_2023_37271.keys())
def test_cve_2023_37271_internals_attributes_are_refused_inline_and_in_process(
    source: str,
) -> None:
    for result in _both(source):
        assert_refused(result)


# -- CVE-2023-41039: format follows attribute paths in C ----------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        'print("{0.__class__.__base__}".format(1))',
        'print(format(1, "{0.__class__}"))',
        'print("{0.__globals__}".format(json.dumps))',
    ],
)
def test_cve_2023_41039_format_traversal_is_refused_in_process_mode(source: str) -> None:
    assert_refused(run_process(source))


# -- CVE-2024-47532: AttributeError.obj and the string module -----------------------------------

CVE_2024_47532_OBJ = {
    "attrgetter": (
        "import operator\ntry:\n    json.codecs\nexcept AttributeError as e:\n"
        "    print(operator.attrgetter('obj')(e))"
    ),
    "format_field": (
        'try:\n    json.codecs\nexcept AttributeError as e:\n    print("{0.obj}".format(e))'
    ),
    "vars": "try:\n    json.codecs\nexcept AttributeError as e:\n    print(vars(e))",
    "reduce_getattr": (
        "import functools\ntry:\n    (1).nope\nexcept AttributeError as e:\n"
        "    print(functools.reduce(getattr, ['obj'], e))"
    ),
}


@pytest.mark.parametrize("source", CVE_2024_47532_OBJ.values(), ids=CVE_2024_47532_OBJ.keys())
def test_cve_2024_47532_attribute_error_obj_is_refused_by_any_route(source: str) -> None:
    assert_refused(run(source))


CVE_2024_47532_STRING = {
    "from_import_formatter": "from string import Formatter",
    "attribute_formatter": "import string\nprint(string.Formatter)",
    "private_re": "import string\nprint(string._re)",
    "private_string_module": "import string\nprint(string._string)",
    "computed_formatter": "import string\nprint(getattr(string, 'Form' + 'atter'))",
}


@pytest.mark.parametrize("source", CVE_2024_47532_STRING.values(), ids=CVE_2024_47532_STRING.keys())
def test_cve_2024_47532_string_module_leaks_nothing(source: str) -> None:
    for result in _both(source):
        assert_refused(result)


def test_cve_2024_47532_string_module_keeps_its_plain_helpers() -> None:
    source = (
        "import string\n"
        "print(string.capwords('ab cd'), string.ascii_lowercase[:3])\n"
        "print(string.Template('$a-${b}').substitute(a=1, b='x'))"
    )
    assert assert_ok(run(source)).stdout == "Ab Cd abc\n1-x\n"


# -- CVE-2025-22153: try/except* ----------------------------------------------------------------


def test_cve_2025_22153_except_star_is_refused_in_process_mode() -> None:
    result = run_process("try:\n    pass\nexcept* ValueError as eg:\n    print(eg)")
    assert_policy_violation(result)


def test_cve_2025_22153_exception_group_builtin_is_absent() -> None:
    assert_policy_violation(run("print(ExceptionGroup)"), match="ExceptionGroup")


# -- CVE-2026-55830 (GHSA-ffg3-p8fm-mjx2): positional-only parameters shadow hooks -------------

HOOKS = ["_getattr_", "_write_", "_getitem_", "_print_", "_inplacevar_", "_private_", "_special_"]


@pytest.mark.parametrize("hook", HOOKS)
def test_cve_2026_55830_positional_only_hook_shadowing_is_refused_in_process_mode(
    hook: str,
) -> None:
    source = (
        f"def poison({hook}=lambda *a: a[0], /):\n"
        "    json.dumps = print\n"
        "    return json.codecs\n"
        "poison()"
    )
    assert_policy_violation(run_process(source), match=hook)
    after = run_process("print(json.dumps([1]))")
    assert (after.status, after.stdout) == ("ok", "[1]\n")


@pytest.mark.parametrize(
    "source",
    [
        "class C:\n    def m(self, _write_=None, /):\n        json.dumps = print\nC().m()",
        "f = lambda x, _getattr_=getattr, /: x.codecs\nf(json)",
        (
            "def outer():\n    def inner(_getitem_, /, b):\n        return b\n"
            "    return inner\nouter()"
        ),
        "def f(a, _print_=print, /, *args, **kwargs):\n    pass",
    ],
    ids=["method", "lambda_default", "nested", "mixed_with_star_args"],
)
def test_cve_2026_55830_positional_only_shadowing_in_every_function_form(source: str) -> None:
    assert_policy_violation(run(source))


# -- CVE-2026-76825: string.Formatter and its traversal methods via getattr --------------------

CVE_2026_76825 = {
    "getattr_formatter": "import string\nF = getattr(string, 'Formatter')",
    "attrgetter_formatter": (
        "import operator, string\nF = operator.attrgetter('Formatter')(string)"
    ),
    "reduce_getattr": (
        "import functools, string\n"
        "print(functools.reduce(getattr, ['Formatter', 'get_field'], string))"
    ),
    "partial_getattr": (
        "import functools, string\nprint(functools.partial(getattr, string)('Formatter'))"
    ),
    "str_subclass_name": (
        "import string\nclass S(str):\n    pass\nprint(getattr(string, S('Formatter')))"
    ),
    "vars_of_the_module": "import string\nprint(vars(string)['Formatter'])",
    "alias_import": (
        "from string import Formatter as F\nprint(F().vformat('{0.__class__}', (1,), {}))"
    ),
}


@pytest.mark.parametrize("source", CVE_2026_76825.values(), ids=CVE_2026_76825.keys())
def test_cve_2026_76825_string_formatter_is_unreachable_through_getattr(source: str) -> None:
    for result in _both(source):
        assert_refused(result)


def test_cve_2026_76825_hasattr_does_not_reveal_string_formatter() -> None:
    source = (
        "import string\nprint(hasattr(string, 'Formatter'))\n"
        "if hasattr(string, 'Formatter'):\n    print(getattr(string, 'Formatter'))"
    )
    assert assert_ok(run(source)).stdout == "False\n"


# -- RestrictedPython 8.5: lazy imports, comprehension unpacking, async generator internals -----


@pytest.mark.parametrize(
    "source",
    ["lazy import os", "lazy from os import system", "lazy import json as j"],
)
def test_restricted_python_8_5_lazy_imports_are_not_accepted(source: str) -> None:
    # PEP 810 syntax does not exist on the supported interpreters: a syntax error, nothing runs.
    result = run(f'print("ran")\n{source}')
    assert_no_leak(result)
    assert result.status == "syntax_error"
    assert result.stdout == ""


@pytest.mark.parametrize(
    "source",
    ["x = [[1]]\nprint([*y for y in x])", "x = [[1]]\nprint({*y for y in x})"],
    ids=["list", "set"],
)
def test_restricted_python_8_5_comprehension_unpacking_is_not_accepted(source: str) -> None:
    result = run(source)
    assert_no_leak(result)
    assert result.status == "syntax_error"


@pytest.mark.parametrize("name", ["ag_await", "ag_frame", "ag_code", "ag_running"])
def test_restricted_python_8_5_async_generator_internals_are_refused(name: str) -> None:
    assert_refused(run(f"g = (x for x in [1])\nprint(getattr(g, {name!r}))"))
    assert_refused(run(f"g = (x for x in [1])\nprint(g.{name})"))


def test_restricted_python_8_5_async_generators_cannot_be_made() -> None:
    assert_policy_violation(run("async def g():\n    yield 1\nprint(g().ag_frame)"))


# -- RestrictedPython 9.0: C-iterating builtins; __import__ is the import policy ---------------


def test_restricted_python_9_c_iterating_builtins_see_only_what_iter_sees_in_process_mode() -> None:
    source = (
        "def gen():\n    yield json\n    yield 1\n"
        "print([type(v).__name__ for v in tuple(gen())], sorted([3, 1]), list(zip('ab', 'cd')))"
    )
    result = run_process(source)
    assert_ok(result)
    assert result.stdout == "['module', 'int'] [1, 3] [('a', 'c'), ('b', 'd')]\n"


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "getattr(json, '__import__')('os')",
        "import os",
        "import json.decoder",
        "from json import codecs",
        "import importlib",
        "from . import json",
    ],
)
def test_restricted_python_9_import_policy_is_the_catalogue(source: str) -> None:
    assert_refused(run_process(source))


# -- Zope AccessControl CVE-2021-32807: subclassing/overriding string.Formatter -----------------

CVE_2021_32807 = {
    "subclass_get_field": (
        "import string\n"
        "class F(string.Formatter):\n"
        "    def get_field(self, name, args, kwargs):\n"
        "        return super().get_field(name, args, kwargs)\n"
        "print(F().format('{0.__class__.__mro__}', 1))"
    ),
    "subclass_get_value": (
        "import string\n"
        "class F(string.Formatter):\n"
        "    def get_value(self, key, args, kwargs):\n"
        "        return json\n"
        "print(F().format('{x.codecs}'))"
    ),
    "subclass_by_computed_base": (
        "import string\nB = getattr(string, 'Formatter')\nclass F(B):\n    pass\nprint(F())"
    ),
    "overriding_on_the_class": ("import string\nstring.Formatter.get_field = lambda *a: (json, 0)"),
}


@pytest.mark.parametrize("source", CVE_2021_32807.values(), ids=CVE_2021_32807.keys())
def test_cve_2021_32807_string_formatter_cannot_be_subclassed_or_overridden(source: str) -> None:
    for result in _both(source):
        assert_refused(result)


# -- Zope CVE-2021-32633: untrusted modules reached through allowed ones -----------------------

CVE_2021_32633 = {
    "json_codecs": "print(json.codecs)",
    "json_decoder_re": "print(json.decoder.re)",
    "datetime_sys": "print(datetime.sys)",
    "random_os": "import random\nprint(random._os)",
    "string_re": "import string\nprint(string._re)",
    "re_functools": "import re\nprint(re.functools)",
    "collections_sys": "import collections\nprint(collections._sys)",
    "dataclasses_sys": "import dataclasses\nprint(dataclasses.sys)",
    "enum_sys": "import enum\nprint(enum.sys)",
    "typing_sys": "import typing\nprint(typing.sys)",
    "calendar_sys": "import calendar\nprint(calendar.sys)",
    "statistics_math_module": "import statistics\nprint(statistics.sys)",
    "computed_traversal": (
        "m = json\nfor name in ['decoder', 're', 'enum', 'sys']:\n    m = getattr(m, name)"
    ),
    "item_traversal": "print(vars(json)['codecs'])",
    "dict_traversal": "print(json.__dict__['codecs'])",
    "format_traversal": 'print("{0.decoder.re}".format(json))',
}


@pytest.mark.parametrize("source", CVE_2021_32633.values(), ids=CVE_2021_32633.keys())
def test_cve_2021_32633_untrusted_modules_are_unreachable_through_allowed_ones(
    source: str,
) -> None:
    assert_refused(run(source))


def test_cve_2021_32633_traversal_is_refused_in_process_mode() -> None:
    for source in ("print(json.decoder.re)", "import random\nprint(random._os)"):
        assert_refused(run_process(source))


# -- Zope AccessControl CVE-2023-41050: str.format_map -------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        'print("{x.__class__}".format_map({"x": 1}))',
        'print("{x.decoder}".format_map({"x": json}))',
        'print(str.format_map("{x[0].__class__}", {"x": [1]}))',
        "class M(dict):\n    def __missing__(self, k):\n        return json\n"
        'print("{x.codecs}".format_map(M()))',
    ],
    ids=["attribute", "module_attribute", "unbound_index_then_attribute", "missing_mapping"],
)
def test_cve_2023_41050_format_map_traversal_is_refused_in_process_mode(source: str) -> None:
    assert_refused(run_process(source))


# -- AccessControl CVE-2026-77401: format/format_map on str subclasses -------------------------


@pytest.mark.parametrize(
    "source",
    [
        'class S(str):\n    pass\nprint(S("{0.__class__}").format(1))',
        'class S(str):\n    pass\nprint(S("{x.codecs}").format_map({"x": json}))',
        "class S(str):\n    def format(self, *a):\n        return str.format(self, *a)\n"
        'print(S("{0.__globals__}").format(json.dumps))',
    ],
    ids=["format", "format_map", "overridden_format"],
)
def test_cve_2026_77401_str_subclass_format_traversal_is_refused(source: str) -> None:
    for result in _both(source):
        assert_refused(result)
