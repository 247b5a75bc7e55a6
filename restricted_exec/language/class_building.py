"""Front ends for the catalogue APIs that build classes and code from names a program hands them.

``collections.namedtuple``, ``typing.NamedTuple``, ``dataclasses.dataclass`` and the functional
Enum API (``Enum("Color", "RED GREEN")``) turn program-supplied strings into class namespaces and
into source text they ``exec`` with the real builtins; what they generate then runs past every
guard, on whatever object it is handed. Each front end here applies to those names the rules the
compiler applies to source, before the standard library sees them:

- a name is exact ``str`` text: a ``str`` subclass could answer ``isidentifier()`` with True for
  ``"x=().__class__"`` and have it pasted into generated source;
- a name that becomes a class-namespace key follows the class-body rules (no dunders, no
  ``_sunder_`` hooks such as Enum's ``_missing_``): the functional Enum API would otherwise put
  ``__reduce_ex__`` or ``__getattr__`` into a class;
- a field is not named like a frame, code or traceback attribute (``gi_frame``), and
  ``__match_args__`` stops before the first field the program could not read natively itself
  (a private one, ``obj``), since class patterns read those names in C from any subject;
- a method the catalogue generates for a program class checks its ``self`` the way C methods
  do (by MRO, not ``isinstance``, which ``register`` can fake): a data class's generated
  ``__init__`` applied to ``json.JSONEncoder`` would set its class attributes.

The functional Enum API is reached through ``EnumType.__call__`` on any Enum class, so it is
guarded where it builds the class, ``EnumType._create_``, and ``EnumType.__call__`` hands value
lookups exact ints and strs (a Flag stores a new value in a member map every run shares). Both
guards apply only while a program runs (:data:`PROGRAM_RUNNING`); the host's own calls go to
the originals unchanged. :func:`clear_shared_caches` empties, after an inline run, the
stdlib caches that keep program objects as keys.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import encodings
import enum
import keyword
import re
import sys
import typing
from collections.abc import Callable, Iterable
from types import FunctionType
from typing import Any

from restricted_exec.language.attribute_rules import (
    NONDETERMINISTIC_READS,
    RUNTIME_CHECKED,
    is_dunder,
    is_hook_like,
    namespace_of,
    read_denial,
)
from restricted_exec.language.guards import PROGRAM_RUNNING, require_own, self_checked
from restricted_exec.language.ownership import (
    PROGRAM_FILENAME,
    check_class_body,
    is_own,
    mark_as_program_class,
    metaclass_for,
    restrict_match_args,
)
from restricted_exec.language.text import exact

__all__ = [
    "GuardedNamedTuple",
    "GuardedNewType",
    "GuardedTypeVar",
    "GuardedTypedDict",
    "clear_shared_caches",
    "dataclass",
    "exact_text",
    "guard_enum_functional_api",
    "guard_typing_alias_calls",
    "namedtuple",
]


def exact_text(api: str, what: str, value: object) -> str:
    """``value`` as an exact ``str`` (a copy of a subclass's characters), else TypeError."""
    if isinstance(value, str):
        return exact(value)
    raise TypeError(f"{api}: {what} must be a string, not {type(value).__name__}")


def _class_body_name(api: str, name: object) -> str:
    """A name that becomes a key of a class namespace: the compiler's class-body rules."""
    text = exact_text(api, "a name", name)
    if is_dunder(text):
        raise ValueError(f"{api}: {text!r} is a special name; programs cannot define it here")
    if text.startswith("_") and is_hook_like(text):
        raise ValueError(
            f"{api}: {text!r} is reserved: names that start with '_' may not end with '_' "
            "or start with '_rx' or '_tmp'"
        )
    return text


def _refuse_dataclass_field(name: str) -> None:
    # The stdlib pastes field names into the source of the methods it generates and execs
    # (__init__, __repr__): anything but an exact identifier would be code, run unguarded.
    if type(name) is not str or not name.isidentifier() or keyword.iskeyword(name):
        raise TypeError(f"dataclasses.dataclass: field name {name!r} is not an identifier")
    _refuse_denied_field(api="dataclasses.dataclass", name=name, error=TypeError)
    # asdict/astuple/replace read every field natively; an unset `format` field read
    # through to str.format, past the check a program's own `.format` gets.
    if name in RUNTIME_CHECKED or name in NONDETERMINISTIC_READS:
        raise TypeError(
            f"dataclasses.dataclass: field name {name!r} is not allowed: the name is checked "
            "each time it is read"
        )


def _refuse_denied_field(*, api: str, name: str, error: type[Exception]) -> None:
    """A field the generated code reads natively may not be named like a frame, code or
    traceback attribute (``gi_frame``, ``f_globals``): on an object that forwards attribute
    access those reads would reach the interpreter's internals."""
    reason = read_denial(name)
    if reason is not None:
        raise error(f"{api}: field name {name!r} is not allowed: {reason}")


# -- methods the catalogue generates for a program's class ----------------------------


# Names whose function the interpreter calls with a class, not an instance, as first argument.
_CLASS_FIRST = frozenset({"__new__", "__init_subclass__", "__class_getitem__"})


def _check_generated_methods(cls: type, before: dict[str, Any]) -> None:
    """Make every function the catalogue added to ``cls`` refuse a ``self`` of another class."""
    for name, value in list(namespace_of(cls).items()):
        if (
            type(value) is FunctionType
            and before.get(name) is not value
            and name not in _CLASS_FIRST
            and value.__code__.co_filename != PROGRAM_FILENAME
        ):
            type.__setattr__(cls, name, self_checked(cls, value.__name__, value))


# -- dataclasses.dataclass ---------------------------------------------------------------


def dataclass(cls: Any = None, /, **options: Any) -> Any:
    """``dataclasses.dataclass`` for the program's own classes, with checked generated methods."""

    def decorate(target: Any) -> Any:
        require_own("dataclasses.dataclass", target)
        before = dict(namespace_of(target))
        # slots=True makes the class again from this namespace, past the class factory: the
        # class-body checks run on it as they ran on the class statement's.
        check_class_body(target.__bases__, before)
        # Every annotated name becomes a field, an InitVar or a ClassVar, and the stdlib reads
        # them natively (replace() reads InitVars too): checked before the class is changed.
        annotations = dict(before.get("__annotations__", {}))
        for name in annotations:
            _refuse_dataclass_field(name)
            _refuse_used_field_record(name, before.get(name))
        _check_inherited_fields(target)
        if "__annotations__" in before:
            # The stdlib reads the class's annotations while it builds the methods it execs,
            # and program code can run meanwhile: it gets this checked copy, which nothing of
            # the program's holds (round 11 changed a live one mid-way).
            type.__setattr__(target, "__annotations__", annotations)
        result: Any = None
        try:
            result = dataclasses.dataclass(target, **options)
            for item in dataclasses.fields(result):
                _refuse_dataclass_field(item.name)
        finally:
            # Refused or not, the stdlib may have changed the class already.
            made = target if result is None else result
            restrict_match_args(made)
            _check_generated_methods(made, before)
        return result

    return decorate if cls is None else decorate(cls)


def _refuse_used_field_record(name: str, value: Any) -> None:
    """A ``field()`` record serves one class: the stdlib names it after the attribute it is
    given, and a record shared with a second class was renamed under the first, after the
    first's checks (``replace`` then read the new name natively: red-team round 15)."""
    if type(value) is dataclasses.Field and value.name is not None:
        raise TypeError(
            f"dataclasses.dataclass: the field() record of {name!r} already belongs to "
            f"field {value.name!r} of another class; call field() once per field"
        )


def _check_inherited_fields(target: type) -> None:
    """The fields a data class inherits are the bases' ``Field`` records, which the stdlib
    reads back as its own: each must still be a plain ``Field`` named as it was checked."""
    for base in target.__mro__[1:]:
        inherited = namespace_of(base).get("__dataclass_fields__")
        if inherited is None:
            continue
        for key, record in dict(inherited).items():
            if type(record) is not dataclasses.Field or record.name != key:
                raise TypeError(
                    f"dataclasses.dataclass: base {base.__name__} has a field record the "
                    f"stdlib did not make ({key!r})"
                )
            _refuse_dataclass_field(key)


# -- collections.namedtuple and typing.NamedTuple ----------------------------------------


def namedtuple(
    typename: Any,
    field_names: Any,
    *,
    rename: bool = False,
    defaults: Iterable[Any] | None = None,
    module: str | None = None,
) -> type:
    """``collections.namedtuple`` with exact, natively readable field names."""
    api = "namedtuple"
    name = exact_text(api, "typename", str(typename))
    if isinstance(field_names, str):
        field_names = exact_text(api, "field_names", field_names).replace(",", " ").split()
    names = [exact_text(api, "a field name", str(item)) for item in field_names]
    for field_name in names:
        _refuse_denied_field(api=api, name=field_name, error=ValueError)
    make: Any = collections.namedtuple  # its stub takes only literal defaults
    cls: type = make(
        name,
        names,
        rename=bool(rename),
        defaults=defaults,
        module="__main__" if module is None else exact_text(api, "module", module),
    )
    restrict_match_args(cls)
    _check_generated_methods(cls, {})
    return cls


def GuardedNamedTuple(typename: Any, fields: Any = None, /, **kwargs: Any) -> type:
    """``typing.NamedTuple``'s functional form with exact, natively readable field names; the
    class form (``class P(NamedTuple)``) goes through ``__mro_entries__`` and the class
    factory, which checks the result."""
    api = "NamedTuple"
    name = exact_text(api, "typename", typename)
    if fields is None:
        # `**{S("zz"): int}` passes a str subclass as a keyword: copied like positional names.
        fields = list(kwargs.items())
    elif kwargs:
        raise TypeError("Either list of fields or keywords can be provided to NamedTuple, not both")
    pairs = [(exact_text(api, "a field name", key), value) for key, value in fields]
    for field_name, _ in pairs:
        _refuse_denied_field(api=api, name=field_name, error=ValueError)
    cls: type = typing.NamedTuple(name, pairs)  # type: ignore[misc]
    type.__setattr__(cls, "__module__", "__main__")  # typing names its caller: this module
    restrict_match_args(cls)
    _check_generated_methods(cls, {})
    return cls


def GuardedNewType(name: Any, tp: Any) -> Any:
    """``typing.NewType`` with an exact ``str`` name: its ``__reduce__`` hands the name back,
    and ``copy`` took a tuple there for the maker and state of the copy (red-team round 13)."""
    make: Any = typing.NewType  # its stub wants a literal name
    made = make(exact_text("NewType", "name", name), tp)
    made.__module__ = "__main__"  # typing names its caller: this module
    return made


def GuardedTypeVar(name: Any, *constraints: Any, **options: Any) -> Any:
    """``typing.TypeVar`` with an exact ``str`` name (its ``__reduce__`` hands it back too)."""
    made = typing.TypeVar(exact_text("TypeVar", "name", name), *constraints, **options)  # type: ignore[misc]
    made.__module__ = "__main__"
    return made


def GuardedTypedDict(typename: Any, fields: Any = None, /, **options: Any) -> Any:
    """``typing.TypedDict``'s functional form with an exact ``str`` name and keys: the name
    becomes the class's ``__name__``, where a ``str`` subclass would run the program's code
    whenever anything formats it (red-team round 15)."""
    api = "TypedDict"
    name = exact_text(api, "typename", typename)
    if fields is not None:
        fields = {exact_text(api, "a key", key): value for key, value in dict(fields).items()}
    make: Any = typing.TypedDict  # its stub wants literal arguments
    made = make(name, fields, **options)
    type.__setattr__(made, "__module__", "__main__")  # typing names its caller: this module
    return made


# `class P(NamedTuple)` replaces the function by the class typing's own NamedTuple stands for.
_NAMED_TUPLE_BASES: tuple[type, ...] = typing.NamedTuple.__mro_entries__(  # type: ignore[attr-defined]
    (typing.NamedTuple,)
)


def _named_tuple_mro_entries(bases: tuple[Any, ...]) -> tuple[type, ...]:
    return _NAMED_TUPLE_BASES


GuardedNamedTuple.__mro_entries__ = _named_tuple_mro_entries  # type: ignore[attr-defined]
# `class M(TypedDict)` goes through typing's own class (and the class factory), as before.
GuardedTypedDict.__mro_entries__ = typing.TypedDict.__mro_entries__  # type: ignore[attr-defined]
GuardedNamedTuple.__name__ = GuardedNamedTuple.__qualname__ = "NamedTuple"


# -- the functional Enum API -------------------------------------------------------------

_original_enum_create: Callable[..., Any] | None = None
_TYPE = type  # the guard below has a parameter named `type`, as the stdlib's does


def _enum_names(api: str, names: Any) -> Any:
    """The functional API's ``names`` with every name checked and copied to exact text, in the
    forms ``EnumType._create_`` accepts (a list of names, or a list of pairs)."""
    if isinstance(names, str):
        names = exact_text(api, "names", names).replace(",", " ").split()
    if names is None:
        return None
    if isinstance(names, tuple | list) and names and isinstance(names[0], str):
        return [_class_body_name(api, item) for item in names]
    pairs: list[tuple[str, Any]] = []
    for item in names:
        if isinstance(item, str):
            pairs.append((_class_body_name(api, item), names[item]))
        else:
            key, value = item
            pairs.append((_class_body_name(api, key), value))
    return pairs


def _guarded_enum_create(
    cls: Any,
    class_name: Any,
    names: Any,
    *,
    module: Any = None,
    qualname: Any = None,
    type: Any = None,
    start: Any = 1,
    boundary: Any = None,
) -> Any:
    assert _original_enum_create is not None
    if module is None:
        # What the original's frame hack finds: the caller's module, past enum's frames and
        # this module's guards.
        try:
            frame: Any = sys._getframe(1)
            while frame is not None and frame.f_globals.get("__name__") in ("enum", __name__):
                frame = frame.f_back
            module = None if frame is None else frame.f_globals["__name__"]
        except (AttributeError, ValueError, KeyError):
            module = None
    if not PROGRAM_RUNNING.get():
        return _original_enum_create(
            cls,
            class_name,
            names,
            module=module,
            qualname=qualname,
            type=type,
            start=start,
            boundary=boundary,
        )
    api = f"{cls.__name__}()"
    bases = (cls,) if type is None else (type, cls)
    metaclass_for(bases)  # refuses proxies and forwarding bases, as for a class statement
    checked_names = _enum_names(api, names)
    if checked_names and not isinstance(checked_names[0], str):
        # The values become the class's namespace: CPython calls their __set_name__, and a
        # Template mixin's __init_subclass__ compiles its flags, as for a class statement.
        check_class_body(bases, dict(checked_names))
    else:
        check_class_body(bases, {})
    created = _original_enum_create(
        cls,
        exact_text(api, "the class name", class_name),
        checked_names,
        module="__main__" if module is None else exact_text(api, "module", module),
        qualname=None if qualname is None else exact_text(api, "qualname", qualname),
        type=type,
        start=start,
        boundary=boundary,
    )
    # The program made this class, exactly as with a class statement.
    marker: dict[str, Any] = {}
    mark_as_program_class(marker)
    for key, value in marker.items():
        _TYPE.__setattr__(created, key, value)
    return created


_original_enum_call: Callable[..., Any] | None = None


def _guarded_enum_call(cls: Any, value: Any, *args: Any, **options: Any) -> Any:
    """``EnumType.__call__``: while a program runs, a value lookup gets an exact ``int`` or
    ``str``. ``re.RegexFlag(I(...))`` with a program's int subclass made a pseudo-member whose
    value (and key in the class's shared member map) was the program's object, answering
    ``|`` and ``&`` with its own code for every later user of re's flags."""
    assert _original_enum_call is not None
    if PROGRAM_RUNNING.get():  # a value lookup, or the functional API's class name
        kind = _TYPE(value)
        if kind is not int and isinstance(value, int) and kind is not bool:
            value = int.__int__(value)
        elif kind is not str and isinstance(value, str):
            value = str.__str__(value)
        if issubclass(cls, enum.Flag):
            try:
                return _original_enum_call(cls, value, *args, **options)
            finally:  # after the call: the pseudo-member it may have made is in the map by now
                global _flag_values_looked_up
                _flag_values_looked_up = True
    return _original_enum_call(cls, value, *args, **options)


def guard_enum_functional_api() -> None:
    """Install the guards on ``EnumType._create_`` and ``EnumType.__call__`` (once per
    process)."""
    global _original_enum_create, _original_enum_call
    if _original_enum_create is not None:
        return
    _original_enum_call = enum.EnumType.__dict__["__call__"]
    setattr(enum.EnumType, "__call__", _guarded_enum_call)  # noqa: B010 - a metaclass hook
    original = enum.EnumType.__dict__["_create_"]
    _original_enum_create = original
    setattr(enum.EnumType, "_create_", _guarded_enum_create)  # noqa: B010 - not in the stubs


_original_alias_call: Any = None


def _guarded_alias_call(alias: Any, *args: Any, **kwargs: Any) -> Any:
    """``typing``'s generic-alias call: while a program runs, ``__orig_class__`` is written
    only on an object the program owns. ``Annotated[f, 0]()`` calls any ``f`` and wrote the
    attribute on whatever it returned: catalogue classes, shared instances and enum members
    (red-team round 12)."""
    if not PROGRAM_RUNNING.get() or not alias._inst:
        return _original_alias_call(alias, *args, **kwargs)
    result = alias.__origin__(*args, **kwargs)
    if is_own(result):
        with contextlib.suppress(Exception):  # as typing does: some objects refuse attributes
            result.__orig_class__ = alias
    return result


def guard_typing_alias_calls() -> None:
    """Install the guard on ``typing._BaseGenericAlias.__call__`` (once per process)."""
    global _original_alias_call
    if _original_alias_call is not None:
        return
    base = typing._BaseGenericAlias  # type: ignore[attr-defined]
    _original_alias_call = base.__dict__["__call__"]
    setattr(base, "__call__", _guarded_alias_call)  # noqa: B010


def clear_shared_caches() -> None:
    """Empty the standard library's process-wide caches that keep program objects as keys
    (``typing``'s parameter caches: ``List[x]``, ``Literal[x]``; ``re``'s replacement
    templates; ``strptime``'s formats), whose ``__eq__`` and ``__hash__`` a later lookup by
    anyone would call natively, and whose cached answers it would get; and those a program
    can fill without bound (``encodings``' codec names, flag classes' pseudo-members)."""
    for clear in getattr(typing, "_cleanups", ()):
        clear()
    re.purge()  # the pattern cache and the replacement-template cache (keyed by str subclasses)
    strptime = sys.modules.get("_strptime")
    if strptime is not None:
        strptime._regex_cache.clear()
    # Every codec name looked up, found or not (``"".encode(name)``): unbounded, and the names
    # are the program's, up to megabytes each.
    encodings._cache.clear()
    _forget_pseudo_members()


# A program looked a value up in a flag class (``re.RegexFlag(v)``, ``re.I | v``) since the
# pseudo-members were last dropped: only then are the flag classes looked at.
_flag_values_looked_up = False
# A catalogue flag class (``re.RegexFlag``) -> how many values its named members have: more
# in its value map are pseudo-members, which a call with any other int (``re.RegexFlag(v)``)
# makes and the class keeps for good (red-team round 21: ~95 MB from one run).
_NAMED_VALUES: dict[type[enum.Flag], int] = {}


def _forget_pseudo_members() -> None:
    """Drop the pseudo-members the catalogue's flag classes hold, if a program looked a flag
    value up since the last time (they are made again when needed, and compare by value). The
    map is replaced by one of the named members rather than emptied in place, where a lookup on
    another thread would miss a named member meanwhile. Programs' own flag classes are left
    alone: they go with their run."""
    global _flag_values_looked_up
    if not _flag_values_looked_up:
        return
    _flag_values_looked_up = False  # (before the walk: a lookup during it sets it again)
    pending = enum.Flag.__subclasses__()
    while pending:
        flag = pending.pop()
        pending.extend(flag.__subclasses__())
        if is_own(flag):
            continue
        values = flag._value2member_map_
        named = _NAMED_VALUES.get(flag)
        if named is None:
            named = _NAMED_VALUES[flag] = len(_named_members(flag))
        if len(values) != named:
            type.__setattr__(flag, "_value2member_map_", _named_members(flag))


def _named_members(flag: type[enum.Flag]) -> dict[Any, enum.Enum]:
    return {member._value_: member for member in flag._member_map_.values()}
