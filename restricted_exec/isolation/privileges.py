"""Process-identity hardening for the child: no root, no new privileges, not dumpable."""

from __future__ import annotations

import os

from restricted_exec.isolation import syscalls

# The conventional overflow/"nobody" id. It owns nothing on the host, so a child running as it
# can read or write nothing by ordinary permissions even before Landlock applies.
NOBODY = 65534


def drop_root() -> bool:
    """If running as root, become nobody: clears every capability (so no CAP_SYS_RESOURCE to raise
    hard rlimits, no CAP_DAC_OVERRIDE, no CAP_KILL) and makes RLIMIT_NPROC effective.

    Returns whether root was dropped (False if the child was not root to begin with).
    """
    if os.geteuid() != 0:
        return False
    # Supplementary groups first: once uid is not 0 we could no longer clear them. The fork server
    # normally cleared them already (drop_supplementary_groups), and setgroups costs a system
    # call's worth of work even when it changes nothing, on the request's critical path.
    if os.getgroups():
        os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    # Changing the effective uid resets the dumpable flag to fs.suid_dumpable, which is 0 on most
    # hosts but may be 1 ("debug"), making the child dumpable again: sibling children run as
    # nobody too. Clear it again (prctl is not one of the calls the seccomp filter denies).
    set_not_dumpable()
    return True


def drop_supplementary_groups() -> None:
    """Called once in a root fork server: its children inherit an empty group list, so the drop to
    nobody after a request arrives has one syscall less to make. The fork server needs no group."""
    if os.geteuid() == 0 and os.getgroups():
        os.setgroups([])


# Bit 23 of the capability sets in /proc/<pid>/status (linux/capability.h).
_CAP_SYS_NICE = 23


def can_raise_priority() -> bool:
    """Whether this process may lower another's nice value (CAP_SYS_NICE). The host, which the
    fork server was started by with the same credentials, restores waiting children's priority."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> _CAP_SYS_NICE & 1)
    except (OSError, ValueError):
        pass
    return False


def set_no_new_privs() -> None:
    """PR_SET_NO_NEW_PRIVS: no setuid binary or file capability can ever grant privileges again.
    Required before an unprivileged process may install seccomp or Landlock."""
    syscalls.prctl(syscalls.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def set_not_dumpable() -> None:
    """Not dumpable: no core file, and other processes of the same uid (sibling children) cannot
    ptrace it or open its /proc/<pid>/mem even if some other layer failed."""
    syscalls.prctl(syscalls.PR_SET_DUMPABLE, 0, 0, 0, 0)


def die_with_parent(signum: int) -> None:
    """Deliver ``signum`` to this process when its parent (the fork server) dies, so children never
    outlive the fork server that the host uses to reap them."""
    syscalls.prctl(syscalls.PR_SET_PDEATHSIG, signum, 0, 0, 0)
