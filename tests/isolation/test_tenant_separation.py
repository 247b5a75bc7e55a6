"""Tenants apart: no child ever holds another trust domain's program.

A program run again and again is sent ahead to the fork server (which prepares it once, so its
code object and constants live there) or to children already waiting. Every child is a copy of
its fork server's memory, so a child forked for tenant B by a fork server that ever held tenant
A's program would carry A's source and constants (freed memory included), readable by code that
got past the language layer. These tests run with no language layer at all (the unrestricted
test entry): B's program reads every page of its own memory it can reach and looks for a marker
that only A's program contains.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from isolation.unrestricted_entry import UnrestrictedRunner, decode, encode
from restricted_exec.isolation import ChildLimits, ProcessRunner, classify

from .support import _settle_live_runners

LIMITS = ChildLimits(wall_s=60.0, cpu_s=60.0, memory_mb=512, max_payload_bytes=1 << 20)

# B's program: find every readable page of this process and search it for the marker, which is
# given in two halves so that this program itself never holds it whole. Landlock makes /proc
# unreadable, so pages are found without it: starting from the address of every object the
# garbage collector knows, of every loaded ELF segment (dl_iterate_phdr) and of the brk heap,
# each contiguous run of readable pages is followed both ways. A page is read by writing it to
# a pipe: an unreadable page makes write() fail with EFAULT instead of crashing the child.
_SCANNER = r"""
import ctypes, gc, os, sys

HEAD, TAIL = {head!r}.encode(), {tail!r}.encode()
PAGE = 4096
libc = ctypes.CDLL(None, use_errno=True)
libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.write.restype = ctypes.c_ssize_t
libc.sbrk.argtypes = [ctypes.c_ssize_t]
libc.sbrk.restype = ctypes.c_void_p
r, w = os.pipe()
buffer = bytearray(PAGE)
view = memoryview(buffer)

def read_page(page):
    if libc.write(w, page, PAGE) != PAGE:
        return False
    got = 0
    while got < PAGE:
        got += os.readv(r, [view[got:]])
    return True

seeds = set()
gc.unfreeze()
for obj in gc.get_objects():
    seeds.add(id(obj))
    for ref in gc.get_referents(obj):
        seeds.add(id(ref))
for module in list(sys.modules.values()):
    seeds.add(id(module))
seeds.add(libc.sbrk(0) - 1)
seeds.add(ctypes.addressof(ctypes.c_int()))

class PhdrInfo(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_size_t), ("name", ctypes.c_char_p),
                ("phdr", ctypes.c_void_p), ("phnum", ctypes.c_uint16)]

class Phdr(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("offset", ctypes.c_uint64), ("vaddr", ctypes.c_uint64),
                ("paddr", ctypes.c_uint64), ("filesz", ctypes.c_uint64),
                ("memsz", ctypes.c_uint64), ("align", ctypes.c_uint64)]

CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(PhdrInfo), ctypes.c_size_t,
                            ctypes.c_void_p)

def each_object(info, size, data):
    table = ctypes.cast(info.contents.phdr, ctypes.POINTER(Phdr))
    for index in range(info.contents.phnum):
        if table[index].type == 1:  # PT_LOAD
            start = info.contents.addr + table[index].vaddr
            for offset in range(0, table[index].memsz, PAGE):
                seeds.add(start + offset)
    return 0

libc.dl_iterate_phdr(CALLBACK(each_object), None)

seen = set()
hits = 0
overlap = len(HEAD) + len(TAIL)
for seed in sorted(seeds):
    start = seed - seed % PAGE
    if start in seen or start <= 0:
        continue
    for step in (PAGE, -PAGE):
        page = start if step > 0 else start - PAGE
        tail = b""
        while page > 0 and page not in seen and read_page(page):
            seen.add(page)
            chunk = tail + bytes(buffer) if step > 0 else bytes(buffer) + tail
            at = chunk.find(HEAD)
            while at >= 0:
                if chunk[at + len(HEAD):at + overlap] == TAIL:
                    hits += 1
                at = chunk.find(HEAD, at + 1)
            tail = bytes(buffer[-overlap:]) if step > 0 else bytes(buffer[:overlap])
            page += step
