"""restricted_exec, isolation="inline": ``compile_program`` once, then ``Program.run``."""

from __future__ import annotations

from benchmarks.backends import _restricted_exec as common

NAME = "restricted_exec inline Program.run"
KIND = "in-process"
LIMITS = frozenset({"time"})
CONCURRENT = True
NOTES = "compiled once; caller thread, watchdog deadline, no memory limit"


_ADAPTER = common.CompiledOnce("inline")
available = _ADAPTER.available
prepare = _ADAPTER.prepare
run = _ADAPTER.run
run_async = _ADAPTER.run_async
