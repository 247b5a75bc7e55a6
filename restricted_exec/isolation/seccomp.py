"""A hand-written seccomp-BPF deny-list for the child (x86_64 only).

Why a deny-list with default ALLOW rather than an allow-list: an allow-list of "what CPython needs"
depends on the exact glibc, CPython build and kernel (glibc swaps syscalls between releases, e.g.
clone3, rseq, newfstatat vs statx), so it breaks in ways that look like random crashes. The
dangerous surface is small and stable; the filter denies it, and Landlock, rlimits and dropping root
back it up. The kernel's seccomp action cache (5.11+) makes every syscall whose verdict does not
depend on its arguments cost nothing after the first call, so the linear chain below is cheap.

Why EPERM (ERRNO) rather than KILL: CPython turns EPERM into an ordinary PermissionError that the
language layer reports as the program's own error, and probing code learns nothing new. Only a
wrong-architecture syscall kills, because it means the filter's numbers do not apply.
"""

from __future__ import annotations

import ctypes
import errno
import struct

from restricted_exec.isolation import syscalls

# BPF opcodes (linux/filter.h, linux/bpf_common.h)
_BPF_LD_W_ABS = 0x00 | 0x00 | 0x20
_BPF_JMP_JEQ_K = 0x05 | 0x10 | 0x00
_BPF_JMP_JGE_K = 0x05 | 0x30 | 0x00
_BPF_JMP_JSET_K = 0x05 | 0x40 | 0x00
_BPF_RET_K = 0x06 | 0x00

# seccomp return actions (linux/seccomp.h)
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_MODE_FILTER = 2
SECCOMP_GET_ACTION_AVAIL = 2

AUDIT_ARCH_X86_64 = 0xC000003E
# x32 ABI syscalls are the x86_64 numbers with this bit set: they would bypass a filter that only
# compares x86_64 numbers, so everything at or above it is denied.
_X32_SYSCALL_BIT = 0x40000000

# struct seccomp_data offsets: int nr; u32 arch; u64 ip; u64 args[6]  (little-endian low words)
_OFF_NR = 0
_OFF_ARCH = 4


def _arg_low(index: int) -> int:
    return 16 + 8 * index


# Opening for writing: O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND (O_TMPFILE needs a write
# mode too). Landlock already denies every open; this also covers kernels without Landlock.
_OPEN_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000

# Syscalls denied outright with EPERM, grouped by the threat they close.
DENY_EPERM: dict[str, int] = {
    # network: no sockets at all (the child's one socket is already open)
    "socket": 41, "socketpair": 53, "connect": 42, "accept": 43, "bind": 49, "listen": 50,
    "accept4": 288,
    # running other programs
    "execve": 59, "execveat": 322,
    # new processes and threads (clone3 is handled separately with ENOSYS)
    "fork": 57, "vfork": 58, "clone": 56,
    # reaching into other processes
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "pidfd_open": 434, "pidfd_getfd": 438, "pidfd_send_signal": 424, "process_madvise": 440,
    "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297, "move_pages": 279, "migrate_pages": 256,
    "setpriority": 141, "sched_setaffinity": 203, "sched_setscheduler": 144,
    "sched_setparam": 142, "sched_setattr": 314, "ioprio_set": 251,
    # changing identity or escaping the session/process group the watchdog kills
    "setuid": 105, "setgid": 106, "setreuid": 113, "setregid": 114, "setresuid": 117,
    "setresgid": 119, "setgroups": 116, "setfsuid": 122, "setfsgid": 123, "capset": 126,
    "setsid": 112, "setpgid": 109,
    # raising its own limits (root could raise hard limits; everyone could raise soft ones)
    "setrlimit": 160, "prlimit64": 302,
    # namespaces and mounts
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272,
    "setns": 308, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "mount_setattr": 442, "open_tree_attr": 467,
    # kernel attack surface the program has no use for
    "bpf": 321, "perf_event_open": 298, "keyctl": 250, "add_key": 248, "request_key": 249,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246,
    "kexec_file_load": 320, "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "personality": 135, "modify_ldt": 154, "iopl": 172, "ioperm": 173, "syslog": 103,
    "vhangup": 153, "quotactl": 179, "quotactl_fd": 443, "lookup_dcookie": 212, "uselib": 134,
    "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305, "adjtimex": 159,
    "sethostname": 170, "setdomainname": 171, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "fanotify_init": 300, "fanotify_mark": 301,
    "inotify_add_watch": 254, "mbind": 237, "set_mempolicy": 238,
    # anonymous memory-backed files would let a program park memory outside RLIMIT_AS
    "memfd_create": 319, "memfd_secret": 447, "shmget": 29, "msgget": 68, "semget": 64,
    "mq_open": 240, "mq_unlink": 241,
    # changing the filesystem (Landlock denies these too; this covers kernels without it)
    "creat": 85, "mknod": 133, "mknodat": 259, "chmod": 90, "fchmod": 91, "fchmodat": 268,
    "fchmodat2": 452, "chown": 92, "fchown": 93, "lchown": 94, "fchownat": 260, "unlink": 87,
    "unlinkat": 263, "rename": 82, "renameat": 264, "renameat2": 316, "link": 86, "linkat": 265,
    "symlink": 88, "symlinkat": 266, "mkdir": 83, "mkdirat": 258, "rmdir": 84,
    "truncate": 76, "utime": 132, "utimes": 235, "futimesat": 261, "utimensat": 280,
    "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197,
    "lremovexattr": 198, "fremovexattr": 199, "setxattrat": 463, "removexattrat": 466,
    "fallocate": 285, "sync": 162, "syncfs": 306,
    # ftruncate (77) stays allowed: the child's only fds are /dev/null, its socket and pipes it
    # makes itself, none of which it can damage, and RLIMIT_FSIZE=0 forbids growing anything.
}

