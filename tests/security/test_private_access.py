"""Private attributes (``_x``) are readable only on the program's own objects.

Catalogue objects keep shared state behind private names
(``calendar.day_name._days``, ``re.RegexFlag._member_map_``); the compiler
routes every ``a._x`` through ``_private_`` and ``getattr`` applies the same
rule, so a program can read them only on objects it created (and namedtuple's
documented ``_replace``/``_asdict``/``_fields``/``_make``).
"""

from __future__ import annotations

import pytest
from rx_sec import assert_ok, assert_refused, run

FOREIGN_PRIVATES = {
    "day_name_days": "calendar.day_name._days",
    "month_name_months": "calendar.month_name._months",
    "regexflag_member_map": "re.RegexFlag._member_map_",
    "enum_member_names": "re.RegexFlag._member_names_",
    "textcalendar_instance": "calendar.TextCalendar()._firstweekday",
    "normaldist_instance": "statistics.NormalDist(1, 2)._mu",
    "textwrapper_method": "textwrap.TextWrapper()._split",
    "template_method": "string.Template('x')._invalid",
    "jsonencoder_class": "json.JSONEncoder._private_name",
    "module_private": "random._inst",
    "builtin_private": "(1)._x",
}

PRELUDE = "import calendar, re, statistics, textwrap, string, random\n"


@pytest.mark.parametrize("expr", list(FOREIGN_PRIVATES.values()), ids=list(FOREIGN_PRIVATES))
def test_cannot_read_private_attributes_of_foreign_objects(expr: str) -> None:
    assert_refused(run(f"{PRELUDE}x = {expr}\nprint(type(x))"), match="private")


@pytest.mark.parametrize("expr", list(FOREIGN_PRIVATES.values()), ids=list(FOREIGN_PRIVATES))
def test_cannot_read_private_attributes_of_foreign_objects_with_getattr(expr: str) -> None:
    obj, _, name = expr.rpartition(".")
    assert_refused(run(f"{PRELUDE}x = getattr({obj}, {name!r})\nprint(type(x))"), match="private")


def test_cannot_write_private_attributes_of_foreign_objects() -> None:
    assert_refused(run("import calendar\ncalendar.day_name._days = []"))


def test_own_objects_and_namedtuples_keep_private_access() -> None:
    source = (
        "import collections\n"
        "class A:\n    def __init__(self):\n        self._b = 1\n        self.__c = 2\n"
        "    def c(self):\n        return self.__c\n"
        "P = collections.namedtuple('P', 'x y')\n"
        "p = P(1, 2)\n"
        "print(A()._b, A().c(), p._replace(x=3), p._asdict(), P._fields, P._make([5, 6]))\n"
    )
    result = assert_ok(run(source))
    assert result.stdout == ("1 2 P(x=3, y=2) {'x': 1, 'y': 2} ('x', 'y') P(x=5, y=6)\n")
