"""Read-only, allowlisted proxies (wrapt) for catalogue modules.

A program never holds a real module. It holds a ``ModuleProxy`` whose class
carries exactly the catalogue's allowed attributes, so a read of an allowed
name is a plain class-attribute lookup, and every other name (``json.codecs``,
``random._os``, ``math.__dict__``, ``math.__wrapped__``) fails with a fresh
``AttributeError`` that names the reason and references nothing behind the
proxy. Proxies refuse writes and deletes.

What a proxy wraps is not the real module but an empty module of the same name. wrapt's C
slots forward every operator to the wrapped object, and CPython hands that object to the other
operand's method: ``json == x`` called ``x.__eq__(<the real json>)``, whose ``codecs.sys`` was
the interpreter's (red-team round 8). Whatever any slot forwards, now or in a later wrapt, it
reaches a module with nothing in it. In-place operators, which wrapt answers by re-pointing the
proxy at the result, and use as a base class are refused.

Some attributes are served by guarded replacements:
- ``operator.attrgetter`` / ``methodcaller`` read attributes with the same rules
  as ``obj.name`` written in the program;
- ``functools.wraps`` / ``update_wrapper`` copy only the standard attributes
  (a caller-chosen ``assigned=("__globals__",)`` would copy hidden ones), and merge
  ``__dict__`` only from the program's own objects; ``lru_cache`` / ``cache`` likewise;
- ``dataclasses.dataclass``, ``collections.namedtuple`` and ``typing.NamedTuple`` are the
  front ends of :mod:`restricted_exec.language.class_building`;
- ``re``'s functions refuse ``re.DEBUG``; ``time.clock_gettime`` and its kin take only the
  fixed clocks (a negative id reads another process's CPU time);
- ``random``'s functions are bound to a generator private to the run, so one
  run's ``random.seed`` cannot steer another's, and forked children do not
  replay the same sequence. Under a deterministic policy that generator (and
  every ``random.Random()`` the program makes) starts from a fixed seed,
  ``seed()`` with no argument returns to it, and ``SystemRandom`` is refused.
"""

from __future__ import annotations

import functools
import importlib
import operator
import random
import re
import threading
import time
import typing
from collections.abc import Callable, Iterator, Mapping
from types import FunctionType, MappingProxyType, ModuleType
from typing import Any

import wrapt

from restricted_exec.language import catalogue_methods, class_building, copying
from restricted_exec.language.catalogue import CATALOGUE, denial_reason
from restricted_exec.language.guards import AccessDenied, checked_public_getattr, require_own
from restricted_exec.language.ownership import is_own

__all__ = ["ModuleProxy", "ModuleTable", "load_catalogue_module"]


