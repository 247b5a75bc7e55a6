"""``dataclasses.asdict``/``astuple`` for programs, with a deep copy that trusts no instance.

The stdlib's ``asdict`` deep-copies every value that is not a data class, list, tuple or dict,
and ``copy.deepcopy`` looks its hooks (``__deepcopy__``, ``__reduce_ex__``, ``__reduce__``,
``__getstate__``, ``__setstate__``) up on the *instance*: an entry in an object's namespace
wins over its class, and ``copy._reconstruct`` then calls whatever the hook returned and
``setattr``s whatever state it named, on any object. Red-team rounds 11 and 12 put such
entries into namespaces (a ``cached_property`` subclass's stored name; a
``types.SimpleNamespace`` built with ``__reduce_ex__=...``) and wrote special attributes of
catalogue and own classes that way.

The copy here is ``copy.deepcopy``'s algorithm with every hook looked up on the type, as
CPython looks up special methods. It refuses an object whose namespace, or the state it hands
over, holds special names, and a reduction that would make the copy with anything but the
copied class itself: a bound method reduces to ``getattr(self, func.__name__)``, and
``typing.NewType`` to whatever name it was given (round 13), so methods are rebound as
``copy`` does and the copy must come out exactly of the copied class. Plain data copies
exactly as the stdlib copies it. :func:`shallow_copy` does the same for ``copy.copy``, which
``collections.UserDict.copy`` calls (guarded while a program runs).

This module imports only the standard library and the language layer: the child uses it.
"""

from __future__ import annotations

import collections
import copy
import copyreg
import dataclasses
from collections.abc import Callable
from types import MethodType
from typing import Any

from restricted_exec.language.attribute_rules import is_dunder, mro_lookup
from restricted_exec.language.guards import PROGRAM_RUNNING, require_own

__all__ = ["asdict", "astuple", "deepcopy", "guard_user_dict_copy", "shallow_copy"]

# What copy.deepcopy returns as is (numbers, strings, types, functions, ...): its own table.
_DISPATCH: dict[type, Any] = copy._deepcopy_dispatch  # type: ignore[attr-defined]
_ATOMIC_COPIER = copy._deepcopy_atomic  # type: ignore[attr-defined]
_ATOMIC = frozenset(kind for kind, copier in _DISPATCH.items() if copier is _ATOMIC_COPIER)


def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """``copy.deepcopy(value)``, reading no hook from an instance (see the module docstring)."""
    if memo is None:
        memo = {}
    key = id(value)
    if key in memo:
        return memo[key]
    kind = type(value)
    if kind in _ATOMIC or issubclass(kind, type):
        return value
    if kind is list:
        copied: Any = []
        memo[key] = copied
        copied.extend(deepcopy(item, memo) for item in value)
    elif kind is tuple:
        items = tuple(deepcopy(item, memo) for item in value)
        if key in memo:  # the tuple was reached again through one of its items
            return memo[key]
        copied = value if all(a is b for a, b in zip(items, value, strict=True)) else items
    elif kind is dict:
        copied = {}
        memo[key] = copied
        for name, item in value.items():
            copied[deepcopy(name, memo)] = deepcopy(item, memo)
    elif kind is MethodType:
        # As copy does, rebinding the function: a method's own reduction is
        # getattr(self, func.__name__), and a program can name a function anything.
        copied = MethodType(value.__func__, deepcopy(value.__self__, memo))
    else:
        copied = _copy_object(value, kind, memo)
    memo[key] = copied
    _keep_alive(value, memo)
    return copied


