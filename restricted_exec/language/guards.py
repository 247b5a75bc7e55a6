"""The runtime hooks the compiled program calls.

Each hook enforces one rule and shows the rewrite that calls it:

- ``_getattr_(a, "format")``     ``a.format`` / ``a.format_map``: the safe formatter;
                                 ``a.obj``: no ``AttributeError.obj``; ``a.register``: no
                                 ``ABCMeta.register`` on classes the program did not define;
                                 under a deterministic policy, ``a.now``/``today``/``utcnow``/
                                 ``samples``: no clock or entropy reads
- ``_private_(a, "_b")._b``      private attributes only on the program's own objects
                                 (plus namedtuple's ``_replace``/``_asdict``/``_fields``/``_make``)
- ``_special_(a, "__init__")``   special methods only on own objects, ``super()`` of them,
                                 and builtin classes
- ``_write_(a).b = v``           attribute writes only on the program's own objects
- ``_getiter_(it)``              the C builtin ``iter``: iteration carries no rule
- ``with _rx_with_(cm):``        the context manager's ``__exit__`` gets no traceback
- ``class C(B, metaclass=__metaclass__)``  marks C as the program's own class
- ``getattr``/``hasattr``/``setattr``/``delattr`` apply the same rules to computed names.

"Own objects" are defined in :mod:`restricted_exec.language.ownership`: the program's
classes, their instances, and the functions it defines. Nothing in the
catalogue is own, so a program cannot patch ``json.JSONEncoder`` or a module proxy.
"""

from __future__ import annotations

import abc
import collections
import datetime
import decimal
import keyword
import random
import statistics
from collections.abc import Callable
from contextvars import ContextVar
from types import (
    BuiltinMethodType,
    CodeType,
    FunctionType,
    MappingProxyType,
    MethodType,
    ModuleType,
    SimpleNamespace,
)
from typing import Any

from restricted_exec.language.attribute_rules import (
    NAMEDTUPLE_API,
    NONDETERMINISTIC_READS,
    RUNTIME_CHECKED,
    is_hook_like,
    is_private,
    is_special_method,
    mro_lookup,
    mro_of,
    namespace_of,
    read_denial,
    write_denial,
)
from restricted_exec.language.formatting import (
    bound_format,
    bound_format_map,
    unbound_format,
    unbound_format_map,
)
from restricted_exec.language.ownership import (
    CLASS_FACTORY,
    NAMED_RECORDS,
    PROGRAM_FILENAME,
    forwarding_reason,
    is_own,
    is_program_class,
)

__all__ = [
    "DETERMINISTIC_RUN",
    "PROGRAM_RUNNING",
    "AccessDenied",
    "ContextManagerGuard",
    "OutsideItsRun",
    "RunGuards",
    "checked_public_getattr",
    "require_own",
    "safe_type",
    "self_checked",
]

_MISSING: Any = object()
# The catalogue's own functions, read before the catalogue is prepared (preparing it imports
# this module first): the checks below compare raw_function() of what they find with these.
_ABC_REGISTER = abc.ABCMeta.register
_NORMAL_SAMPLES = statistics.NormalDist.samples
_STDLIB_SEED = random.Random.seed

DETERMINISTIC_RUN: ContextVar[bool] = ContextVar("restricted_exec_deterministic", default=False)
"""True while a program runs under a deterministic policy. A context variable, not
a global: an inline run sets it for its own thread only."""

PROGRAM_RUNNING: ContextVar[bool] = ContextVar("restricted_exec_program_running", default=False)
"""True while a program runs in this context: catalogue guards that patch a process-wide entry
point (the functional Enum API) apply their rules only then, and leave the host's calls alone."""


class OutsideItsRun(TypeError):
    """A program's function was called outside its run: after the run ended, or from another
    thread or run (a process-wide cache compared another caller's key with the program's
    object, whose ``__eq__`` would have run there). Nothing of the function ran.

    A TypeError, so that the catalogue's caches that treat an unusable key as a miss
    (``typing``'s parameter caches) compute the answer afresh instead of failing."""


def refuse_outside_its_run() -> bool:
    raise OutsideItsRun("a program's code runs only inside its own run")


_CHECKED_NAMES = RUNTIME_CHECKED | NONDETERMINISTIC_READS

