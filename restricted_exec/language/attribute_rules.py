"""Which attribute names a program may read, write and define, and why not.

One table serves the compiler (``a.b`` written in source, checked before
anything runs) and the runtime guards (``getattr(a, name)`` with a computed
name), so both give the same answer and the same reason.
"""

from __future__ import annotations

from typing import Any

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

__all__ = [
    "DEFINABLE_DUNDER_METHODS",
    "FRAME_ATTRIBUTES",
    "NAMEDTUPLE_API",
    "NONDETERMINISTIC_READS",
    "READABLE_DUNDERS",
    "RUNTIME_CHECKED",
    "is_dunder",
    "is_hook_like",
    "is_private",
    "is_special_method",
    "match_args_in_reach",
    "mro_lookup",
    "mro_of",
    "namespace_of",
    "native_read_denial",
    "read_denial",
    "write_denial",
]

READABLE_DUNDERS: frozenset[str] = frozenset(
    {
        # Each is a string, None, or (for the two exception links) an exception
        # the program could already catch; none leads to code, frames or globals.
        "__name__",
        "__qualname__",
        "__doc__",
        "__module__",
        "__cause__",
        "__context__",
    }
)

FRAME_ATTRIBUTES: frozenset[str] = frozenset(INSPECT_ATTRIBUTES) | frozenset(
    {
        # RestrictedPython's list covers frames, code, generators, coroutines and
        # tracebacks; these are the same family on newer objects.
        "f_generator",
        "gi_suspended",
        "ag_running",
    }
)

RUNTIME_CHECKED: frozenset[str] = frozenset(
    {
        # str.format / str.format_map follow "{0.attr}" paths in C, so they are
        # replaced by the safe formatter when read from a str.
        "format",
        "format_map",
        # AttributeError.obj (and memoryview.obj) hand out the object behind a
        # failed lookup, which may be one the program never held.
        "obj",
        # ABCMeta.register changes isinstance() answers process-wide.
        "register",
        # re.Pattern.groupindex is a mappingproxy of the pattern's own dict, which a
        # comparison hands to the other operand's method; patterns are shared (re's
        # cache, string.Template.pattern). Read as a proxy of a copy.
        "groupindex",
    }
)

NONDETERMINISTIC_READS: frozenset[str] = frozenset(
    {
        # Under a deterministic policy these are read through _getattr_, which
        # refuses them when what is found reads the clock (date.today,
        # datetime.now, datetime.utcnow) or the OS's entropy (NormalDist.samples
        # with no seed). Elsewhere the names are ordinary.
        "now",
        "today",
        "utcnow",
        "samples",
        # random.Random.seed with no argument draws from the OS; the sandbox's own
        # generators override it, but super() would reach the original.
        "seed",
    }
)

NAMEDTUPLE_API: frozenset[str] = frozenset(
    {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}
)
"""namedtuple's public-by-documentation API. ``_field_defaults`` is a dict, so it
is readable only on namedtuple classes the program made (``__module__`` is the
program's ``__main__``), never on catalogue ones such as ``decimal.DecimalTuple``."""

_OPERATORS = [
    "add",
    "sub",
    "mul",
    "truediv",
    "floordiv",
    "mod",
    "pow",
    "matmul",
    "and",
    "or",
    "xor",
    "lshift",
    "rshift",
    "divmod",
]

DEFINABLE_DUNDER_METHODS: frozenset[str] = frozenset(
    [
        "__init__",
        "__post_init__",
        "__repr__",
        "__str__",
        "__format__",
        "__eq__",
        "__ne__",
        "__lt__",
        "__le__",
        "__gt__",
        "__ge__",
        "__hash__",
        "__bool__",
        "__len__",
        "__iter__",
        "__next__",
        "__reversed__",
        "__contains__",
        "__getitem__",
        "__setitem__",
        "__delitem__",
        "__call__",
        "__enter__",
        "__exit__",
        "__neg__",
        "__pos__",
        "__abs__",
        "__invert__",
        "__round__",
        "__int__",
        "__float__",
        "__index__",
        "__missing__",
    ]
    + [f"__{op}__" for op in _OPERATORS]
    + [f"__r{op}__" for op in _OPERATORS]
    + [f"__i{op}__" for op in _OPERATORS if op != "divmod"]
)
"""Special methods a program's classes may define.

Each is called by the interpreter with ordinary arguments, so defining one
grants nothing the program did not have. Hooks that run at odd times or in the
host (``__del__``, ``__getattribute__``, ``__set_name__``, ``__init_subclass__``,
``__class_getitem__``, ``__reduce__``) are not in the list.
"""


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def is_private(name: str) -> bool:
    """``_balance`` or ``__balance``: private by convention, not a special name."""
    return name.startswith("_") and not is_dunder(name) and name != "_"