# Denied with ENOSYS: the caller's libc should fall back rather than fail. clone3 -> glibc retries
# with clone, which is then denied; openat2 takes its flags behind a pointer that BPF cannot read,
# so it is refused wholesale and CPython falls back to openat, whose flags are checked.
DENY_ENOSYS: dict[str, int] = {"clone3": 435, "openat2": 437}

# Syscalls whose first argument is the target pid (kill, tkill) or thread-group id (tgkill): allowed
# only when it is the child's own pid, which is baked into the filter (os.abort() uses tgkill).
SIGNAL_SELF_ONLY: dict[str, int] = {"kill": 62, "tkill": 200, "tgkill": 234}

# (syscall number, index of the flags argument) for opens whose write flags are refused.
OPEN_FLAG_CHECKS: dict[str, tuple[int, int]] = {"open": (2, 1), "openat": (257, 2)}

_PID_PLACEHOLDER = 0xFFFFFFFF
_INSN = struct.Struct("<HBBI")


def _stmt(code: int, k: int) -> bytes:
    return _INSN.pack(code, 0, 0, k)


def _jump(code: int, k: int, jt: int, jf: int) -> bytes:
    return _INSN.pack(code, jt, jf, k)


def _errno(value: int) -> int:
    return SECCOMP_RET_ERRNO | (value & 0xFFFF)


class FilterProgram:
    """The filter, assembled once (in the zygote) with a placeholder for the child's pid.

    ``install`` patches the pid into the child's copy-on-write copy and loads it, so the per-child
    cost is a few struct writes and one prctl.
    """

    def __init__(self) -> None:
        insns: list[bytes] = []
        self._pid_slots: list[int] = []
        insns.append(_stmt(_BPF_LD_W_ABS, _OFF_ARCH))
        insns.append(_jump(_BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, 1, 0))
        insns.append(_stmt(_BPF_RET_K, SECCOMP_RET_KILL_PROCESS))
        insns.append(_stmt(_BPF_LD_W_ABS, _OFF_NR))
        insns.append(_jump(_BPF_JMP_JGE_K, _X32_SYSCALL_BIT, 0, 1))
        insns.append(_stmt(_BPF_RET_K, _errno(errno.EPERM)))
        # Each block below ends in a return, so the accumulator is always the syscall number
        # when the next block's comparison runs.
        for nr in DENY_EPERM.values():
            insns.append(_jump(_BPF_JMP_JEQ_K, nr, 0, 1))
            insns.append(_stmt(_BPF_RET_K, _errno(errno.EPERM)))
        for nr in DENY_ENOSYS.values():
            insns.append(_jump(_BPF_JMP_JEQ_K, nr, 0, 1))
            insns.append(_stmt(_BPF_RET_K, _errno(errno.ENOSYS)))
        for nr, arg in OPEN_FLAG_CHECKS.values():
            insns.append(_jump(_BPF_JMP_JEQ_K, nr, 0, 4))
            insns.append(_stmt(_BPF_LD_W_ABS, _arg_low(arg)))
            insns.append(_jump(_BPF_JMP_JSET_K, _OPEN_WRITE_FLAGS, 0, 1))
            insns.append(_stmt(_BPF_RET_K, _errno(errno.EPERM)))
            insns.append(_stmt(_BPF_RET_K, SECCOMP_RET_ALLOW))
        for nr in SIGNAL_SELF_ONLY.values():
            insns.append(_jump(_BPF_JMP_JEQ_K, nr, 0, 4))
            # pid_t is 32 bits: the kernel ignores the high word, so comparing the low word is
            # exact (kill(-1, ...) and kill(0, ...) do not match and are denied).
            insns.append(_stmt(_BPF_LD_W_ABS, _arg_low(0)))
            self._pid_slots.append(len(insns))
            insns.append(_jump(_BPF_JMP_JEQ_K, _PID_PLACEHOLDER, 0, 1))
            insns.append(_stmt(_BPF_RET_K, SECCOMP_RET_ALLOW))
            insns.append(_stmt(_BPF_RET_K, _errno(errno.EPERM)))
        insns.append(_stmt(_BPF_RET_K, SECCOMP_RET_ALLOW))
        self.length = len(insns)
        self._buffer = ctypes.create_string_buffer(b"".join(insns), _INSN.size * self.length)

    def install(self, own_pid: int) -> None:
        """Load the filter into the calling process. Requires no_new_privs (or CAP_SYS_ADMIN)."""
        for slot in self._pid_slots:
            # Patch k (offset 4 within the 8-byte instruction) with this child's pid.
            struct.pack_into("<I", self._buffer, slot * _INSN.size + 4, own_pid)
        prog = _SockFprog(self.length, ctypes.cast(self._buffer, ctypes.c_void_p))
        syscalls.prctl(
            syscalls.PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0
        )


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def available() -> tuple[bool, str]:
    """Whether this kernel can enforce the filter, and why not if it cannot."""
    if not syscalls.IS_LINUX:
        return False, "seccomp is a Linux feature"
    if not syscalls.IS_X86_64:
        return False, "the seccomp filter is written for x86_64 syscall numbers only"
    try:
        syscalls.prctl(syscalls.PR_GET_SECCOMP)
        lib = syscalls._libc.get()
        for action in (SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ERRNO):
            value = ctypes.c_uint32(action)
            syscalls._check(
                int(lib.syscall(syscalls.NR_SECCOMP, SECCOMP_GET_ACTION_AVAIL, 0,
                                ctypes.byref(value))),
                "seccomp(GET_ACTION_AVAIL)",
            )
    except OSError as exc:
        return False, f"seccomp filters are unavailable: {exc}"
    return True, ""
