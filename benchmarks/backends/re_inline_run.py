"""restricted_exec, isolation="inline": ``run()`` with different source every call.

A fresh constant is appended to the source on every call, so the compile cache never hits:
this is the cost of a program the service has never seen (the usual case for model code).
"""

from __future__ import annotations

from benchmarks.backends import _restricted_exec as common

NAME = "restricted_exec inline run() new source"
KIND = "in-process"
LIMITS = frozenset({"time"})
CONCURRENT = True
NOTES = "compile + run every call (a constant varies, defeating the compile cache)"


_ADAPTER = common.NewSourceEachCall("inline")
available = _ADAPTER.available
run = _ADAPTER.run
