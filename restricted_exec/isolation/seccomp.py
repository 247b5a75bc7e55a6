"""A hand-written seccomp-BPF deny-list for the child (x86_64 only).

Why a deny-list with default ALLOW rather than an allow-list: an allow-list of "what CPython needs"
depends on the exact glibc, CPython build and kernel (glibc swaps syscalls between releases, e.g.
clone3, rseq, newfstatat vs statx), so it breaks in ways that look like random crashes. The
dangerous surface is small and stable; the filter denies it, and Landlock, rlimits and dropping root
back it up. The kernel's seccomp action cache (5.11+) lets every syscall whose verdict does not
depend on its arguments skip the filter entirely, so a deny-list costs the program nothing.

The filter is installed while the pre-forked child waits, off the request's critical path. The
per-request limits are then set on the child from outside, by the host with prlimit(2), so the
filter can forbid every limit change from inside.

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
_BPF_ALU_AND_K = 0x04 | 0x50 | 0x00
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
    "socket": 41,
    "socketpair": 53,
    "connect": 42,
    "accept": 43,
    "bind": 49,
    "listen": 50,
    "accept4": 288,
    # running other programs
    "execve": 59,
    "execveat": 322,
    # new processes and threads (clone3 is handled separately with ENOSYS)
    "fork": 57,
    "vfork": 58,
    "clone": 56,
    # reaching into other processes
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kcmp": 312,
    "pidfd_open": 434,
    "pidfd_getfd": 438,
    "pidfd_send_signal": 424,
    "process_madvise": 440,
    "rt_sigqueueinfo": 129,
    "rt_tgsigqueueinfo": 297,
    "move_pages": 279,
    "migrate_pages": 256,
    "setpriority": 141,
    "sched_setaffinity": 203,
    "sched_setscheduler": 144,
    "sched_setparam": 142,
    "sched_setattr": 314,
    "ioprio_set": 251,
    # changing identity or escaping the session/process group the watchdog kills
    "setuid": 105,
    "setgid": 106,
    "setreuid": 113,
    "setregid": 114,
    "setresuid": 117,
    "setresgid": 119,
    "setgroups": 116,
    "setfsuid": 122,
    "setfsgid": 123,
    "capset": 126,
    # capget's pid is behind a pointer BPF cannot read; it answered for every host pid.
    "capget": 125,
    "setsid": 112,
    "setpgid": 109,
    # (setrlimit and prlimit64 are handled by base_rules and limits_lock_rules below)
    # namespaces and mounts
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "unshare": 272,
    "setns": 308,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "open_tree_attr": 467,
    # kernel attack surface the program has no use for
    "bpf": 321,
    "perf_event_open": 298,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "reboot": 169,
    "swapon": 167,
    "swapoff": 168,
    "acct": 163,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "personality": 135,
    "modify_ldt": 154,
    "iopl": 172,
    "ioperm": 173,
    "syslog": 103,
    "vhangup": 153,
    "quotactl": 179,
    "quotactl_fd": 443,
    "lookup_dcookie": 212,
    "uselib": 134,
    "settimeofday": 164,
    "clock_settime": 227,
    "clock_adjtime": 305,
    "adjtimex": 159,
    "sethostname": 170,
    "setdomainname": 171,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "fanotify_init": 300,
    "fanotify_mark": 301,
    "inotify_add_watch": 254,
    "mbind": 237,
    "set_mempolicy": 238,
    # anonymous memory-backed files would let a program park memory outside RLIMIT_AS
    "memfd_create": 319,
    "memfd_secret": 447,
    "shmget": 29,
    # SysV IPC: the children make no objects (shmget/msgget/semget), and must not stat, attach,
    # read, write or signal the host's (the *_STAT_ANY commands list them whatever their mode).
    "shmat": 30,
    "shmctl": 31,
    "shmdt": 67,
    "semop": 65,
    "semctl": 66,
    "semtimedop": 220,
    "msgsnd": 69,
    "msgrcv": 70,
    "msgctl": 71,
    "msgget": 68,
    "semget": 64,
    "mq_open": 240,
    "mq_unlink": 241,
    # changing the filesystem (Landlock denies these too; this covers kernels without it)
    "creat": 85,
    "mknod": 133,
    "mknodat": 259,
    "chmod": 90,
    "fchmod": 91,
    "fchmodat": 268,
    "fchmodat2": 452,
    "chown": 92,
    "fchown": 93,
    "lchown": 94,
    "fchownat": 260,
    "unlink": 87,
    "unlinkat": 263,
    "rename": 82,
    "renameat": 264,
    "renameat2": 316,
    "link": 86,
    "linkat": 265,
    "symlink": 88,
    "symlinkat": 266,
    "mkdir": 83,
    "mkdirat": 258,
    "rmdir": 84,
    "truncate": 76,
    "utime": 132,
    "utimes": 235,
    "futimesat": 261,
    "utimensat": 280,
    "setxattr": 188,
    "lsetxattr": 189,
    "fsetxattr": 190,
    "removexattr": 197,
    "lremovexattr": 198,
    "fremovexattr": 199,
    "setxattrat": 463,
    "removexattrat": 466,
    "fallocate": 285,
    "sync": 162,
    "syncfs": 306,
    # ftruncate (77) stays allowed: the child's only fds are /dev/null, its socket and pipes it
    # makes itself, none of which it can damage, and RLIMIT_FSIZE=0 forbids growing anything.
}

# Denied with ENOSYS: the caller's libc should fall back rather than fail. clone3 -> glibc retries
# with clone, which is then denied; openat2 takes its flags behind a pointer that BPF cannot read,
# so it is refused wholesale and CPython falls back to openat, whose flags are checked.
# sysinfo answers with the host's process count, load and free memory: a live view of other
# tenants' activity (glibc's sysconf(_SC_PHYS_PAGES), its one user here, copes with ENOSYS).
DENY_ENOSYS: dict[str, int] = {"clone3": 435, "openat2": 437, "sysinfo": 99}

# Syscalls whose first argument is the target pid (kill, tkill) or thread-group id (tgkill): allowed
# only when it is the child's own pid, which is baked into the filter (os.abort() uses tgkill).
SIGNAL_SELF_ONLY: dict[str, int] = {"kill": 62, "tkill": 200, "tgkill": 234}

# Syscalls that read another process's session, group, priority, scheduling or affinity by pid
# (first argument, or second for getpriority's `who`): allowed only for 0 (the caller) or the
# child's own pid. Without them a child could list every pid of the host (getsid answers for
# any) and its sessions.
PID_SELF_ONLY: dict[str, tuple[int, int]] = {
    "getsid": (124, 0),
    "getpgid": (121, 0),
    "getpriority": (140, 1),
    "sched_getaffinity": (204, 0),
    "sched_getparam": (143, 0),
    "sched_getscheduler": (145, 0),
    "sched_rr_get_interval": (148, 0),
    "sched_getattr": (315, 0),
    "ioprio_get": (252, 1),
    "get_robust_list": (274, 0),
}

# Syscalls that take a clock id first: allowed only for the fixed clocks (CLOCK_REALTIME ..
# CLOCK_TAI). Negative ids name another process's or thread's CPU clock, by pid, and the
# kernel answers for any pid: a list of the host's processes and their CPU time.
CLOCK_ID_FIRST: dict[str, int] = {
    "clock_gettime": 228,
    "clock_getres": 229,
    "clock_nanosleep": 230,
    "timer_create": 222,
}
FIXED_CLOCKS: tuple[int, ...] = tuple(range(12))

# futex's priority-inheritance operations look up the owner's thread id that the lock word
# names: ESRCH or not told a child which pids exist on the host (40,000 pids in 57 ms, red-team
# round 8). Refused whatever the private/clock flags; nothing the runtime runs uses PI locks.
NR_FUTEX = 202
FUTEX_COMMAND_MASK = 0x7F
FUTEX_PI_COMMANDS: tuple[int, ...] = (6, 7, 8, 11, 12, 13)  # LOCK_PI .. LOCK_PI2

# (syscall number, argument index, refused values). fcntl F_SETOWN/F_SETOWN_EX/F_SETSIG and
# the ioctls FIOSETOWN/SIOCSPGRP make the kernel signal another process when a descriptor is
# ready (SIGIO to any pid, where Landlock's signal scoping is older than ABI 6); F_SETLEASE
# signals on another's open. getsockopt SO_PEERCRED/SO_PEERSEC/SO_PEERGROUPS/SO_PEERPIDFD name the
# host process at the other end of the child's socket.
ARG_REFUSED: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "fcntl": (72, 1, (8, 10, 15, 1024)),
    "ioctl": (16, 1, (0x8901, 0x8902)),
    "getsockopt": (55, 2, (17, 31, 59, 77)),
}

# (syscall number, index of the flags argument) for opens whose write flags are refused.
OPEN_FLAG_CHECKS: dict[str, tuple[int, int]] = {"open": (2, 1), "openat": (257, 2)}

NR_SETRLIMIT = 160
NR_PRLIMIT64 = 302
NR_SETGROUPS = 116
NR_SETRESUID = 117
NR_SETRESGID = 119

_PID_PLACEHOLDER = 0xFFFFFFFF
_PID_PLACEHOLDER_BYTES = b"\xff\xff\xff\xff"
_INSN = struct.Struct("<HBBI")
_BPF_JMP_JA = 0x05 | 0x00


def _stmt(code: int, k: int) -> bytes:
    return _INSN.pack(code, 0, 0, k)


def _jump(code: int, k: int, jt: int, jf: int) -> bytes:
    return _INSN.pack(code, jt, jf, k)


def _errno(value: int) -> int:
    return SECCOMP_RET_ERRNO | (value & 0xFFFF)


_EPERM = _errno(errno.EPERM)
_ENOSYS = _errno(errno.ENOSYS)


def _ret(action: int) -> list[bytes]:
    return [_stmt(_BPF_RET_K, action)]


def _if_flags_set(arg: int, mask: int) -> list[bytes]:
    """EPERM if any of ``mask`` is set in argument ``arg`` (low word), else allow."""
    return [
        _stmt(_BPF_LD_W_ABS, _arg_low(arg)),
        _jump(_BPF_JMP_JSET_K, mask, 0, 1),
        _stmt(_BPF_RET_K, _EPERM),
        _stmt(_BPF_RET_K, SECCOMP_RET_ALLOW),
    ]


def _unless_arg_in(arg: int, allowed: tuple[int, ...]) -> list[bytes]:
    """Allow if argument ``arg`` (low word) is one of ``allowed``, else EPERM.

    pid_t and clockid_t are 32 bits: the kernel ignores the high word, so comparing the low
    word is exact. ``_PID_PLACEHOLDER`` in ``allowed`` is patched with the child's pid at
    install time.
    """
    return _decide_by_arg(arg, allowed, if_listed=SECCOMP_RET_ALLOW, otherwise=_EPERM)


def _if_arg_in(arg: int, refused: tuple[int, ...]) -> list[bytes]:
    """EPERM if argument ``arg`` (low word) is one of ``refused``, else allow."""
    return _decide_by_arg(arg, refused, if_listed=_EPERM, otherwise=SECCOMP_RET_ALLOW)


def _if_masked_arg_in(arg: int, mask: int, refused: tuple[int, ...]) -> list[bytes]:
    """EPERM if argument ``arg`` (low word) ANDed with ``mask`` is one of ``refused``."""
    load, *compare = _decide_by_arg(arg, refused, if_listed=_EPERM, otherwise=SECCOMP_RET_ALLOW)
    return [load, _stmt(_BPF_ALU_AND_K, mask), *compare]


def _decide_by_arg(
    arg: int, values: tuple[int, ...], *, if_listed: int, otherwise: int
) -> list[bytes]:
    insns = [_stmt(_BPF_LD_W_ABS, _arg_low(arg))]
    for index, value in enumerate(values):
        # Equal: jump over the remaining comparisons and the `otherwise` return.
        insns.append(_jump(_BPF_JMP_JEQ_K, value, len(values) - index, 0))
    insns.append(_stmt(_BPF_RET_K, otherwise))
    insns.append(_stmt(_BPF_RET_K, if_listed))
    return insns


def _intervals(rules: dict[int, list[bytes]]) -> list[tuple[int, list[bytes]]]:
    """Partition all syscall numbers into (start, block) intervals, merging neighbours that share
    a verdict; numbers without a rule fall into ALLOW intervals."""
    allow = _ret(SECCOMP_RET_ALLOW)
    intervals: list[tuple[int, list[bytes]]] = [(0, allow)]
    for nr in sorted(rules):
        block = rules[nr]
        if intervals[-1][0] == nr:  # only possible for nr 0
            intervals[-1] = (nr, block)
        elif intervals[-1][1] != block or _PID_PLACEHOLDER_BYTES in b"".join(block):
            intervals.append((nr, block))
        if nr + 1 not in rules:
            intervals.append((nr + 1, allow))
    merged: list[tuple[int, list[bytes]]] = []
    for start, block in intervals:
        if merged and merged[-1][1] == block and len(block) == 1:
            continue
        merged.append((start, block))
    return merged


def _dispatch(intervals: list[tuple[int, list[bytes]]]) -> list[bytes]:
    """A binary search over the intervals (sorted by start, covering every number).

    A tree rather than a linear chain of comparisons: the kernel runs (and JIT-compiles) the
    filter when it is attached and runs it for every arg-dependent syscall, so fewer and shorter
    paths make the per-child install and those calls cheap. Every interval's block ends in a
    return, so the accumulator always holds the syscall number when a comparison runs.
    """
    if len(intervals) == 1:
        return list(intervals[0][1])
    middle = len(intervals) // 2
    left = _dispatch(intervals[:middle])
    right = _dispatch(intervals[middle:])
    split = intervals[middle][0]
    if len(left) <= 255:
        return [_jump(_BPF_JMP_JGE_K, split, len(left), 0), *left, *right]
    # Conditional jumps reach only 255 instructions; an unconditional JA reaches any distance.
    return [_jump(_BPF_JMP_JGE_K, split, 0, 1), _stmt(_BPF_JMP_JA, len(left)), *left, *right]


def _program(rules: dict[int, list[bytes]]) -> list[bytes]:
    return [
        # Wrong architecture: the numbers below mean something else there. Kill outright.
        _stmt(_BPF_LD_W_ABS, _OFF_ARCH),
        _jump(_BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        _stmt(_BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
        _stmt(_BPF_LD_W_ABS, _OFF_NR),
        _jump(_BPF_JMP_JGE_K, _X32_SYSCALL_BIT, 0, 1),
        _stmt(_BPF_RET_K, _EPERM),
        *_dispatch(_intervals(rules)),
    ]


def _prlimit64_read_own() -> list[bytes]:
    """prlimit64(pid, resource, new, old): allow only reading (new == NULL) one's own limits
    (pid 0 = self, or the child's pid). glibc's getrlimit is exactly that call."""
    return [
        _stmt(_BPF_LD_W_ABS, _arg_low(2)),
        _jump(_BPF_JMP_JEQ_K, 0, 0, 5),  # new limit given: EPERM
        _stmt(_BPF_LD_W_ABS, _arg_low(2) + 4),
        _jump(_BPF_JMP_JEQ_K, 0, 0, 3),  # new limit given: EPERM
        _stmt(_BPF_LD_W_ABS, _arg_low(0)),
        _jump(_BPF_JMP_JEQ_K, 0, 2, 0),
        _jump(_BPF_JMP_JEQ_K, _PID_PLACEHOLDER, 1, 0),
        _stmt(_BPF_RET_K, _EPERM),
        _stmt(_BPF_RET_K, SECCOMP_RET_ALLOW),
    ]


def _all_args_equal(count: int, value: int) -> list[bytes]:
    """Allow only if the first ``count`` arguments (low words; ids are 32 bits) equal ``value``."""
    insns: list[bytes] = []
    for index in range(count):
        insns.append(_stmt(_BPF_LD_W_ABS, _arg_low(index)))
        # Not equal: jump to the EPERM just past the remaining loads and comparisons.
        insns.append(_jump(_BPF_JMP_JEQ_K, value, 0, 2 * (count - index - 1) + 1))
    insns.append(_stmt(_BPF_RET_K, SECCOMP_RET_ALLOW))
    insns.append(_stmt(_BPF_RET_K, _EPERM))
    return insns


def rules(nobody_id: int = 65534) -> dict[int, list[bytes]]:
    """The child's filter: syscall number -> the BPF block that decides it."""
    table: dict[int, list[bytes]] = {nr: _ret(_EPERM) for nr in DENY_EPERM.values()}
    table.update({nr: _ret(_ENOSYS) for nr in DENY_ENOSYS.values()})
    for nr, arg in OPEN_FLAG_CHECKS.values():
        table[nr] = _if_flags_set(arg, _OPEN_WRITE_FLAGS)
    for nr in SIGNAL_SELF_ONLY.values():
        table[nr] = _unless_arg_in(0, (_PID_PLACEHOLDER,))
    for nr, arg in PID_SELF_ONLY.values():
        table[nr] = _unless_arg_in(arg, (0, _PID_PLACEHOLDER))
    for nr, arg, refused in ARG_REFUSED.values():
        table[nr] = _if_arg_in(arg, refused)
    for nr in CLOCK_ID_FIRST.values():
        table[nr] = _unless_arg_in(0, FIXED_CLOCKS)
    table[NR_FUTEX] = _if_masked_arg_in(1, FUTEX_COMMAND_MASK, FUTEX_PI_COMMANDS)
    # Limits: root could raise hard limits, anyone could raise a soft one up to its hard limit,
    # and a sibling child (same uid) could lower its neighbours'. None of it is allowed.
    table[NR_SETRLIMIT] = _ret(_EPERM)
    table[NR_PRLIMIT64] = _prlimit64_read_own()
    # Identity: the child drops root after the filter is in place (see child._lock_down), so the
    # filter allows exactly that step and nothing else: an empty group list, and all three ids
    # (real, effective, saved) set to nobody. Repeating it later is a no-op.
    table[NR_SETGROUPS] = _unless_arg_in(0, (0,))
    table[NR_SETRESUID] = _all_args_equal(3, nobody_id)
    table[NR_SETRESGID] = _all_args_equal(3, nobody_id)
    return table


class FilterProgram:
    """The filter, assembled once (in the fork server) with a placeholder for the child's pid.

    Everything ctypes needs is built here too: the instructions live in a bytearray whose address
    never changes, and the ``sock_fprog`` that points at them is made once. A child's ``install``
    then only writes its pid into its copy-on-write copy of the instructions and makes one prctl.
    In a freshly forked child every Python object it touches costs a page fault, and building the
    struct there (ctypes.cast, a Structure, struct.pack_into) was most of an install's cost.
    """

    def __init__(self, rules: dict[int, list[bytes]]) -> None:
        insns = _program(rules)
        if len(insns) > 4096:  # BPF_MAXINSNS
            raise ValueError("seccomp filter too long")
        self.length = len(insns)
        # Byte offsets of the k field (offset 4 within the 8-byte instruction) of every
        # comparison with the pid placeholder.
        self._pid_offsets = tuple(
            index * _INSN.size + 4
            for index, insn in enumerate(insns)
            if _INSN.unpack(insn)[0] == _BPF_JMP_JEQ_K and _INSN.unpack(insn)[3] == _PID_PLACEHOLDER
        )
        self._insns = bytearray(b"".join(insns))
        self._insns_view = (ctypes.c_char * len(self._insns)).from_buffer(self._insns)
        self._fprog = _SockFprog(self.length, ctypes.addressof(self._insns_view))
        # A pointer object: prctl is variadic, and a bare int would travel as a C int.
        self._fprog_pointer = ctypes.c_void_p(ctypes.addressof(self._fprog))

    def install(self, own_pid: int) -> None:
        """Load the filter into the calling process. Requires no_new_privs (or CAP_SYS_ADMIN)."""
        pid = own_pid.to_bytes(4, "little")
        insns = self._insns
        for offset in self._pid_offsets:
            insns[offset : offset + 4] = pid
        syscalls.prctl(syscalls.PR_SET_SECCOMP, SECCOMP_MODE_FILTER, self._fprog_pointer, 0, 0)


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
        for action in (SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ERRNO):
            value = ctypes.c_uint32(action)
            syscalls.syscall(
                syscalls.NR_SECCOMP,
                SECCOMP_GET_ACTION_AVAIL,
                0,
                ctypes.byref(value),
                what="seccomp(GET_ACTION_AVAIL)",
            )
    except OSError as exc:
        return False, f"seccomp filters are unavailable: {exc}"
    return True, ""
