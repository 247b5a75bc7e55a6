"""The catalogue's classes, prepared once per process: no function they carry takes a foreign self.

Read off its class, a Python method is the raw function, and takes any first argument:
``calendar.Calendar.setfirstweekday(textwrap.TextWrapper, 3)`` wrote ``_firstweekday`` natively
onto another class every later run shares (red-team round 16, E1). A C method descriptor refuses
such a ``self``; the catalogue's Python functions did not. Ordinary attribute reads compile to
native ``LOAD_ATTR`` (a hook on every read would cost ~10x on ``xs.append(i)``), so the check
cannot sit on the read. It sits on the function instead: :func:`prepare_catalogue_classes` puts,
once per process and before the fork server forks, a checked wrapper
(:func:`restricted_exec.language.guards.checked_catalogue_function`) in place of every such
function in the namespace of every catalogue class. The wrapper compares ``type(self)`` with its
owner (identity, then the MRO, as ``self_checked`` and C descriptors do: ``isinstance`` would ask
``register``) and consults :data:`PROGRAM_RUNNING` only on a mismatch, so the host's own calls,
odd ones included, behave as before. Instance calls and calls through a program's subclass pass
the first comparison.

Which classes: every class defined in a module of the catalogue's world, found by following,
from the catalogue modules' real namespaces (every name, private ones too) and the sandbox's own
replacements, each class's MRO, metaclass and namespace values, the types of the instances
found there, and ``typing``'s alias origins, to the standard-library modules that define them;
then every class those modules define, whether or not a name leads to it (an instance handed
out at run time, ``type(x)``). Classes of the sandbox itself found on the way
(``ReadOnlyMapping``, ``SeededRandom``) are covered one by one, their modules not followed.

Which entries: every name a program can read from a class it does not own, i.e. every public
name and namedtuple's documented ``_replace``/``_asdict``, holding

- a function: replaced by its checked wrapper;
- a ``property`` (``Fraction.numerator``, ``Calendar.firstweekday``): a copy whose
  ``fget``/``fset``/``fdel`` are the checked wrappers, since ``property.__get__`` hands the
  property itself out when read off the class and ``.fget`` is a public read;
- a ``functools.cached_property`` or ``partialmethod``: its ``func``, for the same reason.

Left as they are, with the reason: private and special names (the attribute rules deny reading
them from anything but the program's own code, and ``self_checked`` guards what a program's
subclass hands out: checking them too would put a wrapper on every internal call, such as
``Fraction.__add__``); ``staticmethod`` (no ``self`` to check) and ``classmethod`` (bound to the
class it is read from); ``enum.property`` (``Enum.value``), whose ``__get__`` returns a member
or raises when read off a class and never hands itself out.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
from collections.abc import Iterable, Iterator
from types import FunctionType, GenericAlias, ModuleType
from typing import Any

from restricted_exec.language.attribute_rules import NAMEDTUPLE_API, is_dunder, mro_of, namespace_of
from restricted_exec.language.catalogue import CATALOGUE
from restricted_exec.language.guards import checked_catalogue_function, is_checked_function
from restricted_exec.language.ownership import PROGRAM_FILENAME, is_program_class

__all__ = ["catalogue_classes", "checked_entry", "prepare_catalogue_classes", "readable_entry"]

_VARARGS = 0x04  # inspect.CO_VARARGS
_module_of = type.__dict__["__module__"].__get__

# The builtins are C classes, and a program's builtins are the reviewed subset: following the
# module's namespace would only add the interactive helpers of site.
_NOT_FOLLOWED = frozenset({"builtins"})

_prepared = False
_lock = threading.Lock()


def prepare_catalogue_classes(extra: Iterable[Any] = ()) -> None:
    """Give every catalogue class checked functions (see the module docstring); once per
    process. ``extra``: the sandbox's replacements of catalogue attributes, followed as the
    modules' own values are. Imports every catalogue module first."""
    global _prepared
    if _prepared:
        return
    with _lock:  # inline runs in several host threads may load their first module at once
        if _prepared:
            return
        modules = [importlib.import_module(name) for name in sorted(CATALOGUE)]
        for cls in catalogue_classes(modules, extra):
            _check_entries(cls)
        _prepared = True


def readable_entry(name: object) -> bool:
    """Whether a program can read ``name`` from a class it does not own."""
    if type(name) is not str:
        return False
    return not name.startswith("_") or name in NAMEDTUPLE_API


