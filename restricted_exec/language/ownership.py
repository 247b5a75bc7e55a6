"""Which objects belong to the program: the one fact most runtime guards ask.

A program owns the classes its ``class`` statements create (and classes the
catalogue derives from them, such as ``@dataclass(slots=True)`` copies), the
instances of those classes, and the functions and lambdas it defines. Nothing
from the catalogue is owned, so a program can change its own objects freely
but cannot patch ``json.JSONEncoder`` or a function every later run shares.

The answer needs no run context: every class statement runs through
:class:`ClassFactory`, which puts a marker object into the class namespace
before the class is created (so an Enum's members, built inside the
metaclass, are already owned), and a program function is recognised by its
code's file name. A program cannot forge either: the marker lives under a
dunder name programs can neither read nor write, and programs cannot create
code objects.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import string
import typing
from enum import EnumType
from types import FunctionType, GenericAlias, ModuleType
from typing import Any

import wrapt

from restricted_exec.language.attribute_rules import (
    match_args_in_reach,
    mro_lookup,
    mro_of,
    namespace_of,
)

__all__ = [
    "PROGRAM_FILENAME",
    "ClassFactory",
    "check_class_body",
    "is_own",
    "is_program_class",
    "mark_as_program_class",
    "metaclass_for",
    "restrict_match_args",
]

PROGRAM_FILENAME = "<program>"
"""The file name the compiler gives program code; tracebacks show it, and it marks
a function as the program's own."""

_MARK_NAME = "__rx_program_class__"


class _Mark:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<restricted_exec program class>"


_MARK = _Mark()


def is_program_class(cls: type) -> bool:
    """True if ``cls`` came from one of the program's class statements."""
    # type.__dict__ is read directly (no inheritance, no descriptors): a catalogue
    # subclass of a program class is not itself a program class.
    return namespace_of(cls).get(_MARK_NAME) is _MARK


def is_own(obj: Any) -> bool:
    """True if the program owns ``obj`` (see the module docstring)."""
    cls = type(obj)
    if issubclass(cls, type):
        return is_program_class(obj)
    if cls is FunctionType:
        return obj.__code__.co_filename == PROGRAM_FILENAME  # type: ignore[no-any-return]
    return is_program_class(cls)


# C classes whose instances hand attribute access on to another object: an instance of a
# program's subclass would be "own" while reading and writing that object natively.
_FORWARDING_C_CLASSES: tuple[type, ...] = (
    wrapt.BaseObjectProxy,
    ModuleType,
    GenericAlias,  # list[int].x reads list.x, dunders included
    super,
)
_ATTRIBUTE_HOOKS = ("__getattribute__", "__getattr__", "__setattr__", "__delattr__")

# Catalogue classes whose instances the stdlib takes back as its own records and trusts, or
# whose stored names it uses natively as attribute names: an instance of a program's subclass
# would be "own", so writable, after the checks. A Field subclass renamed after the data-class
# checks had its name exec'd as code (red-team round 8); a cached_property subclass given
# attrname "__reduce_ex__" wrote that key into an instance's namespace, where copy took it as
# the object's reduce hook (round 11).
NAMED_RECORDS: tuple[type, ...] = (typing.NewType, typing.TypeVar)
"""typing's records whose ``__reduce__`` hands back the name they were given (round 13)."""
_RECORDS_THE_STDLIB_TRUSTS: tuple[type, ...] = (
    dataclasses.Field,
    functools.cached_property,
    *NAMED_RECORDS,
)


def refused_base(base: type) -> str | None:
    """Why a class may not be a base of a program's class, or None.

    Ownership is what lets a program read private attributes of, and write to, its own
    objects; it means nothing if the object's attribute access forwards elsewhere: a wrapt
    proxy, a module, ``types.GenericAlias``, ``super``, or a catalogue class with a
    Python-level attribute hook (``typing``'s aliases forward reads and writes to their
    origin: a subclass of ``type(typing.List[int])`` wrote ``json.JSONEncoder``'s attributes);
    nor if the stdlib trusts the object as a record it made itself.
    """
    if issubclass(base, _RECORDS_THE_STDLIB_TRUSTS):
        return (
            "the standard library trusts its instances as records it made itself, or uses "
            "names they store as attribute names"
        )
    return forwarding_reason(base)


def forwarding_reason(cls: type) -> str | None:
    """Why instances of ``cls`` (not the program's) hand attribute access on to another
    object, or None. Such an object cannot be the program's own, nor may the program build
    one around an object of its choosing (``type(list[int])(error, ())`` read ``error.obj``)."""
    if issubclass(cls, _FORWARDING_C_CLASSES):
        return "its instances forward attribute access to another object"
    for hook in _ATTRIBUTE_HOOKS:
        found = mro_lookup(cls, hook)
        if found is not None and type(found[1]) is FunctionType and not is_program_class(found[0]):
            return f"its {hook} is the catalogue's ({found[0].__qualname__})"
    return None


def metaclass_for(bases: tuple[Any, ...]) -> type:
    # The same "most derived metaclass" rule as CPython's __build_class__.
    winner: type = type
    for base in bases:
        if isinstance(base, type):
            reason = refused_base(base)
            if reason is not None:
                raise TypeError(f"programs cannot subclass {base.__name__}: {reason}")
        candidate = type(base)
        if issubclass(winner, candidate):
            continue
        if issubclass(candidate, winner):
            winner = candidate
            continue
        raise TypeError(
            "metaclass conflict: the metaclass of a derived class must be a (non-strict) "
            "subclass of the metaclasses of all its bases"
        )
    return winner


