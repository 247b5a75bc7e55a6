"""Names of the OS layers, which of them the kernel offers, and their wire encoding."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable

from restricted_exec.isolation import landlock, seccomp, syscalls

# Canonical order, used for every tuple of layer names the package reports.
ALL: tuple[str, ...] = (
    "rlimits",  # per-request address space, CPU, file size 0, few fds, no core dumps
    "no_new_privs",  # PR_SET_NO_NEW_PRIVS (+ not dumpable)
    "drop_root",  # uid/gid nobody, no capabilities (only when the fork server runs as root)
    "seccomp",  # syscall deny-list
    "landlock",  # no filesystem, no TCP, no signals or abstract sockets outside the child
    "setsid",  # own session and process group, so the watchdog's killpg reaches everything
    "closed_fds",  # every fd closed but the child's socket (0-2 are /dev/null)
    "empty_cwd",  # working directory is an empty, read-only directory
    "watchdog",  # the host SIGKILLs the process group when the wall-clock limit elapses
    "empty_root",  # "/" is an empty directory, the hostname is not the host's (emptyroot.py)
)
# Without these, untrusted code could reach the host: a run without them is refused unless
# degraded mode was explicitly allowed.
REQUIRED: frozenset[str] = frozenset({"rlimits", "no_new_privs", "seccomp", "landlock"})
# Applied by the host or unconditionally by the child on every platform.
ALWAYS: frozenset[str] = frozenset({"setsid", "closed_fds", "empty_cwd", "watchdog"})

_BIT = {name: 1 << index for index, name in enumerate(ALL)}


def ordered(names: Iterable[str]) -> tuple[str, ...]:
    wanted = set(names)
    return tuple(name for name in ALL if name in wanted)


def to_mask(names: Iterable[str]) -> int:
    mask = 0
    for name in names:
        mask |= _BIT[name]
    return mask


@functools.lru_cache(maxsize=64)
def from_mask(mask: int) -> tuple[str, ...]:
    """The names in ``mask``, in canonical order. Cached: every run decodes the same few masks
    (its child's hello and reply), on its critical path."""
    return tuple(name for name in ALL if mask & _BIT[name])


def with_host_layers(mask: int, *, drop_root: bool = False) -> tuple[str, ...]:
    """A child's reported ``mask`` plus the watchdog (which the host applies) and, if asked,
    drop_root (which the child reports only once it has happened), in canonical order."""
    return from_mask(mask | _BIT["watchdog"] | (_BIT["drop_root"] if drop_root else 0))


def probe() -> tuple[tuple[str, ...], dict[str, str]]:
    """What this process (the fork server) can give its children: (available layers, why
    others not).

    Run in the fork server because that is the process whose kernel, uid and architecture matter.
    """
    missing: dict[str, str] = {}
    available = set(ALWAYS)
    available.add("rlimits")
    if syscalls.IS_LINUX:
        available.add("no_new_privs")
    else:
        missing["no_new_privs"] = "PR_SET_NO_NEW_PRIVS is a Linux feature"
    if os.geteuid() == 0:
        available.add("drop_root")
    ok, why = seccomp.available()
    if ok:
        available.add("seccomp")
    else:
        missing["seccomp"] = why
    ok, why = landlock.available()
    if ok:
        available.add("landlock")
    else:
        missing["landlock"] = why
    return ordered(available), missing
