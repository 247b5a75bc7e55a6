"""Catalogue modules lead nowhere else: no submodule, no sys/os, no shared state.

Each proxy carries exactly the catalogue's allowlist; every other attribute,
written or computed, fails with the catalogue's reason and references nothing
behind the proxy. Proxies are read-only and cannot be re-pointed.
"""

from __future__ import annotations

import random

import pytest
from rx_sec import assert_no_leak, assert_ok, assert_refused, run

WALKS = {
    "json_codecs": ("json", "codecs"),
    "json_codecs_sys": ("json", "codecs.sys.modules"),
    "json_decoder": ("json", "decoder"),
    "json_decoder_re": ("json", "decoder.re"),
    "json_encoder": ("json", "encoder"),
    "json_scanner": ("json", "scanner"),
    "datetime_sys": ("datetime", "sys"),
    "datetime_capi": ("datetime", "datetime_CAPI"),
    "random_os": ("random", "_os"),
    "random_inst": ("random", "_inst"),
    "random_urandom": ("random", "_urandom"),
    "statistics_sys": ("statistics", "sys"),
    "statistics_random": ("statistics", "random"),
    "statistics_math": ("statistics", "math"),
    "re_enum": ("re", "enum"),
    "re_functools": ("re", "functools"),
    "re_copyreg": ("re", "copyreg"),
    "re_compiler": ("re", "_compiler"),
    "re_cache": ("re", "_cache"),
    "collections_abc": ("collections", "abc"),
    "collections_sys": ("collections", "_sys"),
    "calendar_datetime": ("calendar", "datetime"),
    "calendar_sys": ("calendar", "sys"),
    "calendar_mdays": ("calendar", "mdays"),
    "calendar_c": ("calendar", "c"),
    "calendar_setfirstweekday": ("calendar", "setfirstweekday"),
    "calendar_prmonth": ("calendar", "prmonth"),
    "typing_sys": ("typing", "sys"),
    "typing_get_type_hints": ("typing", "get_type_hints"),
    "typing_forwardref": ("typing", "ForwardRef"),
    "typing_type": ("typing", "Type"),
    "typing_no_type_check": ("typing", "no_type_check"),
    "functools_singledispatch": ("functools", "singledispatch"),
    "functools_singledispatchmethod": ("functools", "singledispatchmethod"),
    "functools_rlock": ("functools", "RLock"),
    "dataclasses_make_dataclass": ("dataclasses", "make_dataclass"),
    "dataclasses_sys": ("dataclasses", "sys"),
    "enum_enummeta": ("enum", "EnumMeta"),
    "enum_enumtype": ("enum", "EnumType"),
    "enum_global_enum": ("enum", "global_enum"),
    "enum_sys": ("enum", "sys"),
    "string_formatter": ("string", "Formatter"),
    "string_re": ("string", "_re"),
    "time_tzset": ("time", "tzset"),
    "decimal_defaultcontext": ("decimal", "DefaultContext"),
    "decimal_basiccontext": ("decimal", "BasicContext"),
    "decimal_sys": ("decimal", "sys"),
    "textwrap_re": ("textwrap", "re"),
    "heapq_c": ("heapq", "_heapq"),
    "fractions_math": ("fractions", "math"),
    "fractions_sys": ("fractions", "sys"),
    "operator_builtins": ("operator", "_abs"),
    "itertools_loader": ("itertools", "__loader__"),
    "math_dict": ("math", "__dict__"),
    "math_wrapped": ("math", "__wrapped__"),
    "math_spec": ("math", "__spec__"),
    "json_builtins": ("json", "__builtins__"),
    "json_file": ("json", "__file__"),
    "bisect_c": ("bisect", "_bisect"),
    "cmath_loader": ("cmath", "__loader__"),
}


@pytest.mark.parametrize("module, path", list(WALKS.values()), ids=list(WALKS))
def test_cannot_reach_through_module_attribute(module: str, path: str) -> None:
    result = run(f"import {module}\nprint({module}.{path})\n")
    assert_refused(result)


@pytest.mark.parametrize("module, path", list(WALKS.values()), ids=list(WALKS))
def test_cannot_reach_through_computed_module_attribute(module: str, path: str) -> None:
    first, *rest = path.split(".")
    source = f"import {module}\nx = getattr({module}, {first[:1]!r} + {first[1:]!r})\n"
    for part in rest:
        source += f"x = getattr(x, {part!r})\n"
    source += "print(x)\n"
    assert_refused(run(source))


def test_cannot_reach_os_through_json_codecs() -> None:
    result = run('print(json.codecs.sys.modules["os"].environ["RX_CANARY"])')
    assert_refused(result)


