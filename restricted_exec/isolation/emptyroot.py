"""An empty root for the fork server and its children: no host path to learn anything from.

Landlock denies opening files, but not stat(), access(), readlink() or a path's existence, and
uname() reports the host's name: code past the language layer could still map the host's
filesystem (which packages, users, mounts) and name it. So the fork server, once warm (every
module it and its children will need is imported, every file it needs is open), moves into a
mount namespace and a UTS namespace of its own, makes every mount private (nothing it does
propagates back to the host), and changes its root to its empty working directory. Children
inherit all of it: "/" is an empty directory, /proc and /etc do not exist, and the hostname is
``sandbox``.

Both namespaces need CAP_SYS_ADMIN, so this works when the host runs as root; otherwise the layer
is reported unavailable (with why) and everything else works as before. A child also needs its
own /proc/self/statm once, before Landlock (rlimits.memory_footprint): the fork server keeps a
descriptor of /proc opened before the switch, which a child reads through and closes before it
locks down.
"""

from __future__ import annotations

import ctypes
import fcntl
import os

# linux/sched.h and linux/mount.h
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

HOSTNAME = b"sandbox"


def enter(directory: str) -> tuple[int | None, str]:
    """Move this process into an empty root at ``directory`` (an empty directory).

    Returns (a descriptor of the host's /proc opened before the switch, or None; "" on success
    or why it could not be done). On failure the process's root is unchanged."""
    if os.geteuid() != 0:
        return None, "needs root (CAP_SYS_ADMIN) for mount, UTS and IPC namespaces"
    libc = ctypes.CDLL(None, use_errno=True)
    # A fresh IPC namespace too: no SysV object or POSIX message queue of the host in sight.
    if libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC) != 0:
        return None, f"unshare: {os.strerror(ctypes.get_errno())}"
    # Private, recursively: the chroot below and anything mounted later stay in here.
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return None, f"mount private: {os.strerror(ctypes.get_errno())}"
    if libc.sethostname(HOSTNAME, len(HOSTNAME)) != 0:
        return None, f"sethostname: {os.strerror(ctypes.get_errno())}"
    try:
        opened = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        proc_fd = None  # memory_footprint then falls back to the peak RSS
    else:
        # Above every fd a child keeps (0-2 and its socket, which it moves to 3).
        proc_fd = fcntl.fcntl(opened, fcntl.F_DUPFD_CLOEXEC, 4)
        os.close(opened)
    try:
        os.chroot(directory)
        os.chdir("/")
    except OSError as error:
        if proc_fd is not None:
            os.close(proc_fd)
        return None, f"chroot: {error.strerror}"
    return proc_fd, ""
