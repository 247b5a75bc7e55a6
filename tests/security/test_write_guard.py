"""Programs change only objects they created.

``a.b = v``, ``del a.b``, ``a.b += v``, ``setattr`` and ``delattr`` on anything
the program did not create (catalogue classes and functions, builtin types,
module proxies) are refused, because those objects are shared with every
later run and, in inline mode, with the host. Catalogue helpers that write
attributes for the caller (``functools.update_wrapper``, ``dataclass``,
``typing.final``) and wrapt proxies the program builds must not become a way
around the rule.
"""

from __future__ import annotations

import calendar
import json
import textwrap
import typing
from collections.abc import Iterator

import pytest
from rx_sec import assert_no_leak, assert_ok, assert_refused, run

TARGETS = {
    "catalogue_class": "json.JSONEncoder",
    "catalogue_function": "json.dumps",
    "catalogue_c_function": "math.sqrt",
    "catalogue_exception": "json.JSONDecodeError",
    "catalogue_instance": "calendar.day_name",
    "datetime_class": "datetime.date",
    "builtin_type": "int",
    "builtin_exception": "ValueError",
    "builtin_function": "len",
    "print": "print",
    "getattr": "getattr",
    "module_proxy": "math",
    "module_proxy_class": "type(math)",
    "enum_member": "re.RegexFlag.IGNORECASE",
    "lru_cache_wrapper": "functools.lru_cache(maxsize=None)(abs)",
    "partial": "functools.partial(abs)",
}

WRITE_FORMS = {
    "assign": "{t}.item_separator = 'X'",
    "assign_new": "{t}.pwned = 1",
    "augassign": "{t}.pwned += 1",
    "delete": "del {t}.item_separator",
    "setattr": "setattr({t}, 'pwned', 1)",
    "delattr": "delattr({t}, 'pwned')",
    "private": "{t}._pwned = 1",
}


@pytest.fixture(autouse=True)
def _restore_json_encoder() -> Iterator[None]:
    before = json.JSONEncoder.item_separator
    yield
    json.JSONEncoder.item_separator = before


@pytest.mark.parametrize("form", list(WRITE_FORMS.values()), ids=list(WRITE_FORMS))
@pytest.mark.parametrize("target", list(TARGETS.values()), ids=list(TARGETS))
def test_cannot_write_attributes_of_objects_the_program_did_not_create(
    target: str, form: str
) -> None:
    prelude = "import calendar, functools, re\n"
    result = run(prelude + form.format(t=target) + "\nprint('written')\n")
    assert_refused(result)
    assert "written" not in result.stdout
    assert json.JSONEncoder.item_separator == ", "


def test_write_refusal_names_the_rule() -> None:
    result = run("json.JSONEncoder.item_separator = 'X'")
    assert_refused(result, match="programs may only change objects they created")


def test_can_write_attributes_of_own_objects() -> None:
    source = (
        "class Account:\n"
        "    def __init__(self):\n        self._balance = 0\n"
        "    def deposit(self, x):\n        self._balance += x\n        return self._balance\n"
        "a = Account()\na.deposit(5)\na.note = 'n'\nsetattr(a, 'extra', 1)\ndel a.extra\n"
        "Account.rate = 0.5\ndef f():\n    pass\nf.calls = 1\nf.calls += 1\n"
        "class Sub(json.JSONEncoder):\n    pass\nSub.item_separator = ';'\n"
        "print(a.deposit(1), a.note, Account.rate, f.calls, Sub.item_separator, "
        "json.JSONEncoder.item_separator)\n"
    )
    result = assert_ok(run(source))
    assert result.stdout == "6 n 0.5 2 ; , \n"


def test_cannot_write_through_super() -> None:
    source = (
        "class Sub(json.JSONEncoder):\n"
        "    def go(self):\n        super().item_separator = 'X'\n"
        "Sub().go()\n"
    )
    assert_refused(run(source))


def test_cannot_write_attributes_of_foreign_class_instances() -> None:
    assert_refused(run("import calendar\nc = calendar.Calendar()\nc.firstweekday = 3"))


def test_decimal_context_is_the_one_writable_foreign_type_and_is_per_run() -> None:
    result = assert_ok(
        run("import decimal\ndecimal.getcontext().prec = 5\nprint(decimal.Decimal(1) / 3)")
    )
    assert result.stdout == "0.33333\n"
    assert assert_ok(run("import decimal\nprint(decimal.Decimal(1) / 3)")).stdout == (
        "0.3333333333333333333333333333\n"
    )


def test_builtin_class_special_methods_cannot_reinitialise_catalogue_objects() -> None:
    source = "import calendar\nobject.__init__(calendar.day_name)\nlist.__init__(calendar.day_name)"
    result = run(source)
    assert_no_leak(result)
    assert run("import calendar\nprint(calendar.day_name[0])").stdout == "Monday\n"


# -- known escapes: each keeps its reproduction until restricted_exec fixes it ------------

WRAPT_BASE = "W = type(json).mro()[2]\nclass P(W):\n    pass\n"


