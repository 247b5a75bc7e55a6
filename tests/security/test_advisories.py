"""One regression test per published RestrictedPython / Zope AccessControl technique.

Each test replays the advisory's technique against restricted_exec's default
policy in inline mode (the language layer alone) and checks that it is
refused and that nothing leaked.
"""

from __future__ import annotations

import builtins

import pytest
from rx_sec import assert_no_leak, assert_ok, assert_policy_violation, assert_refused, run

from restricted_exec.child import executor
from restricted_exec.language.guards import RunGuards

# -- RestrictedPython GHSA-wqc8-x2pr-7jqh (CVE-2023-37271, fixed in 5.3/6.1) ---------------
# Generator frames: gi_frame.f_back walks out of the sandbox to the host's globals.

GENERATOR_FRAME_ESCAPES = {
    "genexpr_f_back_f_globals": (
        "g = (x for x in [1])\nf = g.gi_frame.f_back.f_back\nprint(f.f_globals['__builtins__'])"
    ),
    "generator_function_frames": (
        "def gen():\n    yield 1\ng = gen()\nnext(g)\nprint(g.gi_frame.f_back.f_globals)"
    ),
    "computed_names": (
        "g = (x for x in [1])\n"
        "f = getattr(getattr(g, 'gi_fr' + 'ame'), 'f_ba' + 'ck')\n"
        "print(getattr(f, 'f_glo' + 'bals'))"
    ),
    "yield_from_frame": (
        "def inner():\n    yield 1\n"
        "def outer():\n    yield from inner()\n"
        "g = outer()\nnext(g)\nprint(g.gi_yieldfrom.gi_frame)"
    ),
    "exception_traceback_frames": (
        "try:\n    1/0\nexcept Exception as e:\n"
        "    print(e.__traceback__.tb_frame.f_back.f_globals)"
    ),
}


@pytest.mark.parametrize(
    "source", list(GENERATOR_FRAME_ESCAPES.values()), ids=list(GENERATOR_FRAME_ESCAPES)
)
def test_ghsa_wqc8_generator_frames_cannot_reach_host_globals(source: str) -> None:
    assert_refused(run(source))


# -- RestrictedPython GHSA-xjw2-6jm9-rf67 (CVE-2023-41039, fixed in 6.2) --------------------
# str.format and string.Formatter follow attribute paths in C.

FORMAT_ESCAPES = {
    "format_subclasses": 'print("{0.__class__.__base__.__subclasses__}".format(1))',
    "format_globals": 'print("{0.__globals__[codecs]}".format(json.dumps))',
    "formatter_class": 'import string\nprint(string.Formatter().format("{0.__class__}", 1))',
    "formatter_vformat": (
        'import string\nprint(string.Formatter().vformat("{0.__class__}", (1,), {}))'
    ),
    "formatter_get_field": (
        'import string\nprint(string.Formatter().get_field("0.__class__", (1,), {}))'
    ),
}


@pytest.mark.parametrize("source", list(FORMAT_ESCAPES.values()), ids=list(FORMAT_ESCAPES))
def test_ghsa_xjw2_format_cannot_walk_attributes(source: str) -> None:
    assert_refused(run(source))


# -- format escapes: AccessControl CVE-2026-77401, CVE-2023-41050; Zope CVE-2021-32633;
# RestrictedPython CVE-2023-41039 -------------------------------------------------------------
# Format strings on str *subclasses* and format_map with hostile mappings reach
# attributes the guard never sees. (CVE-2021-32807, string.Formatter, is in
# test_every_advisory_id.py.)

ZOPE_FORMAT_ESCAPES = {
    "cve_2026_77401_str_subclass_format": (
        'class S(str):\n    pass\nprint(S("{0.__class__.__mro__}").format(1))'
    ),
    "cve_2023_41039_unbound_str_format": 'print(str.format("{0.__class__}", 1))',
    "cve_2021_32633_format_traversal_index": (
        'print("{0[a].__globals__}".format({"a": json.dumps}))'
    ),
    "cve_2023_41050_format_map_attribute": ('print("{x.__class__.__mro__}".format_map({"x": 1}))'),
    "cve_2023_41050_format_map_custom_mapping": (
        "class M(dict):\n    def __missing__(self, key):\n        return json.dumps\n"
        'print("{anything.__globals__}".format_map(M()))'
    ),
    "cve_2023_41050_unbound_format_map": ('print(str.format_map("{x.__class__}", {"x": 1}))'),
}


@pytest.mark.parametrize(
    "source", list(ZOPE_FORMAT_ESCAPES.values()), ids=list(ZOPE_FORMAT_ESCAPES)
)
def test_zope_accesscontrol_format_techniques_are_refused(source: str) -> None:
    assert_refused(run(source), match="format field")


def test_format_map_with_a_plain_custom_mapping_still_works() -> None:
    source = (
        "class M(dict):\n    def __missing__(self, key):\n        return key.upper()\n"
        'print("{a}-{b}".format_map(M(a=1)))'
    )
    assert assert_ok(run(source)).stdout == "1-B\n"


# -- AttributeError.obj (RestrictedPython 8.x) ------------------------------------------
# The exception of a failed lookup carries the object looked in.

