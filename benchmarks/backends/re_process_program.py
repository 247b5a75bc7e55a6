"""restricted_exec, isolation="process": ``compile_program`` once, then ``Program.run``."""

from __future__ import annotations

from benchmarks.backends import _restricted_exec as common

NAME = "restricted_exec process Program.run"
KIND = "worker pool"
LIMITS = frozenset({"time", "memory"})
CONCURRENT = True
NOTES = "compiled once; fresh locked-down pre-forked child per run"


_ADAPTER = common.CompiledOnce("process")
available = _ADAPTER.available
prepare = _ADAPTER.prepare
run = _ADAPTER.run
run_async = _ADAPTER.run_async
