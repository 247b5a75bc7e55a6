"""str.format and friends cannot walk attributes or items inside a field.

``"{0.__class__}".format(x)`` reads attributes in C, out of reach of the
attribute guard (RestrictedPython GHSA-xjw2-6jm9-rf67 / CVE-2023-41039; Zope
AccessControl CVE-2021-32807 and CVE-2023-41050 for format_map). restricted_exec
hands programs a formatter that refuses ``.attr`` and ``[index]`` in fields.
"""

from __future__ import annotations

import pytest
from rx_sec import assert_no_leak, assert_ok, assert_refused, run

ATTR = "{0.__globals__[codecs].sys.modules[os].environ[RX_CANARY]}"
INDEX = "{0[0]}"

FORMAT_FORMS = {
    "format_attribute": f'print("{ATTR}".format(json.dumps))',
    "format_keyword_attribute": 'print("{f.__globals__}".format(f=json.dumps))',
    "format_plain_attribute": 'print("{0.real}".format(1))',
    "format_index": f'print("{INDEX}".format([1]))',
    "format_key_index": 'print("{0[a]}".format({"a": 1}))',
    "format_map_attribute": 'print("{f.__globals__}".format_map({"f": json.dumps}))',
    "format_map_index": 'print("{d[a]}".format_map({"d": {"a": 1}}))',
    "unbound_str_format": f'print(str.format("{ATTR}", json.dumps))',
    "unbound_str_format_map": 'print(str.format_map("{f.__globals__}", {"f": json.dumps}))',
    "type_of_str_format": f'print(type("").format("{ATTR}", json.dumps))',
    "getattr_format": f'print(getattr("{ATTR}", "format")(json.dumps))',
    "getattr_str_format": f'print(getattr(str, "format")("{ATTR}", json.dumps))',
    "methodcaller_format": (
        f'import operator\nprint(operator.methodcaller("format", json.dumps)("{ATTR}"))'
    ),
    "map_str_format": f'print(list(map(str.format, ["{ATTR}"], [json.dumps])))',
    "partial_str_format": (
        f'import functools\nprint(functools.partial(str.format, "{ATTR}")(json.dumps))'
    ),
    "str_subclass_format": f'class S(str):\n    pass\nprint(S("{ATTR}").format(json.dumps))',
    "str_subclass_class_format": (
        f'class S(str):\n    pass\nprint(S.format("{ATTR}", json.dumps))'
    ),
    "str_subclass_format_map": (
        'class S(str):\n    pass\nprint(S("{f.__globals__}").format_map({"f": json.dumps}))'
    ),
    "nested_field_in_spec": 'print("{0:{1.__class__}}".format(1, 2))',
    "format_of_str_returned_by_method": f'print("{ATTR}".lower().format(json.dumps))',
    "fstring_calling_format": f"print(f\"{{'{ATTR}'.format(json.dumps)}}\")",
}


@pytest.mark.parametrize("source", list(FORMAT_FORMS.values()), ids=list(FORMAT_FORMS))
def test_cannot_traverse_inside_format_fields(source: str) -> None:
    assert_refused(run(source), match="format field")


SUPER_FORMS = {
    "super_of_str_subclass_instance": (
        f'class S(str):\n    pass\ns = S("{ATTR}")\nprint(super(S, s).format(json.dumps))'
    ),
    "zero_arg_super_in_method": (
        f"class S(str):\n    def go(self, x):\n        return super().format(x)\n"
        f'print(S("{ATTR}").go(json.dumps))'
    ),
    "super_of_str_subclass_class": (
        f'class S(str):\n    pass\nprint(super(S, S).format("{ATTR}", json.dumps))'
    ),
    "super_format_map": (
        'class S(str):\n    pass\ns = S("{f.__globals__[codecs].sys.modules[os].environ[RX_CANARY]}")\n'  # noqa: E501
        'print(super(S, s).format_map({"f": json.dumps}))'
    ),
}


@pytest.mark.parametrize("source", list(SUPER_FORMS.values()), ids=list(SUPER_FORMS))
def test_cannot_traverse_format_fields_through_super(source: str) -> None:
    assert_refused(run(source))


def test_string_formatter_is_absent() -> None:
    result = run('import string\nprint(string.Formatter().format("{0.__class__}", 1))')
    assert_refused(result, match="Formatter")


def test_string_formatter_cannot_be_imported_by_name() -> None:
    result = run("from string import Formatter\nprint(Formatter)")
    assert_refused(result, match="Formatter")


def test_string_template_substitutes_only_names() -> None:
    source = (
        "import string\n"
        "print(string.Template('$a ${b}').safe_substitute({'a': 1, 'b': 2}))\n"
        "class T(string.Template):\n    idpattern = r'[^}]+'\n"
        "print(T('${f.__globals__}').safe_substitute({'f': 1}))\n"
    )
    result = assert_ok(run(source))
    assert result.stdout == "1 2\n${f.__globals__}\n"


def test_percent_formatting_with_mapping_keys_is_harmless() -> None:
    source = (
        'print("%(a)s %(a)r %%" % {"a": 1})\n'
        'print("%(__class__)s" % {"__class__": "just a key"})\n'
        'print("%s" % (json.dumps,) != "")'
    )
    result = assert_ok(run(source))
    assert result.stdout == "1 1 %\njust a key\nTrue\n"


def test_percent_formatting_does_not_walk_attributes() -> None:
    assert_refused(run('print("%(a.__class__)s" % {"a": 1})'), types=frozenset({"KeyError"}))


def test_plain_format_fields_still_work() -> None:
    source = (
        'print("{0} {1:>5} {x!r} {0:.2f}".format(1.5, "a", x="q"))\n'
        'print("{a}-{b:03d}".format_map({"a": 1, "b": 2}))\n'
        'print(str.format("{}|{}", 1, 2), "{0:{1}}".format(3, ">4"))\n'
    )
    result = assert_ok(run(source))
    assert result.stdout == "1.5     a 'q' 1.50\n1-002\n1|2    3\n"


@pytest.mark.parametrize(
    "source",
    [
        'print(f"{(1).__class__}")',
        'print(f"{json.dumps.__globals__}")',
        'x = 1\nprint(f"{x:{x.__class__}}")',
        "print(f\"{f'{(1).__class__}'}\")",
        "print(f\"{getattr(json.dumps, '__glo' + 'bals__')}\")",
    ],
    ids=[
        "fstring_dunder",
        "fstring_globals",
        "fstring_spec_dunder",
        "fstring_nested",
        "fstring_computed_getattr",
    ],
)
def test_fstrings_get_the_same_attribute_rules(source: str) -> None:
    assert_refused(run(source))


def test_format_builtin_with_hostile_spec_fails_safely() -> None:
    result = run('print(format(json.dumps, "{0.__globals__}"))')
    assert_no_leak(result)
    assert result.status == "error"