print(hits, len(seen))
"""


def scanner(marker: str) -> str:
    half = len(marker) // 2
    return _SCANNER.format(head=marker[:half], tail=marker[half:])


def run(runner: UnrestrictedRunner, source: str, domain: str | None, **kw: Any) -> dict[str, Any]:
    outcome = runner.run(encode(source), LIMITS, domain=domain, **kw)
    assert classify(outcome).replied, outcome
    assert outcome.payload is not None
    payload = decode(outcome.payload)
    assert payload["error"] is None, payload
    return payload


def copies_found(runner: UnrestrictedRunner, marker: str, domain: str | None) -> int:
    """Copies of ``marker`` in the memory of the child that runs for ``domain``."""
    # Every waiting child is in place (their replacements are forked after a run), so the run
    # has them all to choose from.
    _settle_live_runners(within_s=10.0)
    hits, pages = map(int, run(runner, scanner(marker), domain)["stdout"].split())
    # The scan reached the interpreter's heap and libraries, not just a handful of pages.
    assert pages > 2000
    return hits


def secret_program(marker: str) -> str:
    # The marker is a constant of the code object (what the fork server prepares), not only
    # a piece of the source text. The comment makes the source large enough to be allocated
    # apart from the small objects of the interpreter (not in pymalloc's pools, whose freed
    # blocks the scan's own objects would reuse at once), as a larger program's would be.
    return "#" * 16_000 + f"\napi_key = {marker!r}\nprint(len(api_key))"


@pytest.fixture
def runner() -> Iterator[UnrestrictedRunner]:
    with UnrestrictedRunner(prefork=2) as runner:
        yield runner


def new_marker() -> str:
    return f"tenant-a-secret-{uuid.uuid4().hex}"


def test_the_scanner_finds_a_marker_its_own_tenant_s_program_holds(
    runner: UnrestrictedRunner,
) -> None:
    # The scan works: run in the same domain, right after A primed its program, the child does
    # hold A's program (its own tenant's, which it may) and the scan sees it.
    marker = new_marker()
    for _ in range(3):
        run(runner, secret_program(marker), "tenant-a", expect_again=True)
    source = secret_program(marker) + "\n" + scanner(marker)
    hits, _ = map(int, run(runner, source, "tenant-a")["stdout"].split()[-2:])
    assert hits >= 1


def test_a_child_of_tenant_b_holds_no_byte_of_tenant_a_s_primed_program(
    runner: UnrestrictedRunner,
) -> None:
    marker = new_marker()
    # A runs its program repeatedly: it is sent to the waiting children and to the fork server,
    # which prepares it and forks the next children holding it.
    for _ in range(4):
        run(runner, secret_program(marker), "tenant-a", expect_again=True)
    assert copies_found(runner, marker, "tenant-b") == 0
    # A child forked after B's run, while A's program is still the one primed.
    run(runner, secret_program(marker), "tenant-a", expect_again=True)
    assert copies_found(runner, marker, "tenant-b") == 0


def test_a_child_of_a_run_with_no_tenant_holds_nothing_of_a_named_tenant(
    runner: UnrestrictedRunner,
) -> None:
    marker = new_marker()
    for _ in range(4):
        run(runner, secret_program(marker), "default", expect_again=True)
    # No tenant is a trust domain of its own, even apart from a tenant named "default".
    assert copies_found(runner, marker, None) == 0


def test_a_named_tenant_s_child_holds_nothing_of_runs_with_no_tenant(
    runner: UnrestrictedRunner,
) -> None:
    marker = new_marker()
    for _ in range(4):
        run(runner, secret_program(marker), None, expect_again=True)
    assert copies_found(runner, marker, "tenant-b") == 0


def test_waiting_children_sent_tenant_a_s_program_never_serve_tenant_b(
    runner: UnrestrictedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[int] = []
    send_prime = ProcessRunner._send_prime_locked

    def spy(self: ProcessRunner, slot: Any) -> bool:
        sent.append(1)
        return send_prime(self, slot)

    monkeypatch.setattr(ProcessRunner, "_send_prime_locked", spy)
    marker = new_marker()
    # The first run of a program expected again sends it to the children already waiting, over
    # their sockets (they were forked before it, by the fork server that holds no program).
    _settle_live_runners(within_s=10.0)
    run(runner, secret_program(marker), "tenant-a", expect_again=True)
    assert len(sent) == runner._prefork
    # One of them ran A's program; the other still waits, holding it.
    assert copies_found(runner, marker, "tenant-b") == 0


def test_tenant_b_s_primed_program_does_not_bring_tenant_a_s_back(
    runner: UnrestrictedRunner,
) -> None:
    # B primes its own program after A did: the children primed for B come from a fork server
    # that never held A's program.
    marker = new_marker()
    for _ in range(4):
        run(runner, secret_program(marker), "tenant-a", expect_again=True)
    for _ in range(3):
        run(runner, "x = 1", "tenant-b", expect_again=True)
    assert copies_found(runner, marker, "tenant-b") == 0