WRITABLE_FOREIGN_TYPES: dict[type, str] = {
    # Types the program did not define whose attributes it may still set, each
    # with the reason no other run (nor the host) can see the change.
    decimal.Context: "every run computes in its own fresh context (getcontext().prec = 50)",
}


class AccessDenied(AttributeError):
    """A program tried to read or change something the policy denies."""


def _attribute_name(name: object) -> str:
    # A str subclass could lie through __eq__/__hash__/startswith; take its exact text.
    if type(name) is str:
        return name
    if isinstance(name, str):
        return str.__str__(name)
    raise TypeError(f"attribute name must be string, not '{type(name).__name__}'")


def _runtime_checked(obj: Any, name: str, default: Any) -> Any:
    # An object that forwards attribute access reads `obj` of whatever it wraps.
    if name == "obj" and (
        isinstance(obj, AttributeError | memoryview) or forwarding_reason(type(obj)) is not None
    ):
        raise AccessDenied(
            f'"{name}" of {type(obj).__name__} would hand out the object behind the failed '
            "lookup, which the program may never have held"
        )
    value = getattr(obj, name) if default is _MISSING else getattr(obj, name, default)
    # Judge what was found, not where: str.format reached through a str, a str
    # subclass, the str class or super() is the same C method in the end.
    if name in ("format", "format_map"):
        if value is str.format:
            return unbound_format
        if value is str.format_map:
            return unbound_format_map
        # Read off the class, UserString.format is the checked wrapper of the stdlib's function.
        function = raw_function(getattr(value, "__func__", value))
        if function is _USER_STRING_FORMAT or function is _USER_STRING_FORMAT_MAP:
            # UserString.format calls self.data.format natively: route it through this
            # check again, on its data.
            return _user_string_format(name, getattr(value, "__self__", None))
        if type(value) is BuiltinMethodType and isinstance(value.__self__, str):
            template = value.__self__
            if value.__name__ == "format":
                return bound_format(template)
            if value.__name__ == "format_map":
                return bound_format_map(template)
    elif name in NONDETERMINISTIC_READS and DETERMINISTIC_RUN.get():
        reason = _nondeterminism(value)
        if reason is not None:
            raise AccessDenied(f"{reason}; a deterministic policy does not allow it")
    elif name == "groupindex" and type(value) is MappingProxyType:
        return MappingProxyType(dict(value))
    elif name == "register" and raw_function(getattr(value, "__func__", None)) is _ABC_REGISTER:
        owner = value.__self__
        if not (isinstance(owner, type) and is_own(owner)):
            raise AccessDenied(
                "register() of an abstract base class the program did not define would "
                "change isinstance() for every later run"
            )
        # An ABC's isinstance() also asks its subclasses' registries: registering on the
        # program's subclass of typing.Mapping made every int a Mapping for the process.
        for ancestor in mro_of(owner)[1:]:
            if isinstance(ancestor, abc.ABCMeta) and not is_program_class(ancestor):
                raise AccessDenied(
                    f"register() on a subclass of {ancestor.__qualname__} would change "
                    f"isinstance() for {ancestor.__qualname__} itself, which every later run "
                    "shares"
                )
    return value


_USER_STRING_FORMAT = collections.UserString.format
_USER_STRING_FORMAT_MAP = collections.UserString.format_map


