"""The catalogue's classes, as prepared: every function a program can read off them checks its self.

These inspect the prepared classes in this process and call the checked wrappers directly with
trusted arguments; no program runs here. The hostile programs, one per path to such a function,
run in process mode in ``test_native_access.py`` (``test_no_path_to_a_catalogue_function_...``).
See ``restricted_exec.language.catalogue_methods`` and docs/security/native-access.md, row 54.
"""

from __future__ import annotations

import calendar
import collections
import enum
import functools
import importlib
import inspect
import pickle
import subprocess
import sys
import types
from types import FunctionType, SimpleNamespace
from typing import Any

import pytest

from restricted_exec.language import modules
from restricted_exec.language.catalogue import CATALOGUE
from restricted_exec.language.catalogue_methods import catalogue_classes, readable_entry
from restricted_exec.language.guards import PROGRAM_RUNNING, is_checked_function, raw_function

modules.prepare_catalogue()

CLASSES = catalogue_classes(
    [importlib.import_module(name) for name in sorted(CATALOGUE)], modules.catalogue_replacements()
)

# Kinds of class attribute that hand out no Python function unchecked: a staticmethod has no self
# to check, a classmethod binds the class it is read from, enum.property answers a read off the
# class with a member or AttributeError; the rest are C descriptors (which check their own self),
# data, or classes (covered on their own).
_HAND_OUT_NO_FUNCTION = (
    staticmethod,
    classmethod,
    enum.property,
    types.BuiltinFunctionType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
    types.WrapperDescriptorType,
    types.GetSetDescriptorType,
    types.MemberDescriptorType,
    type,
)


def _raw_functions_in(value: Any) -> list[str]:
    """Where ``value``, read off a class, would hand out a function of the catalogue unchecked."""
    if type(value) is FunctionType:
        takes_self = value.__code__.co_argcount or value.__code__.co_flags & inspect.CO_VARARGS
        return [] if is_checked_function(value) or not takes_self else ["the function itself"]
    parts = {"fget", "fset", "fdel"} if isinstance(value, property) else set()
    if isinstance(value, functools.cached_property | functools.partialmethod):
        parts = {"func"}
    found = [
        part
        for part in sorted(parts)
        if type(getattr(value, part)) is FunctionType
        and not is_checked_function(getattr(value, part))
    ]
    reviewed = isinstance(value, _HAND_OUT_NO_FUNCTION)
    if not parts and callable(value) and hasattr(type(value), "__get__") and not reviewed:
        found.append(f"a {type(value).__qualname__}, a kind of descriptor not reviewed")
    return found


def test_the_walk_finds_the_catalogue_s_classes_and_what_they_lead_to() -> None:
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in CLASSES}
    for expected in (
        "calendar.Calendar",
        "textwrap.TextWrapper",
        "collections.Counter",
        "collections.abc.KeysView",  # UserDict().keys(), through type()
        "contextlib.AbstractContextManager",  # typing.ContextManager's origin
        "fractions.Fraction",
        "numbers.Rational",  # Fraction's MRO
        "json.encoder.JSONEncoder",
        "typing._GenericAlias",  # only reachable as type(typing.List[int])
        "statistics.LinearRegression",
        "enum.Enum",
        "abc.ABCMeta",  # the metaclass of collections.abc's classes
        "restricted_exec.language.modules.ReadOnlyMapping",  # TextWrapper's frozen table
        "restricted_exec.language.modules.Random",  # SeededRandom, a deterministic run's class
    ):
        assert expected in names, expected


def test_every_function_a_program_can_read_off_a_catalogue_class_checks_its_self() -> None:
    unchecked = [
        f"{cls.__module__}.{cls.__qualname__}.{name}: {where}"
        for cls in CLASSES
        for name, value in vars(cls).items()
        if readable_entry(name)
        for where in _raw_functions_in(value)
    ]
    assert unchecked == []


def test_a_checked_function_keeps_signature_names_markers_and_pickling() -> None:
    for cls in CLASSES:
        for name, value in vars(cls).items():
            if not (readable_entry(name) and is_checked_function(value)):
                continue
            raw = raw_function(value)
            assert raw is not value
            assert inspect.signature(value) == inspect.signature(raw), value
            for attribute in ("__name__", "__qualname__", "__module__", "__doc__"):
                assert getattr(value, attribute) == getattr(raw, attribute), (value, attribute)
            assert "__wrapped__" not in vars(value), value
            assert getattr(value, "__isabstractmethod__", False) == getattr(
                raw, "__isabstractmethod__", False
            )
    setter = calendar.Calendar.setfirstweekday
    assert pickle.loads(pickle.dumps(setter)) is setter
    assert calendar.Calendar.firstweekday.fget is calendar.Calendar.getfirstweekday
    assert repr(setter).startswith("<function Calendar.setfirstweekday at ")


def test_a_checked_function_refuses_a_foreign_self_only_while_a_program_runs() -> None:
    # The host's own odd calls go through unchanged (here on a throwaway namespace).
    target = SimpleNamespace()
    calendar.Calendar.setfirstweekday(target, 3)
    assert target._firstweekday == 3
    token = PROGRAM_RUNNING.set(True)
    try:
        with pytest.raises(TypeError, match="'setfirstweekday' for 'Calendar' objects"):
            calendar.Calendar.setfirstweekday(target, 4)
        with pytest.raises(TypeError, match="'setfirstweekday' for 'Calendar' objects"):
            calendar.Calendar.setfirstweekday(self=target, firstweekday=4)  # type: ignore[call-arg]
        counter = collections.Counter("aab")
        assert collections.Counter.most_common(counter, 1) == [("a", 2)]
    finally:
        PROGRAM_RUNNING.reset(token)
    assert target._firstweekday == 3


def test_the_fork_server_s_warm_up_prepares_the_catalogue_before_it_forks() -> None:
    # Children inherit the prepared classes and pay nothing for them per run.
    probe = (
        "from restricted_exec.child.executor import warm_up\n"
        "from restricted_exec.language import modules\n"
        "assert not modules._catalogue_prepared\n"
        "warm_up()\n"
        "import calendar\n"
        "from restricted_exec.language.guards import is_checked_function\n"
        "assert modules._catalogue_prepared\n"
        "assert is_checked_function(vars(calendar.Calendar)['setfirstweekday'])\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr


def test_every_class_the_catalogue_graph_walk_reaches_is_prepared() -> None:
    # The graph walk reads, as a program would, attributes, type(x), items and what operators
    # hand to an operand, to depth 4: each class it meets with a readable function is one the
    # preparation covered (or a program's own, which has none of the catalogue's).
    from test_catalogue_graph_walk import Walk

    covered = {id(cls) for cls in CLASSES}
    uncovered: dict[str, list[str]] = {}
    for value in Walk().run().keep:
        for cls in ([value] if isinstance(value, type) else []) + [type(value)]:
            functions = [
                name
                for name, entry in vars(cls).items()
                if readable_entry(name) and type(entry) is FunctionType
            ]
            if id(cls) not in covered and functions:
                uncovered[f"{cls.__module__}.{cls.__qualname__}"] = functions
    assert uncovered == {}
