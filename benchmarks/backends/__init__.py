"""One small adapter module per backend, all with the same shape.

Every adapter module defines:

- ``NAME`` (row label), ``KIND`` (``"in-process"``, ``"subprocess"`` or ``"worker pool"``),
  ``LIMITS`` (the subset of ``{"time", "memory"}`` it can enforce), ``CONCURRENT`` (callers
  may use it from several threads at once) and ``NOTES`` (one line for the report);
- ``available() -> str | None``: None if usable here, else the reason it is not;
- ``run(source, *, timeout_s, memory_mb) -> Outcome``: run a program from its source.

and optionally:

- ``prepare(source, *, timeout_s, memory_mb) -> Callable[[], Outcome]`` for compile-once
  backends (the harness then times only the returned callable);
- ``run_async(source, *, timeout_s, memory_mb)`` (a coroutine) for native asyncio support;
- ``fits(source) -> str | None``: a reason the backend cannot run this program at all;
- ``close()``: release pools and servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from benchmarks.core import Outcome

# Table order. The first is the reference for "x vs Program.run" ratios.
BACKEND_MODULES: tuple[str, ...] = (
    "re_process_program",
    "re_process_run",
    "re_inline_program",
    "re_inline_run",
    "plain_exec",
    "restrictedpython_bare",
    "article_ulimit",
    "python_isolated",
    "smolagents_local",
    "monty_checkout",
    "monty_session",
    "asteval_backend",
)

RESTRICTED_EXEC_MODULES: tuple[str, ...] = BACKEND_MODULES[:4]
PROGRAM_RUN_KEY = "re_process_program"
PROGRAM_RUN_FALLBACK_KEY = "re_inline_program"
PLAIN_EXEC_KEY = "plain_exec"

Runner = Callable[[], Outcome]

# The modules restricted_exec's default policy lets programs import. Peers that take an
# import allowlist get the same one, so the corpus compares languages, not allowlists.
CATALOGUE: tuple[str, ...] = (
    "bisect",
    "calendar",
    "cmath",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "heapq",
    "itertools",
    "json",
    "math",
    "operator",
    "random",
    "re",
    "statistics",
    "string",
    "textwrap",
    "time",
    "typing",
)


@dataclass
class Backend:
    """A loaded adapter module (or the reason it could not be loaded)."""

    key: str
    module: ModuleType | None
    unavailable: str | None

    @property
    def name(self) -> str:
        return str(getattr(self.module, "NAME", self.key))

    @property
    def kind(self) -> str:
        return str(getattr(self.module, "KIND", "?"))

    @property
    def limits(self) -> frozenset[str]:
        return frozenset(getattr(self.module, "LIMITS", frozenset()))

    @property
    def concurrent(self) -> bool:
        return bool(getattr(self.module, "CONCURRENT", False))

    @property
    def notes(self) -> str:
        return str(getattr(self.module, "NOTES", ""))

    @property
    def compiles_once(self) -> bool:
        return hasattr(self.module, "prepare")

    def fits(self, source: str) -> str | None:
        check = getattr(self.module, "fits", None)
        return None if check is None else check(source)

    def runner(self, source: str, *, timeout_s: float, memory_mb: int) -> Runner:
        """A zero-argument callable that runs ``source`` once (compiled once if supported)."""
        assert self.module is not None
        prepare = getattr(self.module, "prepare", None)
        if prepare is not None:
            prepared: Runner = prepare(source, timeout_s=timeout_s, memory_mb=memory_mb)
            return prepared
        run = self.module.run

        def call() -> Outcome:
            outcome: Outcome = run(source, timeout_s=timeout_s, memory_mb=memory_mb)
            return outcome

        return call

    def async_runner(
        self, source: str, *, timeout_s: float, memory_mb: int
    ) -> Callable[[], Coroutine[Any, Any, Outcome]]:
        """A coroutine function: native ``run_async`` if the adapter has it, else to_thread."""
        assert self.module is not None
        native = getattr(self.module, "run_async", None)
        if native is not None:

            async def call_native() -> Outcome:
                outcome: Outcome = await native(source, timeout_s=timeout_s, memory_mb=memory_mb)
                return outcome

            return call_native
        sync = self.runner(source, timeout_s=timeout_s, memory_mb=memory_mb)

        async def call_in_thread() -> Outcome:
            return await asyncio.to_thread(sync)

        return call_in_thread

    def close(self) -> None:
        close = getattr(self.module, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):  # closing a peer never fails the harness
                close()


def load(key: str) -> Backend:
    """Import one adapter and probe it; never raises."""
    try:
        module = importlib.import_module(f"benchmarks.backends.{key}")
    except Exception as problem:  # an adapter that cannot even import is a row, not a crash
        return Backend(key, None, f"adapter failed to import: {problem!r}")
    try:
        reason = module.available()
    except Exception as problem:
        reason = f"probe failed: {type(problem).__name__}: {problem}"
    return Backend(key, module, reason)


def load_all(keys: tuple[str, ...] = BACKEND_MODULES) -> list[Backend]:
    return [load(key) for key in keys]