def _user_string_format(name: str, owner: Any) -> Callable[..., Any]:
    """``UserString.format``/``format_map`` as a program may call them: the safe formatter's
    answer for the string the UserString holds (bound to ``owner`` if it is not None)."""

    def call(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        return _runtime_checked(self.data, name, _MISSING)(*args, **kwargs)

    return call if owner is None else MethodType(call, owner)


def _nondeterminism(value: Any) -> str | None:
    # Judged by what was found, so a subclass, an instance or super() reach the
    # same verdict as the class itself.
    owner = getattr(value, "__self__", None)
    if (
        type(value) is BuiltinMethodType
        and value.__name__ in ("now", "today", "utcnow")
        and isinstance(owner, type)
        and issubclass(owner, datetime.date)
    ):
        return f"{owner.__name__}.{value.__name__}() reads the clock"
    # Through the checked wrapper the catalogue's classes carry (checked_catalogue_function).
    function = raw_function(getattr(value, "__func__", value))
    if function is _NORMAL_SAMPLES:
        return (
            "NormalDist.samples() can read the operating system's entropy (random.gauss is "
            "seeded under a deterministic policy)"
        )
    # The stdlib's own seed (reached past the sandbox's override, e.g. with super()) and
    # the C one beneath it seed from the OS when given no argument.
    if function is _STDLIB_SEED or (
        type(value) is BuiltinMethodType
        and value.__name__ == "seed"
        and isinstance(value.__self__, random.Random)
    ):
        return "the standard random.Random.seed() can read the operating system's entropy"
    return None


def checked_public_getattr(obj: Any, name: object) -> Any:
    """getattr for code that has no run context (operator.attrgetter's replacement).

    Reads ordinary names with the runtime-checked rules; refuses private names,
    which need to know the program's own classes.
    """
    text = _attribute_name(name)
    reason = read_denial(text)
    if reason is None and (is_private(text) or is_special_method(text)):
        reason = f'"{text}" is private; read it with obj.{text} in the program instead'
    if reason is not None:
        raise AccessDenied(reason)
    if text in _CHECKED_NAMES:
        return _runtime_checked(obj, text, _MISSING)
    return getattr(obj, text)


def _lookup_special(obj: Any, name: str) -> Any:
    """What CPython's special-method lookup finds: the type's attribute, bound to ``obj``."""
    found = mro_lookup(type(obj), name)
    if found is None:
        return _MISSING
    attribute = found[1]
    getter = getattr(type(attribute), "__get__", None)
    return attribute if getter is None else getter(attribute, obj, type(obj))


class CheckedDelegate:
    """What ``yield from x`` delegates to when the iterator is the program's own object.

    CPython looks ``send``, ``throw`` and ``close`` up as plain attributes of the delegate, so
    an own object can hold any callable there (``s.close = functools.partial(...)``), and
    finalising the suspended generator after its run (the garbage collector, in any thread)
    called it natively, past every check (red-team round 11). Here each first runs the run's
    check; iteration, sending, throwing and closing otherwise behave as CPython's delegation
    does (a missing ``throw`` raises the exception where the generator is suspended).
    """

    __slots__ = ("_check", "_iterator")

    def __init__(self, iterator: Any, check: Callable[[], None]) -> None:
        self._iterator = iterator
        self._check = check

    def __iter__(self) -> CheckedDelegate:
        return self

    def __next__(self) -> Any:
        return next(self._iterator)

    def send(self, value: Any) -> Any:
        self._check()
        if value is None:
            return next(self._iterator)
        return self._iterator.send(value)

    def throw(self, *exception: Any) -> Any:
        self._check()
        throw = getattr(self._iterator, "throw", None)
        if throw is None:
            kind = exception[0]
            raise kind if len(exception) == 1 else kind(exception[1])
        return throw(*exception)

    def close(self) -> Any:
        self._check()
        close = getattr(self._iterator, "close", None)
        return None if close is None else close()


class ContextManagerGuard:
    """What a program's ``with`` statement enters: its context manager, minus the traceback.

    The interpreter hands ``__exit__`` the real traceback of the exception that ended the
    block, and a traceback leads to frames and their globals. The program's manager gets
    ``None`` in its place; the exception type and value, and what ``__exit__`` returns, are
    passed through, except that it cannot swallow the sandbox's own control exceptions (the
    deadline, the output limit). Before the program's ``__exit__`` runs, the run's check runs:
    a suspended generator finalised after its run (by the garbage collector, in any thread)
    runs no program code, whatever function the class holds as ``__exit__``.
    """

    __slots__ = ("_check", "_control", "_enter", "_exit")

    def __init__(
        self,
        manager: Any,
        check: Callable[[], None] | None = None,
        control: tuple[type[BaseException], ...] = (),
    ) -> None:
        # The lookups, their order and their errors are CPython's (BEFORE_WITH).
        enter = _lookup_special(manager, "__enter__")
        if enter is _MISSING:
            raise TypeError(
                f"'{type(manager).__name__}' object does not support the context manager protocol"
            )
        exit_ = _lookup_special(manager, "__exit__")
        if exit_ is _MISSING:
            raise TypeError(
                f"'{type(manager).__name__}' object does not support the context manager "
                "protocol (missed __exit__ method)"
            )
        self._enter = enter
        self._exit = exit_
        self._check = check
        self._control = control

    def __enter__(self) -> Any:
        return self._enter()

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> Any:
        if self._check is not None:
            self._check()
        suppress = self._exit(kind, error, None)
        if suppress and kind is not None and issubclass(kind, self._control):
            return False
        return suppress


def _checked_unbound(source: Any, owner: type, name: str) -> Any:
    """What ``source.name`` may hand out when read from a class the program owns.

    Read from a class, a method comes unbound and takes any ``self``. The program's own
    functions guard what they touch; a method inherited from the catalogue does not
    (``TextWrapper.__init__`` sets attributes natively, ``property.__init__`` re-initialises),
    so it is handed out checking its ``self`` by MRO, as a C method checks its type.
    """
    found = getattr(source, name)
    if (
        (type(found) is FunctionType and found.__code__.co_filename == PROGRAM_FILENAME)
        or not callable(found)
        or type(found) is MethodType
    ):
        return source  # the program's own code, data, or a method bound already
    return SimpleNamespace(**{name: self_checked(owner, name, found)})


def self_checked(owner: type, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` refusing a first argument that is not an instance of ``owner`` by MRO, the
    way a C method descriptor checks its type (``isinstance`` would ask ``register``)."""

    def method(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        if owner not in mro_of(type(self)):
            raise TypeError(
                f"descriptor {name!r} for {owner.__name__!r} objects doesn't apply to a "
                f"{type(self).__name__!r} object"
            )
        return function(self, *args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"{owner.__name__}.{name}"
    method.__doc__ = getattr(function, "__doc__", None)
    return method


# -- the checked self of the catalogue's own functions ----------------------------------
#
# A function in a class namespace is the raw function when read off the class, and takes any
# first argument: calendar.Calendar.setfirstweekday(textwrap.TextWrapper, 3) wrote a private
# attribute natively onto another shared class (red-team round 16, E1). C methods refuse such
# a ``self`` themselves; these wrappers make the catalogue's Python functions do the same. The
# catalogue is prepared with them once per process (restricted_exec.language.catalogue_methods),
# before the fork server forks.

_RAW_FUNCTIONS: dict[FunctionType, FunctionType] = {}
"""Each checked wrapper and the function it stands for; nothing a program can read reaches
this table, and a wrapper keeps its function only in its closure (never ``__wrapped__``)."""
_CHECKED_FUNCTIONS: dict[tuple[type, FunctionType], FunctionType] = {}
_WRAPPER_SHAPES: dict[tuple[Any, ...], Callable[..., FunctionType]] = {}
_WRAPPER_FILENAME = "<restricted_exec: checked self>"
_VARARGS = 0x04  # inspect.CO_VARARGS, without importing inspect into the child
_VARKEYWORDS = 0x08  # inspect.CO_VARKEYWORDS
_NO_SELF: Any = object()


def raw_function(value: Any) -> Any:
    """The function a checked catalogue wrapper stands for; any other value as it is. For the
    guards that recognise a catalogue function by identity (``NormalDist.samples``)."""
    if type(value) is FunctionType:
        return _RAW_FUNCTIONS.get(value, value)
    return value


def is_checked_function(value: Any) -> bool:
    """Whether ``value`` is a checked wrapper of a catalogue function."""
    return type(value) is FunctionType and value in _RAW_FUNCTIONS


def refuse_foreign_self(owner: type, function: FunctionType, self: Any) -> None:
    """Called by a checked wrapper whose first argument is not an instance of ``owner`` by MRO:
    refuses it while a program runs in this context, and lets the host's own (odd) calls
    through unchanged."""
    if not PROGRAM_RUNNING.get():
        return
    if self is _NO_SELF:
        raise TypeError(
            f"descriptor {function.__name__!r} of {owner.__name__!r} object needs an argument"
        )
    raise TypeError(
        f"descriptor {function.__name__!r} for {owner.__name__!r} objects doesn't apply to a "
        f"{type(self).__name__!r} object"
    )


def _is_parameter_name(name: object) -> bool:
    return (
        type(name) is str
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_rx_")
    )


def _wrapper_shape(code: CodeType, defaults: int, keyword_defaults: frozenset[str]) -> Any:
    """The parameters of a function as a hashable shape, or None if they cannot be copied."""
    positional = code.co_argcount
    keyword_only = code.co_kwonlyargcount
    count = positional + keyword_only
    flags = code.co_flags
    if flags & _VARARGS:
        count += 1
    if flags & _VARKEYWORDS:
        count += 1
    names = code.co_varnames[:count]
    if positional == 0 or defaults > positional or not all(map(_is_parameter_name, names)):
        return None
    return (
        names,
        positional,
        code.co_posonlyargcount,
        keyword_only,
        bool(flags & _VARARGS),
        bool(flags & _VARKEYWORDS),
        defaults,
        tuple(sorted(keyword_defaults)),
    )


def _wrapper_maker(shape: Any) -> Callable[..., FunctionType]:
    """A factory of wrappers with exactly the given parameters: the call on to the function
    passes each by name or position as received, so no ``*args``/``**kwargs`` are packed and
    the call stays one CPython can specialise. Defaults are the function's own objects, handed
    to the factory, never written out as text; the names are the function's own identifiers."""
    known = _WRAPPER_SHAPES.get(shape)
    if known is not None:
        return known
    names, positional, positional_only, keyword_only, varargs, varkeywords, defaults, kw = shape
    parameters: list[str] = []
    arguments: list[str] = []
    factory_parameters = ["_rx_f", "_rx_owner", "_rx_mro", "_rx_type", "_rx_refuse"]
    first_default = positional - defaults
    for index in range(positional):
        name = names[index]
        if index >= first_default:
            factory_parameters.append(f"_rx_d{index}")
            parameters.append(f"{name}=_rx_d{index}")
        else:
            parameters.append(name)
        arguments.append(name)
        if index + 1 == positional_only:
            parameters.append("/")
    position = positional + keyword_only
    if varargs:
        parameters.append(f"*{names[position]}")
        arguments.append(f"*{names[position]}")
        position += 1
    elif keyword_only:
        parameters.append("*")
    for index in range(positional, positional + keyword_only):
        name = names[index]
        if name in kw:
            factory_parameters.append(f"_rx_k{index}")
            parameters.append(f"{name}=_rx_k{index}")
        else:
            parameters.append(name)
        arguments.append(f"{name}={name}")
    if varkeywords:
        parameters.append(f"**{names[position]}")
        arguments.append(f"**{names[position]}")
    self_name = names[0]
    call = f"_rx_f({', '.join(arguments)})"
    # The identity comparison first: an instance of exactly the owner, the common case, costs
    # one comparison; a subclass's instance the MRO (read without any metaclass code).
    source = (
        f"def _rx_make({', '.join(factory_parameters)}):\n"
        f"    def method({', '.join(parameters)}):\n"
        f"        _rx_kind = _rx_type({self_name})\n"
        f"        if _rx_kind is _rx_owner or _rx_owner in _rx_mro(_rx_kind):\n"
        f"            return {call}\n"
        f"        _rx_refuse(_rx_owner, _rx_f, {self_name})\n"
        f"        return {call}\n"
        f"    return method\n"
    )
    namespace: dict[str, Any] = {}
    # No builtins: the code names nothing but its parameters and the factory's.
    exec(compile(source, _WRAPPER_FILENAME, "exec"), {"__builtins__": {}}, namespace)
    maker: Callable[..., FunctionType] = namespace["_rx_make"]
    _WRAPPER_SHAPES[shape] = maker
    return maker


def _generic_wrapper(owner: type, function: FunctionType) -> FunctionType:
    # A function whose first parameter is *args: self is whatever comes first.
    def method(*args: Any, **kwargs: Any) -> Any:
        if args:
            kind = type(args[0])
            if kind is owner or owner in mro_of(kind):
                return function(*args, **kwargs)
        refuse_foreign_self(owner, function, args[0] if args else _NO_SELF)
        return function(*args, **kwargs)

    return method  # type: ignore[return-value]


def checked_catalogue_function(owner: type, function: FunctionType) -> FunctionType:
    """``function`` (found in ``owner``'s namespace) refusing, while a program runs, a first
    argument that is not an instance of ``owner`` by MRO, the way a C method descriptor checks
    its type. A wrapper with the function's own parameters, names, defaults, docstring and
    qualified name (so pickling by name, ``repr`` and argument errors read as before); the same
    wrapper for the same owner and function, so ``Calendar.firstweekday.fget is
    Calendar.getfirstweekday`` stays true."""
    key = (owner, function)
    made = _CHECKED_FUNCTIONS.get(key)
    if made is not None:
        return made
    code = function.__code__
    defaults = function.__defaults__ or ()
    keyword_defaults = function.__kwdefaults__ or {}
    shape = _wrapper_shape(code, len(defaults), frozenset(keyword_defaults))
    if shape is None:
        made = _generic_wrapper(owner, function)
    else:
        first = code.co_argcount
        keyword_only = code.co_varnames[first : first + code.co_kwonlyargcount]
        made = _wrapper_maker(shape)(
            function,
            owner,
            mro_of,
            type,
            refuse_foreign_self,
            *defaults,
            *[keyword_defaults[name] for name in keyword_only if name in keyword_defaults],
        )
    made.__code__ = made.__code__.replace(
        co_name=function.__name__, co_qualname=function.__qualname__
    )
    made.__name__ = function.__name__
    made.__qualname__ = function.__qualname__
    made.__module__ = function.__module__
    made.__doc__ = function.__doc__
    made.__annotations__ = function.__annotations__
    # Markers such as __isabstractmethod__ (abstract methods stay abstract for subclasses), but
    # never __wrapped__: the wrapper must not lead back to the raw function.
    made.__dict__.update(
        {name: value for name, value in function.__dict__.items() if name != "__wrapped__"}
    )
    _RAW_FUNCTIONS[made] = function
    _CHECKED_FUNCTIONS[key] = made
    return made


# Types whose __init__ only replaces items, which carry no rule (see compiler.visit_Subscript).
_ITEM_CONTAINERS = frozenset({list, dict, set, bytearray})
_OWN_ONLY_INITS: dict[type, SimpleNamespace] = {}


def _own_only_init(cls: type) -> SimpleNamespace:
    """What ``dict.__init__`` (any builtin class's ``__init__``) reads as in a program.

    Programs call it on their own objects (``dict.__init__(self)`` in a subclass). On an
    object the program does not own it would re-initialise it in place: ``property.__init__``
    of ``fractions.Fraction.numerator`` changed every Fraction of the process. The returned
    namespace's ``__init__`` refuses such a ``self``; plain containers stay allowed, since
    replacing their items is item access, which has no rule.
    """
    found = _OWN_ONLY_INITS.get(cls)
    if found is not None:
        return found
    init: Callable[..., None] = type.__getattribute__(cls, "__init__")

    def __init__(self: Any, /, *args: Any, **kwargs: Any) -> None:
        if not (is_own(self) or type(self) in _ITEM_CONTAINERS):
            raise AccessDenied(
                f"{cls.__name__}.__init__() would re-initialise a {type(self).__name__} object "
                "the program did not create"
            )
        init(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__name__}.__init__"
    found = _OWN_ONLY_INITS.setdefault(cls, SimpleNamespace(__init__=__init__))
    return found


def require_own(function: str, target: Any) -> None:
    """Refuse a catalogue function that changes its argument when the program does not own it."""
    if not is_own(target):
        raise AccessDenied(
            f"{function}() changes the object it is given, and programs may only change "
            f"objects they created, not {type(target).__name__} objects from the sandbox"
        )


# Classes whose constructor makes attributes of any names it is given.
_ATTRIBUTES_FROM_KEYWORDS: tuple[type, ...] = (SimpleNamespace,)


def safe_type(*args: Any) -> type:
    """``type(x)`` with one argument; never a metaclass, never class creation."""
    if len(args) != 1:
        raise TypeError(
            "type() takes exactly one argument in restricted_exec: creating classes with "
            "type(name, bases, namespace) is not allowed; use a class statement"
        )
    result = type(args[0])
    if isinstance(args[0], ModuleType):
        # A module proxy's own class (and wrapt's, above it) stays hidden, as
        # CPython's answer for a module is simply `module`.
        return ModuleType
    if issubclass(result, type):
        raise AccessDenied(
            "type() of a class is its metaclass, which programs cannot use; "
            "compare classes directly instead"
        )
    if issubclass(result, NAMED_RECORDS):
        # Built directly, past typing's front end: a name that is not text, which copy takes
        # from __reduce__ as the maker and state of a copy (red-team round 13).
        raise AccessDenied(
            f"type() of a {result.__name__} is not available to programs; call "
            f"typing.{result.__name__} instead"
        )
    if issubclass(result, _ATTRIBUTES_FROM_KEYWORDS):
        # SimpleNamespace(__reduce_ex__=f) put a copy hook into an instance (red-team round 12).
        raise AccessDenied(
            f"type() of a {result.__name__} is not available to programs: its constructor "
            "turns any keyword into an attribute, special names included"
        )
    reason = forwarding_reason(result)
    if reason is not None:
        # Its constructor would wrap any object the program chooses, and typing's aliases
        # take a name their __reduce__ looks up in typing's globals (red-team round 10).
        raise AccessDenied(f"type() of a {result.__name__} is not available to programs: {reason}")
    return result


def _namedtuple_api_allowed(obj: Any, name: str) -> bool:
    cls = obj if isinstance(obj, type) else type(obj)
    if not (issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)):
        return False
    if name == "_field_defaults":
        # A dict: only a namedtuple class the program made may hand out its own.
        definer = _defining_class(cls, name)
        return definer is not None and namespace_of(definer).get("__module__") == "__main__"
    return True


def _defining_class(cls: type, name: str) -> type | None:
    found = mro_lookup(cls, name)
    return None if found is None else found[0]


def _is_data_descriptor(attribute: Any) -> bool:
    kind = type(attribute)
    return hasattr(kind, "__set__") or hasattr(kind, "__delete__")


def _private_defined_by_program(obj: Any, name: str) -> bool:
    """Whether ``obj._name``, on an object the program owns, finds what the program defined.

    Owning an object is not owning every private name it answers to: a program's Enum class
    answers ``_convert_`` (a metaclass method that reads any module's globals), an own ABC
    ``_dump_registry``, an own subclass of a catalogue class that class's internals. The name
    must resolve, as CPython resolves it, to the instance's own state or to a namespace of a
    class the program wrote. ``_sunder_`` names (the stdlib's hooks and tables) never do: a
    program cannot bind them.
    """
    if is_hook_like(name):
        return False
    if isinstance(obj, type):
        definer = _defining_class(obj, name)
        if definer is not None:
            return is_program_class(definer)
        # Not in the class's MRO: the metaclass's, or nothing (the ordinary AttributeError).
        return _defining_class(type(obj), name) is None and (
            _defining_class(type(obj), "__getattr__") in (None, type)
        )
    cls = type(obj)
    definer = _defining_class(cls, name)
    if definer is not None and _is_data_descriptor(namespace_of(definer)[name]):
        return is_program_class(definer)
    try:
        state = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        state = None
    if type(state) is dict and name in state:
        return True
    if definer is not None:
        return is_program_class(definer)
    getattr_definer = _defining_class(cls, "__getattr__")
    return getattr_definer is None or is_program_class(getattr_definer)


class RunGuards:
    """The hooks of one run."""

    def __init__(
        self,
        program_globals: dict[str, Any],
        check: Callable[[], None] | None = None,
        control: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.program_globals = program_globals
        self.class_factory = CLASS_FACTORY
        self._check = check
        self._control = control

    def delegate_hook(self, iterable: Any) -> Any:
        """``yield from _rx_delegate_(x)``: the iterator, checked if it is the program's own."""
        iterator = iter(iterable)
        if is_own(iterator) and self._check is not None:
            return CheckedDelegate(iterator, self._check)
        return iterator

    def with_hook(self, manager: Any) -> ContextManagerGuard:
        """``with _rx_with_(cm):``: the manager, checked by this run (see ContextManagerGuard)."""
        return ContextManagerGuard(manager, self._check, self._control)

    @staticmethod
    def is_own(obj: Any) -> bool:
        return is_own(obj)

    # -- hooks the compiler emits ---------------------------------------

    def getattr_hook(self, obj: Any, name: str) -> Any:
        """``_getattr_(a, "format")``: the runtime-checked names, written statically."""
        return _runtime_checked(obj, name, _MISSING)

    def private_hook(self, obj: Any, name: str) -> Any:
        """``_private_(a, "_b")._b``: returns ``a`` if it may show private attributes."""
        if self.is_own(obj) and _private_defined_by_program(obj, name):
            return _checked_unbound(obj, obj, name) if isinstance(obj, type) else obj
        if name in NAMEDTUPLE_API and _namedtuple_api_allowed(obj, name):
            return obj
        raise AccessDenied(
            f'"{name}" is private to {type(obj).__name__}; programs may read private '
            "attributes only on objects they created, and only those their own code defined"
        )

    def special_hook(self, obj: Any, name: str) -> Any:
        """``_special_(a, "__init__").__init__``: special methods of objects the program owns.

        Allowed on the program's own objects and classes, on ``super()`` bound
        to them, and on builtin classes (``dict.__init__(self)``), whose slots
        need the instance passed explicitly. Not on catalogue objects: calling
        ``calendar.day_name.__init__("%a")`` would change an object every later
        run shares.
        """
        if self.is_own(obj):
            return _checked_unbound(obj, obj, name) if isinstance(obj, type) else obj
        if type(obj) is super:
            bound = obj.__self__  # type: ignore[attr-defined]
            if bound is not None and (self.is_own(bound) or self.is_own(type(bound))):
                # super(C, C) hands out functions unbound, like the class itself.
                return _checked_unbound(obj, bound, name) if isinstance(bound, type) else obj
        elif isinstance(obj, type) and obj.__module__ == "builtins":
            return _own_only_init(obj) if name == "__init__" else obj
        raise AccessDenied(
            f'"{name}" of {type(obj).__name__} objects is not available: programs may use '
            "special methods only on their own objects and builtin classes"
        )

    def write_hook(self, obj: Any) -> Any:
        """``_write_(a).b = v``: returns ``a`` if the program may change its attributes."""
        if self.is_own(obj) or type(obj) in WRITABLE_FOREIGN_TYPES:
            return obj
        raise AccessDenied(
            f"cannot change attributes of {type(obj).__name__} objects: programs may "
            "only change objects they created"
        )

    # -- builtins with computed names -----------------------------------

    def safe_getattr(self, obj: Any, name: Any, default: Any = _MISSING) -> Any:
        """``getattr(obj, name[, default])`` under the same rules as ``obj.name``."""
        text = _attribute_name(name)
        reason = read_denial(text)
        if reason is not None:
            raise AccessDenied(reason)
        if is_private(text):
            obj = self.private_hook(obj, text)
        elif is_special_method(text):
            obj = self.special_hook(obj, text)
        elif text in _CHECKED_NAMES:
            return _runtime_checked(obj, text, default)
        if default is _MISSING:
            return getattr(obj, text)
        return getattr(obj, text, default)

    def safe_hasattr(self, obj: Any, name: Any) -> bool:
        """``hasattr``: False for a missing attribute and for a denied one."""
        try:
            self.safe_getattr(obj, name)
        except AttributeError:
            return False
        return True

    def safe_setattr(self, obj: Any, name: Any, value: Any) -> None:
        """``setattr`` under the same rules as ``obj.name = value``."""
        text = _attribute_name(name)
        reason = write_denial(text)
        if reason is not None:
            raise AccessDenied(reason)
        setattr(self.write_hook(obj), text, value)

    def safe_delattr(self, obj: Any, name: Any) -> None:
        """``delattr`` under the same rules as ``del obj.name``."""
        text = _attribute_name(name)
        reason = write_denial(text)
        if reason is not None:
            raise AccessDenied(reason)
        delattr(self.write_hook(obj), text)

    def hooks(self) -> dict[str, Callable[..., Any]]:
        """The names the compiled program refers to."""
        return {
            "_getattr_": self.getattr_hook,
            "_private_": self.private_hook,
            "_special_": self.special_hook,
            "_write_": self.write_hook,
            "_getiter_": iter,
            "_rx_with_": self.with_hook,
            "_rx_delegate_": self.delegate_hook,
            "__metaclass__": CLASS_FACTORY,
        }