def test_module_denial_names_the_reason() -> None:
    result = run("print(datetime.sys)")
    assert_refused(result, match="datetime.sys is not available to programs")


@pytest.mark.parametrize(
    "source",
    [
        "math.pi = 3",
        "del math.pi",
        "math.pi += 1",
        "setattr(math, 'pi', 3)",
        "delattr(math, 'pi')",
        "json.dumps = print",
        "setattr(json, 'dumps', print)",
        "math.new_name = 1",
        "import random\nrandom.random = lambda: 4",
    ],
    ids=[
        "assign",
        "delete",
        "augassign",
        "setattr",
        "delattr",
        "replace_function",
        "setattr_function",
        "new_name",
        "random_per_run",
    ],
)
def test_module_proxies_are_read_only(source: str) -> None:
    result = run(f"{source}\nprint(math.pi, json.dumps(1))")
    assert_refused(result)
    assert run("print(math.pi, json.dumps(1))").stdout == "3.141592653589793 1\n"


@pytest.mark.parametrize(
    "source",
    [
        "math.__init__(json)",
        "type(math).__init__(math, json)",
        "getattr(math, '__init__')(json)",
        "class M(type(math)):\n    pass\nM(json)",
        "calendar.day_name.__init__('%a')",
        "getattr(calendar.day_name, '__init__')('%a')",
        "json.JSONEncoder.__init__(json.JSONEncoder(), indent=9)",
    ],
    ids=[
        "init",
        "class_init",
        "getattr_init",
        "subclass",
        "day_name_init",
        "day_name_getattr_init",
        "catalogue_class_init",
    ],
)
def test_cannot_reinitialise_proxies_or_catalogue_objects(source: str) -> None:
    result = run(f"import calendar\n{source}\nprint(math.pi)")
    assert_refused(result)
    assert run("import calendar\nprint(math.pi, calendar.day_name[0])").stdout == (
        "3.141592653589793 Monday\n"
    )


@pytest.mark.parametrize(
    "handler",
    [
        "print(e.obj)",
        "print(getattr(e, 'obj'))",
        "print(getattr(e, 'o' + 'bj', None))",
        "import operator\n    print(operator.attrgetter('obj')(e))",
        "match e:\n        case AttributeError(obj=o):\n            print(o)",
        "print(e.__context__.obj)",
    ],
    ids=["attribute", "getattr", "getattr_default", "attrgetter", "match", "context"],
)
def test_attribute_error_from_a_proxy_carries_no_object(handler: str) -> None:
    source = f"try:\n    json.codecs\nexcept AttributeError as e:\n    {handler}\n"
    assert_refused(run(source))


def test_attribute_error_from_a_proxy_has_no_context() -> None:
    source = (
        "try:\n    json.codecs\nexcept AttributeError as e:\n"
        "    print(e.__context__, e.__cause__, e.args)"
    )
    result = assert_ok(run(source))
    assert result.stdout.startswith("None None (")


def test_functools_wraps_does_not_copy_the_module_namespace() -> None:
    source = (
        "import functools\n"
        "@functools.wraps(json)\ndef f():\n    pass\n"
        "print(hasattr(f, 'codecs'), hasattr(f, 'decoder'), hasattr(f, 'dumps'))\n"
        "def g():\n    pass\n"
        "functools.update_wrapper(g, json)\n"
        "print(hasattr(g, 'codecs'))\n"
    )
    result = assert_ok(run(source))
    assert result.stdout == "False False False\nFalse\n"


def test_functools_wraps_cannot_copy_hidden_attributes() -> None:
    source = (
        "import functools\n"
        "def f():\n    pass\n"
        "functools.update_wrapper(f, json.dumps, assigned=('__globals__',))\n"
    )
    assert_refused(run(source))


def test_module_proxies_cannot_be_deep_copied() -> None:
    source = (
        "import dataclasses\n"
        "@dataclasses.dataclass\nclass D:\n    m: object\n"
        "print(dataclasses.asdict(D(json)))\n"
    )
    result = run(source)
    assert_no_leak(result)
    assert result.status == "error", result


@pytest.mark.parametrize(
    "source",
    [
        "typing.get_type_hints(f)",
        "typing.List['__import__(\"os\")']._evaluate(None, None, frozenset())",
        "functools.singledispatch(f)",
        "dataclasses.make_dataclass('D', ['x'], namespace={'x': 1})",
        "enum.EnumMeta",
        "enum.EnumType('E', (), {})",
    ],
    ids=[
        "get_type_hints",
        "forwardref_evaluate",
        "singledispatch",
        "make_dataclass",
        "enummeta",
        "enumtype",
    ],
)
def test_catalogue_functions_that_evaluate_strings_or_build_classes_are_absent(
    source: str,
) -> None:
    prelude = "import typing, functools, dataclasses, enum\ndef f(x: 'os.system'):\n    pass\n"
    assert_refused(run(prelude + source))


