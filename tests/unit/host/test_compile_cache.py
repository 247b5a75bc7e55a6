"""The compile cache: keyed by digest and settings, bounded by entries and by source bytes."""

from __future__ import annotations

import sys
import threading

from restricted_exec import Policy, Sandbox
from restricted_exec.host.compile_cache import CompileCache
from restricted_exec.language.compiler import CompileOutcome, CompileSettings, compile_source

SETTINGS = Policy().compile_settings()


class CountingCompiler:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, source: str, settings: CompileSettings) -> CompileOutcome:
        with self._lock:
            self.calls.append(source)
        return compile_source(source, settings)


def test_same_source_and_settings_compile_once() -> None:
    cache, compiler = CompileCache(8, 1 << 20), CountingCompiler()
    first = cache.get_or_compile("x = 1", SETTINGS, compiler)
    second = cache.get_or_compile("x = 1", SETTINGS, compiler)
    assert first is second
    assert compiler.calls == ["x = 1"]


def test_other_settings_compile_again() -> None:
    cache, compiler = CompileCache(8, 1 << 20), CountingCompiler()
    cache.get_or_compile("import json", SETTINGS, compiler)
    narrower = Policy(modules={"math"}, preload=("math",)).compile_settings()
    refused = cache.get_or_compile("import json", narrower, compiler)
    assert refused.kind == "policy_violation"
    assert len(compiler.calls) == 2


def test_least_recently_used_entry_is_dropped_first() -> None:
    cache, compiler = CompileCache(2, 1 << 20), CountingCompiler()
    for source in ("a = 1", "b = 2", "a = 1", "c = 3"):  # "b = 2" is the least recent
        cache.get_or_compile(source, SETTINGS, compiler)
    compiler.calls.clear()
    cache.get_or_compile("a = 1", SETTINGS, compiler)
    cache.get_or_compile("b = 2", SETTINGS, compiler)
    assert compiler.calls == ["b = 2"]
    assert len(cache) == 2


def test_source_bytes_bound_drops_old_entries() -> None:
    cache, compiler = CompileCache(100, 250), CountingCompiler()
    sources = [f"x = {i}\n" + "# pad\n" * 15 for i in range(5)]  # ~100 bytes each
    for source in sources:
        cache.get_or_compile(source, SETTINGS, compiler)
    assert len(cache) == 2
    assert cache.source_bytes <= 250


def test_source_larger_than_the_byte_bound_is_not_kept() -> None:
    cache, compiler = CompileCache(100, 50), CountingCompiler()
    source = "x = 1\n" * 20
    cache.get_or_compile(source, SETTINGS, compiler)
    cache.get_or_compile(source, SETTINGS, compiler)
    assert len(compiler.calls) == 2
    assert len(cache) == 0


def test_oversized_refusal_is_kept_weighing_its_message_not_its_source() -> None:
    cache = CompileCache(100, 1000)
    source = "#" + "x" * (SETTINGS.max_source_bytes + 1)
    references_before = sys.getrefcount(source)
    outcome = cache.get_or_compile(source, SETTINGS, compile_source)
    assert outcome.kind == "policy_violation"
    assert len(cache) == 1 and 0 < cache.source_bytes < 1000
    assert sys.getrefcount(source) == references_before  # the cache keeps no reference to it
    assert cache.get_or_compile(source, SETTINGS, compile_source) is outcome


def test_zero_entries_disables_the_cache() -> None:
    cache, compiler = CompileCache(0, 1 << 20), CountingCompiler()
    cache.get_or_compile("x = 1", SETTINGS, compiler)
    cache.get_or_compile("x = 1", SETTINGS, compiler)
    assert len(compiler.calls) == 2 and len(cache) == 0


def test_sandbox_reuses_the_compiled_program_of_repeated_source() -> None:
    with Sandbox(Policy(isolation="inline")) as sandbox:
        first = sandbox.compile_program("print(2 ** 10)")
        second = sandbox.compile_program("print(2 ** 10)")
        assert first._compiled.outcome is second._compiled.outcome
        assert second.run().stdout == "1024\n"
