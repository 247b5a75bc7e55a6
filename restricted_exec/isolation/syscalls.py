"""The few raw Linux syscalls the stdlib does not wrap, called through ctypes.

Kept in one place so that every other module deals in Python values, and so that the libc handle
is created once in the zygote (before any fork) rather than in each child.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

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


class _Libc:
    """Lazily loaded libc with errno capture; absent (None) off Linux."""

    def __init__(self) -> None:
        self._lib: ctypes.CDLL | None = None

    def get(self) -> ctypes.CDLL:
        if self._lib is None:
            # use_errno so failures surface as OSError with the real errno, not a bare -1.
            lib = ctypes.CDLL(None, use_errno=True)
            lib.syscall.restype = ctypes.c_long
            lib.prctl.restype = ctypes.c_int
            lib.prctl.argtypes = [
                ctypes.c_int,
                ctypes.c_ulong,
                ctypes.c_ulong,
                ctypes.c_ulong,
                ctypes.c_ulong,
            ]
            self._lib = lib
        return self._lib


_libc = _Libc()


def load() -> None:
    """Resolve libc now (call in the zygote so that children never run dlopen/dlsym)."""
    if IS_LINUX:
        _libc.get()


def _check(result: int, what: str) -> int:
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_libc.get().prctl(option, arg2, arg3, arg4, arg5), f"prctl({option})")


def syscall(number: int, *args: object, what: str) -> int:
    return _check(int(_libc.get().syscall(number, *args)), what)