def _copy_object(value: Any, kind: type, memo: dict[int, Any] | None) -> Any:
    """Copy an object by its class's hooks; deep with a memo, shallow (``copy.copy``) without."""
    hook = _type_hook(value, kind, "__copy__" if memo is None else "__deepcopy__")
    if hook is not None:
        return hook() if memo is None else hook(memo)
    # object.__reduce_ex__ itself still reads __reduce__ and __getstate__ off the instance.
    _refuse_special_entries(kind, _namespace(value))
    reductor = copyreg.dispatch_table.get(kind)
    if reductor is not None:
        reduced = reductor(value)
    else:
        reduce_ex = _type_hook(value, kind, "__reduce_ex__")
        if reduce_ex is None:
            raise copy.Error(f"un(deep)copyable object of type {kind.__name__}")
        reduced = reduce_ex(4)
    if isinstance(reduced, str):
        return value
    _refuse_foreign_maker(kind, reduced)
    return _reconstruct(value, kind, memo, *reduced)


def shallow_copy(value: Any) -> Any:
    """``copy.copy(value)``, reading no hook from an instance (see the module docstring)."""
    kind = type(value)
    if kind in _ATOMIC or issubclass(kind, type) or kind is tuple or kind is frozenset:
        return value
    if kind in (list, dict, set, bytearray):
        return value.copy()
    return _copy_object(value, kind, None)


_NEW_OBJECT = (copyreg.__newobj__, copyreg.__newobj_ex__)  # type: ignore[attr-defined]


def _refuse_foreign_maker(kind: type, reduced: Any) -> None:
    """A copy is made by the object's own class (``kind(...)``, ``cls.__new__(cls, ...)``),
    nothing else: a reduction may name any callable, and ``getattr``/``operator.getitem``
    with arguments the program chose read whatever it named (red-team round 13)."""
    make = reduced[0] if type(reduced) is tuple and reduced else None
    arguments = reduced[1] if type(reduced) is tuple and len(reduced) > 1 else ()
    if make is kind:
        return
    if any(make is new for new in _NEW_OBJECT) and arguments and arguments[0] is kind:
        return
    raise TypeError(
        f"a {kind.__name__} cannot be copied: its reduction makes the copy with "
        f"{getattr(make, '__qualname__', type(make).__name__)}, not with its own class"
    )


def _reconstruct(
    value: Any,
    kind: type,
    memo: dict[int, Any] | None,
    make: Callable[..., Any],
    arguments: tuple[Any, ...],
    state: Any = None,
    list_items: Any = None,
    dict_items: Any = None,
    *_: Any,
) -> Any:
    def part(item: Any) -> Any:  # deep copies copy every part; shallow ones share them
        return item if memo is None else deepcopy(item, memo)

    made: Any = make(*part(arguments))
    if not _exactly_of(made, kind):  # a fresh object of the copied class, never one it names
        raise TypeError(
            f"a {kind.__name__} cannot be copied: its class made a {type(made).__name__}"
        )
    if memo is not None:
        memo[id(value)] = made
    if state is not None:
        state = part(state)
        set_state = mro_lookup(type(made), "__setstate__")
        if set_state is not None:
            set_state[1].__get__(made, type(made))(state)
        else:
            slot_state = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slot_state = state
            if state:
                _refuse_special_entries(kind, state)
                made.__dict__.update(state)
            if slot_state:
                _refuse_special_entries(kind, slot_state)
                for name, item in slot_state.items():
                    setattr(made, name, item)
    if list_items is not None:
        for item in list_items:
            made.append(part(item))
    if dict_items is not None:
        for name, item in dict_items:
            made[part(name)] = part(item)
    return made


def _exactly_of(made: Any, kind: type) -> bool:
    return type(made) is kind


def _type_hook(value: Any, kind: type, name: str) -> Callable[..., Any] | None:
    """``value``'s hook ``name`` as its class defines it (never its own namespace), bound."""
    found = mro_lookup(kind, name)
    if found is None:
        return None
    attribute = found[1]
    getter = getattr(type(attribute), "__get__", None)
    bound: Callable[..., Any] = attribute if getter is None else getter(attribute, value, kind)
    return bound


def _namespace(value: Any) -> dict[str, Any]:
    try:
        namespace = object.__getattribute__(value, "__dict__")
    except AttributeError:
        return {}
    return namespace if type(namespace) is dict else {}