def catalogue_classes(modules: Iterable[ModuleType], extra: Iterable[Any] = ()) -> list[type]:
    """Every class of the catalogue's world (see the module docstring), in a stable order."""
    by_module: dict[str, list[type]] = {}
    for cls in _all_classes():
        module = _module_of(cls)
        if type(module) is str and not is_program_class(cls):
            by_module.setdefault(module, []).append(cls)
    followed: set[str] = set()
    singles: dict[int, type] = {}
    pending_modules = [module.__name__ for module in modules]
    pending_values: list[Any] = list(extra)
    while pending_modules or pending_values:
        while pending_values:
            for cls in _classes_of(pending_values.pop()):
                module = _module_of(cls)
                if type(module) is not str:
                    continue
                if _is_standard_library(module):
                    if module not in followed:
                        pending_modules.append(module)
                elif not is_program_class(cls):
                    singles[id(cls)] = cls
        if pending_modules:
            name = pending_modules.pop()
            if name in followed:
                continue
            followed.add(name)
            if name in _NOT_FOLLOWED:
                continue
            module_object = sys.modules.get(name)
            if module_object is not None:
                pending_values.extend(_values(vars(module_object)))
            for cls in by_module.get(name, ()):
                pending_values.append(cls)
                pending_values.extend(_values(namespace_of(cls)))
    found = {id(cls): cls for name in followed - _NOT_FOLLOWED for cls in by_module.get(name, ())}
    found.update(singles)
    return sorted(found.values(), key=lambda cls: (_module_of(cls), cls.__qualname__, id(cls)))


def _all_classes() -> Iterator[type]:
    seen: set[int] = set()
    stack: list[type] = [object]
    while stack:
        cls = stack.pop()
        if id(cls) in seen:
            continue
        seen.add(id(cls))
        yield cls
        stack.extend(type.__subclasses__(cls))


def _is_standard_library(module: str) -> bool:
    return module.partition(".")[0] in sys.stdlib_module_names


def _values(namespace: Any) -> Iterator[Any]:
    # Modules are not followed through attributes (a program never holds a real module), and
    # a module's own dunders (__loader__, __spec__) are nothing a program reaches.
    for key, value in list(namespace.items()):
        if isinstance(value, ModuleType) or (type(key) is str and is_dunder(key)):
            continue
        yield value


def _classes_of(value: Any) -> list[type]:
    """The classes a program holding ``value`` may reach: its own, or the class itself with
    its MRO and metaclass; for a typing alias, its origin (``class C(typing.ContextManager)``
    derives from ``contextlib.AbstractContextManager``)."""
    if isinstance(value, type):
        return [value, *mro_of(value), type(value)]
    classes = [type(value)]
    origin = _alias_origin(value)
    if isinstance(origin, type):
        classes.append(origin)
    return classes


def _alias_origin(value: Any) -> Any:
    if isinstance(value, GenericAlias):
        return value.__origin__
    try:
        state = object.__getattribute__(value, "__dict__")
    except AttributeError:
        return None
    return state.get("__origin__") if type(state) is dict else None


def _check_entries(cls: type) -> None:
    for name, value in list(namespace_of(cls).items()):
        if readable_entry(name):
            replacement = checked_entry(cls, value)
            if replacement is not value:
                type.__setattr__(cls, name, replacement)


def checked_entry(owner: type, value: Any) -> Any:
    """What ``owner``'s namespace holds in place of ``value``: ``value`` itself if it hands out
    no function of the catalogue unchecked."""
    if type(value) is FunctionType:
        return _checked_function(owner, value)
    if isinstance(value, property):
        functions = (value.fget, value.fset, value.fdel)
        parts = [_checked_function(owner, part) for part in functions]
        if all(new is old for new, old in zip(parts, functions, strict=True)):
            return value
        make: Any = type(value)  # property or a subclass with its signature (abstractproperty)
        copy = make(*parts, value.__doc__)
        state = getattr(copy, "__dict__", None)
        if state is not None:  # a subclass's own state (its __doc__ is already there)
            state.update({k: v for k, v in vars(value).items() if k != "__doc__"})
        return copy
    if isinstance(value, functools.cached_property | functools.partialmethod):
        # Their __get__ hands the descriptor out when read off the class, and .func is public.
        value.func = _checked_function(owner, value.func)
    return value


def _checked_function(owner: type, function: Any) -> Any:
    if (
        type(function) is not FunctionType
        or is_checked_function(function)
        or function.__code__.co_filename == PROGRAM_FILENAME
    ):
        return function
    code = function.__code__
    if code.co_argcount == 0 and not code.co_flags & _VARARGS:
        return function  # it takes no positional argument: there is no self to check
    return checked_catalogue_function(owner, function)