ATTRIBUTE_ERROR_OBJ = {
    "from_module_proxy": "try:\n    json.codecs\nexcept AttributeError as e:\n    print(e.obj)",
    "from_builtin": "try:\n    (1).nope\nexcept AttributeError as e:\n    print(e.obj)",
    "computed": "try:\n    json.codecs\nexcept AttributeError as e:\n    print(getattr(e, 'obj'))",
    "from_context": (
        "try:\n    try:\n        json.codecs\n    except AttributeError:\n        raise ValueError()\n"  # noqa: E501
        "except ValueError as e:\n    print(e.__context__.obj)"
    ),
    "subclass": (
        "class E(AttributeError):\n    pass\n"
        "try:\n    raise E('x', name='n', obj=1)\nexcept E as e:\n    print(e.obj)"
    ),
}


@pytest.mark.parametrize(
    "source", list(ATTRIBUTE_ERROR_OBJ.values()), ids=list(ATTRIBUTE_ERROR_OBJ)
)
def test_attribute_error_obj_is_denied(source: str) -> None:
    assert_refused(run(source), match="obj")


# -- RestrictedPython CVE-2025-22153 (fixed in 8.0): try/except* type confusion ------------


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    pass\nexcept* ValueError:\n    pass",
        "try:\n    pass\nexcept* ValueError as eg:\n    print(eg.exceptions)",
        "try:\n    raise ExceptionGroup('x', [ValueError()])\nexcept* ValueError:\n    pass",
    ],
    ids=["bare", "bound", "raising_group"],
)
def test_cve_2025_22153_except_star_is_refused(source: str) -> None:
    assert_policy_violation(run(f'print("ran")\n{source}'))


# -- RestrictedPython GHSA-ffg3-p8fm-mjx2 (fixed in 8.3): positional-only shadowing --------


@pytest.mark.parametrize(
    "hook", ["_write_", "_getattr_", "_getiter_", "_private_", "_special_", "_getitem_"]
)
def test_ghsa_ffg3_positional_only_parameter_cannot_shadow_a_hook(hook: str) -> None:
    source = (
        f"def outer({hook}=lambda *a: a[0], /):\n"
        "    json.dumps = print\n"
        "    return json.codecs\n"
        "outer()\n"
    )
    assert_policy_violation(run(source), match=hook)
    assert run("print(json.dumps(1))").stdout == "1\n"


def test_ghsa_ffg3_positional_only_lambda_cannot_shadow_a_hook() -> None:
    assert_policy_violation(run("f = lambda _getattr_, /: json.codecs\nf(getattr)"))


# -- RestrictedPython 9.0: builtins that iterate in C (sorted, tuple, zip, ...) ------------
# RestrictedPython removed them from safe_builtins because Zope's _getiter_ checks
# every item. restricted_exec exposes them on purpose, because its _getiter_ IS
# iter: there is no per-item rule to skip. If that ever changes, these fail.


def _run_globals() -> dict[str, object]:
    options = executor.RunOptions(modules=frozenset({"math"}), preload=(), output_bytes=100)

    class Stream:
        def write(self, text: str) -> int:
            return len(text)

    return executor.build_globals(
        (),
        {},
        options,
        Stream(),  # type: ignore[arg-type]
        executor._RunState(None),
    )


def test_restricted_python_9_iteration_guard_is_plain_iter() -> None:
    program_globals = _run_globals()
    assert program_globals["_getiter_"] is iter
    assert RunGuards(program_globals).hooks()["_getiter_"] is iter


@pytest.mark.parametrize(
    "name",
    [
        "sorted",
        "tuple",
        "zip",
        "list",
        "map",
        "filter",
        "enumerate",
        "sum",
        "min",
        "max",
        "all",
        "any",
        "set",
        "frozenset",
        "dict",
        "reversed",
    ],
)
def test_restricted_python_9_c_iteration_builtins_are_the_real_ones(name: str) -> None:
    program_globals = _run_globals()
    assert program_globals["_getiter_"] is iter, "revisit C-iteration builtins"
    assert program_globals["__builtins__"][name] is getattr(builtins, name)  # type: ignore[index]


def test_c_iteration_over_a_hostile_generator_reaches_nothing_new() -> None:
    source = (
        "def gen():\n    yield json\n    yield json.dumps\n"
        "items = sorted(gen(), key=str)\n"
        "print([type(x).__name__ for x in tuple(zip(gen(), gen()))[0]])\n"
        "print(getattr(items[0], '__glob' + 'als__'))"
    )
    assert_refused(run(source), match="__globals__")


# -- Type confusion via metaclasses and class creation ----------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "type('C', (), {'__getattribute__': lambda s, n: 1})",
        "class C(metaclass=type):\n    pass",
        "class C:\n    __metaclass__ = type",
        "print(type(int))",
    ],
    ids=["three_arg_type", "metaclass_keyword", "metaclass_body_name", "type_of_a_class"],
)
def test_programs_cannot_build_classes_outside_the_class_statement(source: str) -> None:
    assert_refused(run(source))


def test_nothing_leaks_through_a_successful_run() -> None:
    assert_no_leak(run("print(sorted({3, 1, 2}), tuple('ab'), list(zip('ab', 'cd')))"))
