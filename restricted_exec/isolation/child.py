"""Life of one pre-forked child: prepare, warm up, wait, lock down, run one request, exit.

Runs only inside a process freshly forked by the zygote, and never returns: every path ends in
``os._exit`` so that no zygote code (its loop, atexit hooks, finalizers) ever runs in a child.
"""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from restricted_exec.isolation import exitcodes, frames, landlock, layers, privileges, rlimits
from restricted_exec.isolation.seccomp import FilterProgram


@dataclass(frozen=True, slots=True)
class ChildContext:
    """Everything a child needs, prepared once in the zygote and inherited through fork."""

    zygote_pid: int
    workdir: str
    warm_up: Callable[[], None]
    run_request: Callable[[bytes], bytes]
    available: frozenset[str]
    seccomp_filter: FilterProgram | None
    landlock_abi: int


def child_main(sock_fd: int, ctx: ChildContext) -> NoReturn:
    code = exitcodes.EXIT_INTERNAL
    try:
        code = _serve(sock_fd, ctx)
    except MemoryError:
        code = exitcodes.EXIT_MEMORY
    except BaseException:
        code = exitcodes.EXIT_INTERNAL
    os._exit(code)


def _prepare(sock_fd: int, ctx: ChildContext) -> None:
    # Own session and process group: the host kills the whole group, and the child is detached
    # from any terminal the host may have (no SIGINT from Ctrl-C, no controlling tty to write to).
    os.setsid()
    if "no_new_privs" in ctx.available:  # i.e. Linux
        # If the zygote dies the child dies too, so no child outlives the process that reaps it.
        privileges.die_with_parent(signal.SIGKILL)
        if os.getppid() != ctx.zygote_pid:
            os._exit(exitcodes.EXIT_ORPHANED)  # the zygote died before prctl took effect
    # The zygote's SIGCHLD handler and wakeup fd belong to the zygote, not to a child.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # Keep 0-2 (the zygote's /dev/null) so that no fd the program might create is ever numbered
    # 0-2 and receives stray prints; move the socket to a fixed number; close everything else.
    if sock_fd != frames.CHILD_SOCKET_FD:
        os.dup2(sock_fd, frames.CHILD_SOCKET_FD, inheritable=False)
        os.close(sock_fd)
    os.closerange(frames.CHILD_SOCKET_FD + 1, _max_fd())
    # An empty directory that the zygote made read-only: relative paths resolve to nothing.
    os.chdir(ctx.workdir)


def _max_fd() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 65536


def _recv_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _send_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _lock_down(header: frames.RequestHeader, ctx: ChildContext, base: rlimits.Baseline) -> set[str]:
    """Apply every OS layer for this request. Returns the set of layers that are active.

    Order matters: rlimits and dropping root need syscalls the seccomp filter denies; Landlock and
    seccomp need no_new_privs (or root's CAP_SYS_ADMIN, which dropping root removes); seccomp goes
    last so that it can deny setrlimit/setuid without stopping the steps before it.
    """
    allow_degraded = bool(header.flags & frames.FLAG_ALLOW_DEGRADED)
    active = {"setsid", "closed_fds", "empty_cwd"}

    def attempt(name: str, step: Callable[[], object]) -> None:
        if name not in ctx.available:
            return
        try:
            step()
        except (OSError, ValueError):
            if not allow_degraded:
                os._exit(exitcodes.EXIT_LOCKDOWN_FAILED)
        else:
            active.add(name)

    attempt(
        "rlimits",
        lambda: rlimits.apply(
            cpu_s=header.cpu_s,
            memory_mb=header.memory_mb,
            baseline=base,
            highest_fd=frames.CHILD_SOCKET_FD,
        ),
    )
    attempt("drop_root", privileges.drop_root)

    def no_new_privs() -> None:
        privileges.set_not_dumpable()
        privileges.set_no_new_privs()

    attempt("no_new_privs", no_new_privs)
    attempt("landlock", lambda: landlock.restrict_self(ctx.landlock_abi))
    seccomp_filter = ctx.seccomp_filter
    if seccomp_filter is not None:
        attempt("seccomp", lambda: seccomp_filter.install(os.getpid()))
    if not allow_degraded and not active >= layers.REQUIRED:
        os._exit(exitcodes.EXIT_LOCKDOWN_FAILED)
    return active


def _serve(sock_fd: int, ctx: ChildContext) -> int:
    _prepare(sock_fd, ctx)
    fd = frames.CHILD_SOCKET_FD
    # Warm up again in the waiting child: touching the runtime's pages now takes the copy-on-write
    # faults off the request's critical path (and refreshes anything fork invalidated).
    ctx.warm_up()
    base = rlimits.measure_baseline()
    pid = os.getpid()
    hello = frames.Hello(pid, base.rss_kb, int(base.cpu_s * 1e6), 0)
    _send_all(fd, frames.encode_hello(hello))

    raw = _recv_exactly(fd, frames.REQUEST.size)
    if raw is None:
        return exitcodes.EXIT_NO_REQUEST
    header = frames.decode_request(raw)
    if header is None:
        return exitcodes.EXIT_INTERNAL
    request = _recv_exactly(fd, header.length) if header.length else b""
    if request is None:
        return exitcodes.EXIT_NO_REQUEST

    active = _lock_down(header, ctx, base)
    # ---- untrusted code runs below this line ----
    payload = ctx.run_request(request)
    if not isinstance(payload, bytes):
        return exitcodes.EXIT_INTERNAL
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_us = max(0, int((usage.ru_utime + usage.ru_stime - base.cpu_s) * 1e6))
    reply = frames.ReplyHeader(layers.to_mask(active), cpu_us, usage.ru_maxrss, len(payload))
    _send_all(fd, frames.encode_reply(reply) + payload)
    return exitcodes.EXIT_OK