def test_cannot_write_catalogue_class_through_own_wrapt_proxy() -> None:
    result = run(WRAPT_BASE + "P(json.JSONEncoder).item_separator = 'PWNED'\n")
    assert_refused(result)
    assert json.JSONEncoder.item_separator == ", "


def test_cannot_read_private_attributes_through_own_wrapt_proxy() -> None:
    result = run(WRAPT_BASE + "import re\nprint(type(P(re.RegexFlag)._member_map_))\n")
    assert_refused(result)


def test_module_proxy_base_class_cannot_wrap_other_objects_writably() -> None:
    source = (
        "M = type(json).mro()[1]\nclass Q(M):\n    pass\nQ(json.JSONEncoder).item_separator = 'X'"
    )
    assert_refused(run(source))
    assert json.JSONEncoder.item_separator == ", "


@pytest.fixture
def dumps_snapshot() -> Iterator[None]:
    saved = {
        k: getattr(json.dumps, k) for k in ("__name__", "__qualname__", "__doc__", "__module__")
    }
    saved_dict = dict(json.dumps.__dict__)
    yield
    for key, value in saved.items():
        setattr(json.dumps, key, value)
    json.dumps.__dict__.clear()
    json.dumps.__dict__.update(saved_dict)


@pytest.mark.usefixtures("dumps_snapshot")
def test_update_wrapper_cannot_write_catalogue_functions() -> None:
    source = (
        "import functools\ndef f():\n    pass\nf.marker = 'planted'\n"
        "functools.update_wrapper(json.dumps, f)\nprint(json.dumps.__name__)\n"
    )
    result = run(source)
    assert "planted" not in json.dumps.__dict__.values()
    assert_refused(result)


@pytest.fixture
def textcalendar_snapshot() -> Iterator[None]:
    saved = dict(vars(calendar.TextCalendar))
    yield
    for key in list(vars(calendar.TextCalendar)):
        if key not in saved:
            delattr(calendar.TextCalendar, key)
    for key, value in saved.items():
        if (
            key not in ("__dict__", "__weakref__")
            and vars(calendar.TextCalendar).get(key) is not value
        ):
            setattr(calendar.TextCalendar, key, value)


@pytest.mark.usefixtures("textcalendar_snapshot")
def test_dataclass_decorator_cannot_rewrite_catalogue_classes() -> None:
    result = run("import dataclasses, calendar\ndataclasses.dataclass(calendar.TextCalendar)\n")
    changed = "__dataclass_fields__" in vars(calendar.TextCalendar)
    assert not changed, "calendar.TextCalendar was turned into a dataclass"
    assert_refused(result)


@pytest.fixture
def final_snapshot() -> Iterator[None]:
    yield
    json.loads.__dict__.pop("__final__", None)


@pytest.mark.usefixtures("final_snapshot")
def test_typing_final_cannot_mark_catalogue_functions() -> None:
    assert_ok(run("import typing\nx = typing.final(json.loads)\n"))
    assert not hasattr(json.loads, "__final__")


def test_typing_overload_does_not_retain_program_functions() -> None:
    before = {k: {q: dict(d) for q, d in v.items()} for k, v in typing._overload_registry.items()}
    assert_ok(run("import typing\n@typing.overload\ndef area_rx(x: int) -> int:\n    pass\n"))
    after = {k: {q: dict(d) for q, d in v.items()} for k, v in typing._overload_registry.items()}
    try:
        assert after == before
    finally:
        typing._overload_registry.get("__main__", {}).pop("area_rx", None)


@pytest.fixture
def shared_containers_snapshot() -> Iterator[None]:
    trans = dict(textwrap.TextWrapper.unicode_whitespace_trans)
    css = list(calendar.HTMLCalendar.cssclasses)
    yield
    # restricted_exec freezes these when it loads the catalogue; restore only
    # if a regression left them mutable (and mutated).
    live_trans = textwrap.TextWrapper.unicode_whitespace_trans
    if isinstance(live_trans, dict):
        live_trans.clear()
        live_trans.update(trans)
    if isinstance(calendar.HTMLCalendar.cssclasses, list):
        calendar.HTMLCalendar.cssclasses[:] = css


@pytest.mark.parametrize(
    "source",
    [
        "import textwrap\ntextwrap.TextWrapper.unicode_whitespace_trans[9] = 'Z'",
        "import calendar\ncalendar.HTMLCalendar.cssclasses[0] = 'pwned'",
        "import calendar\nlist.__init__(calendar.HTMLCalendar.cssclasses, ['x'])",
    ],
    ids=["textwrap_trans", "htmlcalendar_cssclasses", "list_init_on_shared_list"],
)
@pytest.mark.usefixtures("shared_containers_snapshot")
def test_cannot_mutate_shared_class_level_containers(source: str) -> None:
    run(source)
    assert textwrap.TextWrapper.unicode_whitespace_trans[9] == ord(" ")
    assert calendar.HTMLCalendar.cssclasses[0] == "mon"