def test_random_state_is_private_to_each_run() -> None:
    before = random.getstate()
    seeded = run("import random\nrandom.seed(42)\nrandom.random()")
    assert_ok(seeded)
    assert random.getstate() == before, "a program's seed() changed the host's generator"
    other = assert_ok(run("import random\nrandom.random()"))
    assert other.value != seeded.value


def test_decimal_context_changes_do_not_outlive_the_run() -> None:
    import decimal

    before = decimal.getcontext().prec
    assert_ok(
        run(
            "import decimal\ndecimal.getcontext().prec = 3\ndecimal.setcontext(decimal.Context(prec=2))",  # noqa: E501
            isolation="inline",  # a benign program: what inline mode leaves in this thread
        )
    )
    assert decimal.getcontext().prec == before
    result = assert_ok(run("import decimal\ndecimal.getcontext().prec"))
    assert result.value == 28


# -- the proxies themselves, without the write guard in front of them ---------------------


@pytest.mark.parametrize("name", ["math", "json", "random", "string"])
def test_proxy_objects_refuse_writes_and_deletes_on_their_own(name: str) -> None:
    from restricted_exec.language.catalogue import CATALOGUE
    from restricted_exec.language.modules import ModuleTable

    proxy = ModuleTable(frozenset(CATALOGUE)).get(name)
    with pytest.raises(AttributeError, match="read-only"):
        proxy.planted = 1
    with pytest.raises(AttributeError, match="read-only"):
        del proxy.planted
    with pytest.raises(AttributeError):
        _ = proxy.__dict__
    with pytest.raises(AttributeError):
        _ = proxy.__wrapped__


def test_proxy_objects_cannot_be_re_pointed_on_their_own() -> None:
    import json as real_json

    from restricted_exec.language.catalogue import CATALOGUE
    from restricted_exec.language.modules import ModuleTable

    proxy = ModuleTable(frozenset(CATALOGUE)).get("math")
    with pytest.raises(TypeError, match="re-initialised"):
        type(proxy).__init__(proxy, real_json)
    with pytest.raises(TypeError):
        type(proxy)(real_json)
    assert proxy.pi == 3.141592653589793


def test_proxy_denials_carry_no_reference_to_the_module() -> None:
    import json as real_json

    from restricted_exec.language.catalogue import CATALOGUE
    from restricted_exec.language.modules import ModuleTable

    proxy = ModuleTable(frozenset(CATALOGUE)).get("json")
    with pytest.raises(AttributeError) as caught:
        _ = proxy.codecs
    # CPython fills .obj with the object the lookup ran on: the proxy the program
    # already holds, never the module behind it.
    assert getattr(caught.value, "obj", None) in (None, proxy)
    assert type(getattr(caught.value, "obj", None)) is not type(real_json)
    assert caught.value.__context__ is None


def test_proxy_objects_cannot_be_pickled() -> None:
    import pickle

    from restricted_exec.language.catalogue import CATALOGUE
    from restricted_exec.language.modules import ModuleTable

    proxy = ModuleTable(frozenset(CATALOGUE)).get("json")
    for protocol in (2, 4):
        with pytest.raises(TypeError, match="cannot be pickled"):
            proxy.__reduce_ex__(protocol)
    with pytest.raises(TypeError, match="cannot be pickled"):
        proxy.__reduce__()
    with pytest.raises((TypeError, pickle.PicklingError, NotImplementedError)):
        pickle.dumps(proxy)


def test_update_wrapper_ignores_caller_chosen_attributes() -> None:
    source = (
        "import functools\n"
        "def f():\n    return 1\n"
        "def g():\n    return 2\n"
        "functools.update_wrapper(f, g, assigned=('__code__',))\n"
        "print(f())\n"
    )
    result = run(source)
    assert result.stdout != "2\n", "a caller-chosen assigned= replaced a function's code"
    if result.status != "ok":
        assert_refused(result)


def test_a_hosts_decimal_context_does_not_leak_into_runs() -> None:
    import decimal

    context = decimal.getcontext()
    before = context.prec
    context.prec = 7
    try:
        result = assert_ok(run("import decimal\ndecimal.getcontext().prec", isolation="inline"))
    finally:
        context.prec = before
    assert result.value == 28