class ModuleProxy(wrapt.BaseObjectProxy):  # type: ignore[type-arg]
    """The base class of every module proxy; subclasses hold the allowed attributes."""

    _catalogue_name = ""
    _initialised = False

    def __getattr__(self, name: str) -> Any:
        # Reached only for names the proxy class does not carry. The error is
        # built here, outside any except block: no __context__, no .obj chain.
        raise AttributeError(denial_reason(type(self)._catalogue_name, name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"module {type(self)._catalogue_name!r} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"module {type(self)._catalogue_name!r} is read-only")

    @property
    def __dict__(self) -> Any:  # type: ignore[override]
        # wrapt would forward this to the real module's namespace; functools.wraps
        # and others read __dict__ in C, so it must not exist here.
        raise AttributeError(denial_reason(type(self)._catalogue_name, "__dict__"))

    @property
    def __annotations__(self) -> Any:  # type: ignore[override]
        # wrapt forwards this to the real module, and CPython answers a module's
        # __annotations__ by *creating* an empty dict in its namespace: a read by
        # trusted code (functools.update_wrapper) would change the host's module.
        raise AttributeError(denial_reason(type(self)._catalogue_name, "__annotations__"))

    @property
    def __wrapped__(self) -> Any:
        raise AttributeError(denial_reason(type(self)._catalogue_name, "__wrapped__"))

    def __init__(self, wrapped: Any) -> None:
        # wrapt lets __init__ be called again to re-point a proxy; a program
        # must not re-point a proxy that every later run shares.
        if type(self)._initialised:
            raise TypeError("module proxies cannot be re-initialised")
        super().__init__(wrapped)

    def __reduce__(self) -> Any:
        raise TypeError("module proxies cannot be pickled or copied")

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("module proxies cannot be pickled or copied")

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[Any, ...]:
        # wrapt answers with the wrapped object, which would become the new class's base.
        raise TypeError(f"module {type(self)._catalogue_name!r} cannot be a base class")


def _refuse_in_place(operator_name: str) -> Callable[[Any, Any], Any]:
    def in_place(self: ModuleProxy, other: Any) -> Any:
        raise TypeError(
            f"module {type(self)._catalogue_name!r} is read-only: {operator_name} would re-point "
            "the module every run shares"
        )

    in_place.__name__ = in_place.__qualname__ = operator_name
    return in_place


# wrapt answers `proxy += x` by computing `wrapped + x` and re-pointing the proxy at the result.
IN_PLACE_OPERATORS = (
    "__iadd__", "__isub__", "__imul__", "__imatmul__", "__itruediv__", "__ifloordiv__",
    "__imod__", "__ipow__", "__ilshift__", "__irshift__", "__iand__", "__ixor__", "__ior__",
)  # fmt: skip
for _name in IN_PLACE_OPERATORS:
    setattr(ModuleProxy, _name, _refuse_in_place(_name))


def _as_class_attribute(value: Any) -> Any:
    # Plain functions are descriptors and would bind the proxy as `self`.
    if not isinstance(value, type) and hasattr(type(value), "__get__"):
        return staticmethod(value)
    return value


class ReadOnlyMapping(Mapping[Any, Any]):
    """An immutable mapping for state the whole process shares.

    Not ``MappingProxyType``: a mappingproxy applies ``==``, ``<``, ``|`` to the dict it
    wraps, and CPython hands that dict to the other operand's method, so a program's
    ``__eq__`` got the shared dict and wrote into it (red-team round 8). This one hands
    nothing: comparisons compare copies, and its one field is private to programs.
    No ``__init__``: one could be called again on a shared instance.
    """

    __slots__ = ("_items",)
    _items: dict[Any, Any]

    def __new__(cls, items: Mapping[Any, Any]) -> ReadOnlyMapping:
        made = super().__new__(cls)
        made._items = dict(items)
        return made

    def __getitem__(self, key: Any) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"ReadOnlyMapping({self._items!r})"


def _read_only_view(value: Mapping[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(ReadOnlyMapping(value))


def _translation_table(value: Mapping[int, Any]) -> tuple[Any, ...]:
    """A ``str.translate`` table as a tuple (ordinal -> replacement, every other ordinal to
    itself; past its end, unchanged): immutable, and as fast as the dict it replaces."""
    return tuple(value.get(ordinal, ordinal) for ordinal in range(max(value) + 1))


def load_catalogue_module(name: str) -> ModuleType:
    """Import a catalogue module for real (trusted code only), its shared state frozen and the
    whole catalogue prepared (see :func:`prepare_catalogue`)."""
    if name not in CATALOGUE:
        raise KeyError(name)
    prepare_catalogue()
    return importlib.import_module(name)


def prepare_catalogue() -> None:
    """Import every catalogue module, freeze its shared state, and give every catalogue class
    checked functions (:mod:`restricted_exec.language.catalogue_methods`); once per process.
    The fork server does it before forking (``warm_catalogue``); inline, the first run that
    loads a catalogue module does it."""
    global _catalogue_prepared
    if _catalogue_prepared:  # every run's per-run modules come through here: stay cheap
        return
    with _preparing:  # inline runs in several host threads may start at once
        if _catalogue_prepared:
            return
        for name in sorted(CATALOGUE):
            _freeze(name, importlib.import_module(name))
        catalogue_methods.prepare_catalogue_classes(catalogue_replacements())
        _catalogue_prepared = True


def catalogue_replacements() -> list[Any]:
    """What the sandbox serves in place of catalogue attributes: they lead to classes of its own
    that programs hold (a deterministic run's ``random.Random``, TextWrapper's frozen table)."""
    replacements = [value for table in _STATELESS_OVERRIDES.values() for value in table.values()]
    return [SeededRandom, ReadOnlyMapping, _system_random_denied, *replacements]


_catalogue_prepared = False
_preparing = threading.Lock()


def _freeze(name: str, module: ModuleType) -> None:
    for (owner_name, attribute), freeze in FROZEN_ATTRIBUTES.get(name, {}).items():
        if (name, owner_name, attribute) in _frozen:
            continue
        owner = module if owner_name is None else getattr(module, owner_name)
        # Item access carries no rule, so a list or dict the process shares would be
        # one object every run (and the host) can change; make it read-only.
        setattr(owner, attribute, freeze(vars(owner)[attribute]))
        _frozen.add((name, owner_name, attribute))


FROZEN_ATTRIBUTES: dict[str, dict[tuple[str | None, str], Callable[[Any], Any]]] = {
    # module -> (class or None for the module, attribute) -> read-only replacement: the
    # shared containers the catalogue walk in tests/security found, and what they reach.
    "calendar": {
        ("HTMLCalendar", "cssclasses"): tuple,
        ("HTMLCalendar", "cssclasses_weekday_head"): tuple,
    },
    "textwrap": {("TextWrapper", "unicode_whitespace_trans"): ReadOnlyMapping},
    # Every Field made without metadata gets this one mappingproxy of one shared dict.
    "dataclasses": {(None, "_EMPTY_METADATA"): _read_only_view},
    # re.escape(s) calls s.translate(_special_chars_map): a str subclass's own translate got
    # the dict every later re.escape uses (red-team round 10).
    "re": {(None, "_special_chars_map"): _translation_table},
}
_frozen: set[tuple[str, str | None, str]] = set()


_ABSENT = object()


def _make_proxy(name: str, module: ModuleType, overrides: dict[str, Any]) -> ModuleProxy:
    spec = CATALOGUE[name]
    namespace: dict[str, Any] = {"_catalogue_name": name, "__slots__": ()}
    for attribute in spec.allowed:
        value = overrides.get(attribute, _ABSENT)
        if value is _ABSENT:
            value = getattr(module, attribute, _ABSENT)
        if value is _ABSENT:
            # Allowed, but gone from this Python (re.T and re.TEMPLATE were removed in 3.13):
            # the program sees the same AttributeError as for any name the proxy lacks.
            continue
        if isinstance(value, ModuleType):  # the catalogue review forbids this; fail loudly
            raise RuntimeError(f"catalogue error: {name}.{attribute} is a module")
        namespace[attribute] = _as_class_attribute(value)
    proxy_class = type(f"{name}_module", (ModuleProxy,), namespace)
    # The stand-in every forwarded slot reaches instead of the real module (module docstring).
    proxy = proxy_class(ModuleType(name))
    proxy_class._initialised = True  # type: ignore[attr-defined]  # one proxy per class: no second __init__
    return proxy  # type: ignore[no-any-return]


# -- guarded replacements ----------------------------------------------------


def _attrgetter(*names: str) -> Callable[[Any], Any]:
    paths = [str.split(str.__str__(n), ".") for n in names]
    for path in paths:
        for part in path:
            checked_public_getattr(None, part) if part.startswith("_") else None

    def get(obj: Any) -> Any:
        values = []
        for path in paths:
            value = obj
            for part in path:
                value = checked_public_getattr(value, part)
            values.append(value)
        return values[0] if len(values) == 1 else tuple(values)

    return get


def _methodcaller(name: str, /, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    def call(obj: Any) -> Any:
        return checked_public_getattr(obj, name)(*args, **kwargs)

    return call


def _update_wrapper(wrapper: Any, wrapped: Any) -> Any:
    require_own("functools.update_wrapper", wrapper)
    # Only the names, as exact text: __annotations__ would be the wrapped object's own live
    # dict in the wrapper's namespace (a class's annotations, which the data-class front end
    # checks), and __type_params__ likewise.
    functools.update_wrapper(wrapper, wrapped, assigned=_WRAPPER_NAMES, updated=())
    # WRAPPER_UPDATES merges wrapped.__dict__ into the wrapper: from an object the program
    # does not own, that would hand it every private and special entry of that namespace;
    # from its own, the public entries only (a special name in an instance's namespace is
    # what copy and pickle take as the object's own hooks).
    if is_own(wrapped):
        entries = getattr(wrapped, "__dict__", {})
        wrapper.__dict__.update(
            {key: value for key, value in dict(entries).items() if not key.startswith("__")}
        )
    return wrapper


_WRAPPER_NAMES = ("__module__", "__name__", "__qualname__", "__doc__")


def _wraps(wrapped: Any) -> Callable[[Any], Any]:
    def decorate(wrapper: Any) -> Any:
        return _update_wrapper(wrapper, wrapped)

    return decorate


_WRAPPER_KEEPS = frozenset(functools.WRAPPER_ASSIGNMENTS) | {"__wrapped__"}


def _partialmethod(func: Any, /, *args: Any, **keywords: Any) -> Any:
    """``functools.partialmethod`` for a plain callable, a function, or a static or class
    method of the program's own function. Its ``__get__`` copies the ``__self__`` of what
    ``func.__get__`` returns onto the partial it hands out: ``staticmethod(len)`` put the real
    ``builtins`` module there (red-team round 14)."""
    if isinstance(func, staticmethod | classmethod):
        if not is_own(func.__func__):
            raise TypeError(
                "functools.partialmethod: a static or class method must wrap the program's "
                "own function"
            )
    elif type(func) is not FunctionType and hasattr(type(func), "__get__"):
        raise TypeError(
            f"functools.partialmethod: a {type(func).__name__} is not allowed; use a function"
        )
    return functools.partialmethod(func, *args, **keywords)


def _lru_cache(maxsize: Any = 128, typed: bool = False) -> Any:
    """``functools.lru_cache`` whose wrapper keeps no namespace of an object the program does
    not own: the real one merges the wrapped object's ``__dict__`` into its wrapper, and
    ``lru_cache(enum.Enum).name`` was the raw descriptor every Enum shares."""

    def decorate(function: Any, cache: Callable[[Any], Any]) -> Any:
        wrapper = cache(function)
        if not is_own(function):
            state = vars(wrapper)
            for key in [key for key in state if key not in _WRAPPER_KEEPS]:
                del state[key]
        return wrapper

    if callable(maxsize) and not isinstance(maxsize, bool | int):
        return decorate(maxsize, functools.lru_cache(typed=typed))
    real = functools.lru_cache(maxsize, typed)
    return lambda function: decorate(function, real)


def _cache(function: Any) -> Any:
    return _lru_cache(maxsize=None)(function)


def _total_ordering(cls: Any) -> Any:
    require_own("functools.total_ordering", cls)
    return functools.total_ordering(cls)


def _final(target: Any) -> Any:
    # typing.final marks what it can and ignores what it cannot; objects the
    # program does not own are left unmarked, exactly like an immutable one.
    return typing.final(target) if is_own(target) else target


def _runtime_checkable(cls: Any) -> Any:
    require_own("typing.runtime_checkable", cls)
    return typing.runtime_checkable(cls)


def _overload(function: Any) -> Any:
    # typing.overload records every decorated function in a process-wide
    # registry; this one returns the same kind of placeholder without recording.
    def overloaded(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "You should not call an overloaded function. A series of @typing.overload-"
            "decorated functions outside a stub module should always be followed by an "
            "implementation that is not @overload-ed."
        )

    return overloaded


# Where each re function takes `flags`, positionally.
_RE_FLAGS_POSITION = {
    "compile": 1,
    "search": 2,
    "match": 2,
    "fullmatch": 2,
    "findall": 2,
    "finditer": 2,
    "split": 3,
    "sub": 4,
    "subn": 4,
}


def _re_without_debug(name: str) -> Callable[..., Any]:
    """``re.<name>`` refusing ``re.DEBUG``, which prints the compiled pattern to the process's
    real stdout (the caller's, inline), past ``output_bytes``. The flags reach ``re`` as an
    exact int: a program's int subclass could answer ``flags & DEBUG`` as it likes."""
    function = getattr(re, name)
    position = _RE_FLAGS_POSITION[name]

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > position:
            flags = operator.index(args[position])
            args = (*args[:position], flags, *args[position + 1 :])
        elif "flags" in kwargs:
            flags = kwargs["flags"] = operator.index(kwargs["flags"])
        else:
            flags = 0
        if flags & re.DEBUG:
            raise ValueError(
                "re.DEBUG prints to the process's own stdout, which programs do not have; "
                "print the pattern instead"
            )
        return function(*args, **kwargs)

    guarded.__name__ = guarded.__qualname__ = name
    guarded.__doc__ = function.__doc__
    return guarded


# CLOCK_REALTIME .. CLOCK_TAI. A negative id names another process's CPU clock by pid.
_FIXED_CLOCK_IDS = frozenset(range(12))


def _fixed_clocks_only(name: str) -> Callable[[Any], Any]:
    """``time.<name>`` for the fixed clocks only: ``clock_gettime((~pid << 3) | 2)`` read any
    host process's CPU time (the kernel checks no permission), a side channel into other
    tenants' runs."""
    function = getattr(time, name)

    def guarded(clock_id: Any) -> Any:
        clock = operator.index(clock_id)
        if clock not in _FIXED_CLOCK_IDS:
            raise AccessDenied(
                f"time.{name}: clock {clock} is not one of the time module's CLOCK_ constants"
            )
        return function(clock)

    guarded.__name__ = guarded.__qualname__ = name
    guarded.__doc__ = function.__doc__
    return guarded


_STATELESS_OVERRIDES: dict[str, dict[str, Any]] = {
    "time": {
        name: _fixed_clocks_only(name)
        for name in ("clock_gettime", "clock_gettime_ns", "clock_getres")
    },
    "re": {name: _re_without_debug(name) for name in _RE_FLAGS_POSITION},
    "operator": {"attrgetter": _attrgetter, "methodcaller": _methodcaller},
    "functools": {
        "wraps": _wraps,
        "update_wrapper": _update_wrapper,
        "total_ordering": _total_ordering,
        "lru_cache": _lru_cache,
        "partialmethod": _partialmethod,
        "cache": _cache,
    },
    "dataclasses": {
        "dataclass": class_building.dataclass,
        "asdict": copying.asdict,
        "astuple": copying.astuple,
    },
    "collections": {"namedtuple": class_building.namedtuple},
    "typing": {
        "final": _final,
        "runtime_checkable": _runtime_checkable,
        "overload": _overload,
        "NamedTuple": class_building.GuardedNamedTuple,
        "NewType": class_building.GuardedNewType,
        "TypeVar": class_building.GuardedTypeVar,
        "TypedDict": class_building.GuardedTypedDict,
    },
}


DETERMINISTIC_SEED = 0
"""Where every generator of a deterministic run starts (and where ``seed()`` returns)."""


class SeededRandom(random.Random):
    """``random.Random`` whose default seed is fixed instead of drawn from the OS."""

    def seed(self, a: Any = None, version: int = 2) -> None:
        super().seed(DETERMINISTIC_SEED if a is None else a, version)


SeededRandom.__name__ = SeededRandom.__qualname__ = "Random"


def _system_random_denied(*args: Any, **kwargs: Any) -> Any:
    raise AccessDenied(
        "random.SystemRandom reads the operating system's entropy; a deterministic policy "
        "does not allow it"
    )


def _random_overrides(deterministic: bool) -> dict[str, Any]:
    # Private to this run: seeded from os.urandom, or from the fixed seed.
    generator = SeededRandom() if deterministic else random.Random()
    spec = CATALOGUE["random"]
    overrides = {
        name: getattr(generator, name)
        for name in spec.allowed
        if name not in ("Random", "SystemRandom")
    }
    if deterministic:
        overrides["Random"] = SeededRandom
        overrides["SystemRandom"] = _system_random_denied
    return overrides


# Modules CPython's own C code imports lazily through the calling frame's __import__ (the
# program's guarded one): datetime.strptime imports _strptime; from Python 3.12 arithmetic and
# conversions on huge ints import _pylong; from 3.13 decimal's C __format__ hands some format
# specs ('#', 'd' errors) to _pydecimal. The hook gives these to that C code; a program cannot
# ask for them (the compiler refuses underscore names and `__import__` itself). The fork server
# preloads them (runtime.warm_up): a locked-down child cannot read module files.
_INTERNAL_LAZY_IMPORTS = frozenset({"_strptime", "_pylong", "_pydecimal"})


class ModuleTable:
    """The proxies of one run: shared for stateless modules, fresh for per-run ones."""

    _shared: dict[str, ModuleProxy] = {}  # noqa: RUF012 - process-wide cache, by design

    def __init__(self, allowed: frozenset[str], *, deterministic: bool = False) -> None:
        self._allowed = allowed
        self._deterministic = deterministic
        self._per_run: dict[str, ModuleProxy] = {}

    @property
    def holds_per_run_state(self) -> bool:
        """Whether this table built a per-run proxy (a generator a run's draws come from)."""
        return bool(self._per_run)

    def get(self, name: str) -> ModuleProxy:
        """The proxy for ``name``; KeyError if the policy does not allow it."""
        if name not in self._allowed:
            raise KeyError(name)
        spec = CATALOGUE[name]
        if spec.per_run:
            proxy = self._per_run.get(name)
            if proxy is None:
                proxy = _make_proxy(
                    name, load_catalogue_module(name), _random_overrides(self._deterministic)
                )
                self._per_run[name] = proxy
            return proxy
        proxy = ModuleTable._shared.get(name)
        if proxy is None:
            overrides = _STATELESS_OVERRIDES.get(name, {})
            proxy = _make_proxy(name, load_catalogue_module(name), overrides)
            ModuleTable._shared[name] = proxy
        return proxy

    def import_hook(self) -> Callable[..., ModuleProxy]:
        """The ``__import__`` the program's import statements call."""

        def guarded_import(
            name: str,
            globals: Any = None,
            locals: Any = None,
            fromlist: Any = (),
            level: int = 0,
        ) -> ModuleProxy:
            if level != 0:
                raise ImportError("relative imports are not allowed: programs have no package")
            text = name if type(name) is str else str.__str__(name)
            if text in _INTERNAL_LAZY_IMPORTS:
                # C code (datetime.strptime) imports these through the calling
                # frame's __import__; the compiler refuses them in programs.
                return importlib.import_module(text)  # type: ignore[return-value]
            top = text.partition(".")[0]
            if text != top or top not in self._allowed:
                allowed = ", ".join(sorted(self._allowed))
                raise ImportError(f"`{text}` is not an allowed module; allowed: {allowed}")
            return self.get(top)

        return guarded_import


def warm_catalogue(names: frozenset[str]) -> None:
    """Import every catalogue module and build its proxy once (before forking)."""
    table = ModuleTable(names)
    for name in sorted(names):
        table.get(name)


_ = operator  # operator is imported so the module is loaded before forking

# Every Enum class reaches the functional API through EnumType, so its guard is process-wide
# (and inert outside a program's run).
class_building.guard_enum_functional_api()
class_building.guard_typing_alias_calls()
copying.guard_user_dict_copy()