INTROSPECTION_DENIED: dict[str, str] = {
    "mro": "walks a class's bases to classes the program was never given",
}


def read_denial(name: str) -> str | None:
    """The reason reading ``obj.name`` is denied for every object, or None."""
    if name in INTROSPECTION_DENIED:
        return f'"{name}" is denied: it {INTROSPECTION_DENIED[name]}'
    if name.startswith("_abc_"):
        return f'"{name}" is the abc module\'s state of a class, shared with its bases'
    if name in FRAME_ATTRIBUTES:
        return f'"{name}" exposes interpreter frames, code or tracebacks and is denied'
    if name.endswith("__roles__"):
        return f'"{name}" is a reserved security name'
    if is_dunder(name) and name not in READABLE_DUNDERS | DEFINABLE_DUNDER_METHODS:
        allowed = ", ".join(sorted(READABLE_DUNDERS))
        return (
            f'"{name}" is a special attribute; programs may read only {allowed}, '
            "and special methods such as __init__ on their own objects"
        )
    return None


def is_special_method(name: str) -> bool:
    """A definable special method (``__init__``, ``__add__``): readable on own objects only."""
    return name in DEFINABLE_DUNDER_METHODS


def is_hook_like(name: str) -> bool:
    """Names the compiler's generated code uses (``_getattr_``, ``_rx_value_``,
    ``_rx_math__sqrt_``).

    A program may not bind them: a class-body ``_write_ = ...`` would replace
    the guard for the rest of that class body.
    """
    return name.endswith("_") or name.startswith(("_rx", "_tmp"))


def write_denial(name: str) -> str | None:
    """The reason assigning or deleting ``obj.name`` is denied for every object, or None."""
    if name in FRAME_ATTRIBUTES or name.endswith("__roles__"):
        return f'"{name}" is a reserved name and cannot be assigned'
    if is_dunder(name):
        return f'"{name}" is a special attribute and cannot be assigned'
    if name.startswith("_abc_"):
        # Deleting an own class's _abc_impl made register() write the catalogue base's.
        return f'"{name}" is the abc module\'s state of a class and cannot be assigned'
    if name.startswith("_") and is_hook_like(name):
        # `_missing_`, `_generate_next_value_`: the stdlib's hooks, which a class body may not
        # define either; `_rx...`: the sandbox's.
        return f'"{name}" is reserved (a hook name) and cannot be assigned'
    return None


def native_read_denial(name: str) -> str | None:
    """The reason ``name`` may not be read natively (in C, past every guard) from any object.

    Code the standard library generates from names a program hands it (a namedtuple's or a
    data class's fields, and a class pattern's ``__match_args__``) reads those names with no
    guard, on objects the program may not own. Such a name must be one that ``obj.name``
    written in the program would compile to a plain read: not denied, not private, not
    special, not one the runtime checks.
    """
    reason = read_denial(name)
    if reason is not None:
        return reason
    if is_dunder(name):
        return f'"{name}" is a special attribute'
    if is_private(name) or name == "_":
        return f'"{name}" is private, and private attributes are read only on own objects'
    if name in RUNTIME_CHECKED or name in NONDETERMINISTIC_READS:
        return f'"{name}" is checked each time it is read, so it cannot be read natively'
    return None


def match_args_in_reach(cls: type) -> tuple[str, ...] | None:
    """What ``cls.__match_args__`` may be, if it must change: the names before the first one
    that cannot be read natively; None if it may stay as it is.

    A positional class pattern ``case C(v)`` reads ``C.__match_args__[0]`` from the subject
    in C, and ``register`` or a protocol can make any object the subject. A data class with a
    private field ``_balance`` (or one named ``format``) keeps its field, its ``__init__`` and
    its repr; only positional matching stops before that field, with CPython's "accepts N
    positional sub-patterns" error if a pattern asks for more. Found by walking the class's
    and its metaclass's namespaces, as CPython's lookup would, without running a descriptor.
    """
    found = mro_lookup(cls, "__match_args__") or mro_lookup(type(cls), "__match_args__")
    if found is None:
        return None
    names = found[1]
    if type(names) is not tuple:
        return ()
    for index, name in enumerate(names):
        if type(name) is not str or native_read_denial(name) is not None:
            return names[:index]
    return None


mro_of = type.__dict__["__mro__"].__get__
"""A class's MRO, read without running any ``__getattribute__`` of its metaclass."""
namespace_of = type.__dict__["__dict__"].__get__
"""A class's own namespace, read the same way."""


def mro_lookup(cls: type, name: str) -> tuple[type, Any] | None:
    """The class that defines ``name`` for ``cls`` and the value there, found as CPython's type
    lookup finds it (the MRO's own namespaces; no descriptor run, no metaclass); None if none."""
    for klass in mro_of(cls):
        namespace = namespace_of(klass)
        if name in namespace:
            return klass, namespace[name]
    return None
