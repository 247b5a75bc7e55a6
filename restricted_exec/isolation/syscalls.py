"""The few raw Linux syscalls the stdlib does not wrap, called through ctypes.

Kept in one place so that every other module deals in Python values, and so that the libc handle
is created once in the fork server (before any fork) rather than in each child.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

IS_LINUX = sys.platform.startswith("linux")
# The seccomp filter hard-codes x86_64 syscall numbers; any other architecture must not load it.
IS_X86_64 = IS_LINUX and platform.machine() in ("x86_64", "AMD64")

# prctl options (linux/prctl.h)
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39

# x86_64 syscall numbers with no libc wrapper in glibc 2.36 / no Python binding.
NR_SECCOMP = 317
NR_LANDLOCK_CREATE_RULESET = 444
NR_LANDLOCK_ADD_RULE = 445
NR_LANDLOCK_RESTRICT_SELF = 446

# An argument of a variadic libc call: an int (passed as a C int), None (a NULL pointer), or a
# ctypes object (a pointer, or a value of its own C type).
if TYPE_CHECKING:
    Arg: TypeAlias = int | ctypes._SimpleCData[Any] | ctypes._CArgObject | None


# libc's prctl and syscall as ctypes function pointers, resolved once (see _load).
_prctl: Any = None
_syscall: Any = None


def _load() -> None:
    """Resolve libc's prctl and syscall, for the lock-down of freshly forked children, where every
    Python object a call touches is a copy-on-write page fault:

    * ``PyDLL``: a call keeps the GIL. These syscalls never block, and releasing and re-taking
      the GIL around each one is only more shared state to write to.
    * No ``argtypes``: glibc declares ``prctl`` and ``syscall`` variadic, so there are no
      parameter types to convert to. Integers travel as C ints (libffi widens them to the full
      register on x86_64, which is what the kernel reads) and pointers as ctypes objects made
      ahead of time. Converting every argument through ``c_ulong`` built four objects per call.
    * The two function pointers are module globals: fetching them from the library object on
      every call went through a method and the library class's ``__getattr__`` hook (CPython
      takes a reference to the hook even when the attribute exists), each a page to copy.

    In a freshly forked child a call through ``CDLL`` with ``argtypes`` touches many more
    objects, each a page fault (docs/performance.md, "Measurements behind the code").
    """
    global _prctl, _syscall
    # use_errno so failures surface as OSError with the real errno, not a bare -1.
    lib = ctypes.PyDLL(None, use_errno=True)
    lib.syscall.restype = ctypes.c_long
    lib.prctl.restype = ctypes.c_int
    _prctl, _syscall = lib.prctl, lib.syscall


def libc_function(name: str, *, keep_gil: bool = False) -> Callable[[], int] | None:
    """libc's ``name``, a function of no arguments that returns a C int, or None where there is
    none. With ``keep_gil`` (PyDLL) a call keeps the GIL, as ``fork`` must: the child then starts
    holding it, as the parent's only thread did."""
    try:
        library = ctypes.PyDLL(None, use_errno=True) if keep_gil else ctypes.CDLL(None)
        function = getattr(library, name)
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_int
    function.argtypes = []
    return cast("Callable[[], int]", function)


def load() -> None:
    """Resolve libc now (call in the fork server so that children never run dlopen/dlsym)."""
    if IS_LINUX and _prctl is None:
        _load()


def _check(result: int, what: str, detail: object = "") -> int:
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}{detail}: {os.strerror(errno)}")
    return result


def prctl(option: int, arg2: Arg = 0, arg3: Arg = 0, arg4: Arg = 0, arg5: Arg = 0) -> int:
    """prctl(2). Integer arguments must fit a C int; pass pointers as ctypes objects."""
    if _prctl is None:
        _load()
    return _check(_prctl(option, arg2, arg3, arg4, arg5), "prctl", (option,))


def syscall(number: int, *args: Arg, what: str) -> int:
    """syscall(2). Integer arguments must fit a C int; pass pointers as ctypes objects."""
    if _syscall is None:
        _load()
    return _check(int(_syscall(number, *args)), what)