class ClassFactory:
    """The ``__metaclass__`` every class statement uses.

    It builds the class as CPython would (honouring Enum's, NamedTuple's and
    TypedDict's metaclasses) and marks it as the program's own.
    """

    __slots__ = ()

    def __prepare__(self, name: str, bases: tuple[Any, ...], **kwargs: Any) -> Any:
        metaclass = metaclass_for(bases)  # refuses the bases first
        _refuse_private_class_keywords(kwargs)
        namespace = metaclass.__prepare__(name, bases, **kwargs)
        namespace[_MARK_NAME] = _MARK
        return namespace

    def __call__(self, name: str, bases: tuple[Any, ...], namespace: Any, **kwargs: Any) -> Any:
        _refuse_private_class_keywords(kwargs)
        check_class_body(bases, namespace)
        cls = metaclass_for(bases)(name, bases, namespace, **kwargs)
        # A NamedTuple's generated base carries __match_args__ built from the class body's
        # names, which class patterns would read natively.
        restrict_match_args(cls)
        return cls


CLASS_FACTORY = ClassFactory()


def _refuse_private_class_keywords(keywords: dict[str, Any]) -> None:
    """Class keywords go to the metaclass and the bases' ``__init_subclass__``; the private
    ones configure catalogue internals (``class F(enum.IntFlag, _simple=True)`` made a class
    share its base's member map), which class bodies cannot name either."""
    for key in keywords:
        if type(key) is not str or key.startswith("_"):
            raise TypeError(f"class keyword {str.__str__(key)!r} is not allowed: it is private")


def check_class_body(bases: tuple[Any, ...], namespace: Any) -> None:
    """What CPython runs natively when it makes a class from ``namespace`` must be safe: every
    value's ``__set_name__`` and the bases' ``__init_subclass__``. For class statements and for
    every catalogue path that makes a class again from a program class's namespace
    (``dataclass(slots=True)``)."""
    _refuse_foreign_set_name(namespace)
    _refuse_template_debug(bases, namespace)


def _refuse_foreign_set_name(namespace: Any) -> None:
    """Refuse a class body holding a descriptor the program did not make whose ``__set_name__``
    CPython would call: ``class A: x = fractions.Fraction.numerator`` renamed a property every
    Fraction of the process shares."""
    for key, value in list(namespace.items()):
        if _lookup_on_type(value, "__set_name__") is not None and not _program_made(value):
            raise TypeError(
                f"class attribute {key!r}: this {type(value).__name__} holds an object the "
                "program did not create, whose __set_name__ would change it for the process"
            )


def _refuse_template_debug(bases: tuple[Any, ...], namespace: Any) -> None:
    """``string.Template.__init_subclass__`` compiles the subclass's pattern with
    ``cls.flags | re.VERBOSE`` through the real ``re``, where ``re.DEBUG`` prints to the
    process's own stdout. Every ``flags`` the new class could find (its body, any base's MRO,
    whatever comes first) must be plain flags without DEBUG: an object of the program's could
    answer ``|`` as it likes."""
    if not any(isinstance(b, type) and issubclass(b, string.Template) for b in bases):
        return
    if any(isinstance(b, EnumType) for b in bases):
        # An Enum turns `flags = 0` into a member of the class itself, whose `|` is its own.
        raise TypeError("a string.Template subclass cannot also be an Enum")
    candidates = [namespace["flags"]] if "flags" in namespace else []
    for base in bases:
        for klass in mro_of(base) if isinstance(base, type) else ():
            found = namespace_of(klass).get("flags")
            if found is not None:
                candidates.append(found)
    for flags in candidates:
        if type(flags) not in (int, re.RegexFlag) or flags & re.DEBUG:
            raise TypeError(
                "a string.Template subclass's flags must be re flags without re.DEBUG (which "
                "prints to the process's own stdout)"
            )


def _lookup_on_type(value: Any, name: str) -> Any:
    found = mro_lookup(type(value), name)
    return None if found is None else found[1]


def _program_made(descriptor: Any) -> bool:
    """Whether a descriptor with ``__set_name__`` wraps only the program's own functions
    (``property``, ``functools.cached_property``, ``enum.property``), or is a data-class
    ``field`` whose default is such a descriptor, or none."""
    state = getattr(type(descriptor), "__dict__", {})
    if "default" in state or hasattr(descriptor, "default_factory"):  # dataclasses.Field
        default = getattr(descriptor, "default", None)
        return _lookup_on_type(default, "__set_name__") is None or _program_made(default)
    functions = [getattr(descriptor, part, None) for part in ("fget", "fset", "fdel", "func")]
    present = [function for function in functions if function is not None]
    return bool(present) and all(
        type(function) is FunctionType and function.__code__.co_filename == PROGRAM_FILENAME
        for function in present
    )


def restrict_match_args(cls: type) -> None:
    """Cut ``cls.__match_args__`` before its first name class patterns may not read natively
    (see :func:`restricted_exec.language.attribute_rules.match_args_in_reach`)."""
    names = match_args_in_reach(cls)
    if names is not None:
        type.__setattr__(cls, "__match_args__", names)


def mark_as_program_class(namespace: Any) -> None:
    """Put the program-class marker into a namespace a catalogue API is about to build a
    class from, on the program's behalf (the functional Enum API)."""
    namespace[_MARK_NAME] = _MARK
