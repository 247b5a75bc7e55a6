"""Landlock: a ruleset that handles every access right the kernel knows and grants none.

With no rules, every handled access is denied for the rest of the process's life: it cannot open,
read, list, create, remove, truncate or ioctl any file by path, cannot bind or connect TCP sockets
(ABI >= 4), cannot connect to abstract Unix sockets outside its domain and cannot signal processes
outside its domain, i.e. anything but itself (ABI >= 6). Files already open stay usable, which is
why it is applied only after warm-up: the runtime has preloaded everything it will ever import.
"""

from __future__ import annotations

import ctypes
import os

from restricted_exec.isolation import syscalls

LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
# ABI 7: do not write audit records for denials in this process. Hostile code can trigger denials
# in a tight loop, and each would otherwise be an audit log line on the host.
LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF = 1 << 0

# Filesystem rights by the ABI that introduced them (linux/landlock.h).
_FS_ABI1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_FS_IOCTL_DEV = 1 << 15  # ABI 5
_NET_BIND_CONNECT_TCP = (1 << 0) | (1 << 1)  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET_AND_SIGNAL = (1 << 0) | (1 << 1)  # ABI 6


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


def abi_version() -> int:
    """The kernel's Landlock ABI, or 0 if Landlock is absent or disabled."""
    if not syscalls.IS_LINUX or not syscalls.IS_X86_64:
        return 0
    try:
        return syscalls.syscall(
            syscalls.NR_LANDLOCK_CREATE_RULESET,
            None,
            0,
            LANDLOCK_CREATE_RULESET_VERSION,
            what="landlock_create_ruleset(VERSION)",
        )
    except OSError:
        return 0


def _attr_for(abi: int) -> tuple[_RulesetAttr, int]:
    fs = _FS_ABI1
    if abi >= 2:
        fs |= _FS_REFER
    if abi >= 3:
        fs |= _FS_TRUNCATE
    if abi >= 5:
        fs |= _FS_IOCTL_DEV
    attr = _RulesetAttr(fs, 0, 0)
    # The struct grew over time; pass only the size this kernel understands, since a larger one
    # is rejected by older kernels even when the extra fields are zero-filled in newer ones.
    size = 8
    if abi >= 4:
        attr.handled_access_net = _NET_BIND_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET_AND_SIGNAL
        size = 24
    return attr, size


class Ruleset:
    """The ruleset for one ABI, built once (in the fork server) so that a child's ``restrict_self``
    makes its two syscalls and builds no ctypes objects: in a freshly forked child every Python
    object it touches costs a page fault."""

    def __init__(self, abi: int) -> None:
        self._attr, self._size = _attr_for(abi)
        # A pointer object, not an int: ctypes passes a bare int to a variadic call as a C int.
        self._attr_pointer = ctypes.c_void_p(ctypes.addressof(self._attr))
        self._flags = LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF if abi >= 7 else 0

    def restrict_self(self) -> None:
        """Deny the whole filesystem (and TCP, and out-of-domain signals) to the calling process.

        Requires no_new_privs (or CAP_SYS_ADMIN). Raises OSError if the kernel refuses.
        """
        ruleset_fd = syscalls.syscall(
            syscalls.NR_LANDLOCK_CREATE_RULESET,
            self._attr_pointer,
            self._size,
            0,
            what="landlock_create_ruleset",
        )
        try:
            syscalls.syscall(
                syscalls.NR_LANDLOCK_RESTRICT_SELF,
                ruleset_fd,
                self._flags,
                what="landlock_restrict_self",
            )
        finally:
            # The ruleset fd is no longer needed once enforced; leaving it open would hand the
            # program an fd it could use to enforce a derived ruleset on nothing (harmless) and
            # costs a slot.
            os.close(ruleset_fd)


def available() -> tuple[bool, str]:
    abi = abi_version()
    if abi <= 0:
        return False, "Landlock is not supported or not enabled by this kernel"
    return True, ""