# The names copy and object.__reduce_ex__ look up on an instance, and what state may not
# plant in a copy's namespace.
_COPY_HOOKS = frozenset(
    {
        "__reduce__",
        "__reduce_ex__",
        "__getstate__",
        "__setstate__",
        "__deepcopy__",
        "__copy__",
        "__getnewargs__",
        "__getnewargs_ex__",
    }
)


def _refuse_special_entries(kind: type, entries: Any) -> None:
    """Refuse a namespace or state holding copy hooks, or any special name (state is written
    into the copy as attributes: ``__match_args__`` or ``__class__`` must never be)."""
    if isinstance(entries, dict) and any(
        type(name) is not str or name in _COPY_HOOKS or is_dunder(name) for name in entries
    ):
        raise TypeError(
            f"a {kind.__name__} whose namespace or state holds special names cannot be "
            "copied: copy would take them as the object's own hooks or attributes"
        )


def _keep_alive(value: Any, memo: dict[int, Any]) -> None:
    # As copy.deepcopy does: ids in the memo stay valid while the copy is made.
    try:
        memo[id(memo)].append(value)
    except KeyError:
        memo[id(memo)] = [value]


def asdict(obj: Any, *, dict_factory: Callable[[Any], Any] = dict) -> Any:
    """``dataclasses.asdict``, copying with :func:`deepcopy`."""
    if not _is_data_class_instance(obj):
        raise TypeError("asdict() should be called on dataclass instances")
    return _convert(obj, dict_factory, as_dict=True)


def astuple(obj: Any, *, tuple_factory: Callable[[Any], Any] = tuple) -> Any:
    """``dataclasses.astuple``, copying with :func:`deepcopy`."""
    if not _is_data_class_instance(obj):
        raise TypeError("astuple() should be called on dataclass instances")
    return _convert(obj, tuple_factory, as_dict=False)


def _is_data_class_instance(obj: Any) -> bool:
    return dataclasses.is_dataclass(obj) and not isinstance(obj, type)


def _convert(obj: Any, factory: Callable[[Any], Any], *, as_dict: bool) -> Any:
    # The stdlib's _asdict_inner/_astuple_inner, case for case.
    if _is_data_class_instance(obj):
        converted = [
            (field.name, _convert(getattr(obj, field.name), factory, as_dict=as_dict))
            for field in dataclasses.fields(obj)
        ]
        return factory(converted if as_dict else [value for _, value in converted])
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*[_convert(item, factory, as_dict=as_dict) for item in obj])
    if isinstance(obj, list | tuple):
        return type(obj)(_convert(item, factory, as_dict=as_dict) for item in obj)
    if isinstance(obj, dict):
        return type(obj)(
            (_convert(name, factory, as_dict=as_dict), _convert(item, factory, as_dict=as_dict))
            for name, item in obj.items()
        )
    return deepcopy(obj)


_original_user_dict_copy: Any = None


def _guarded_user_dict_copy(self: Any) -> Any:
    """``collections.UserDict.copy``, the one catalogue method that calls the stdlib's
    ``copy.copy`` (which reads hooks off the instance): while a program runs, the same steps
    with :func:`shallow_copy`, on the program's own objects only."""
    if not PROGRAM_RUNNING.get():
        return _original_user_dict_copy(self)
    if type(self) is collections.UserDict:
        return collections.UserDict(self.data.copy())
    require_own("collections.UserDict.copy", self)
    data = self.data
    try:
        self.data = {}
        copied = shallow_copy(self)
    finally:
        self.data = data
    copied.update(self)
    return copied


def guard_user_dict_copy() -> None:
    """Install the guard on ``collections.UserDict.copy`` (once per process)."""
    global _original_user_dict_copy
    if _original_user_dict_copy is not None:
        return
    _original_user_dict_copy = collections.UserDict.__dict__["copy"]
    setattr(collections.UserDict, "copy", _guarded_user_dict_copy)  # noqa: B010
