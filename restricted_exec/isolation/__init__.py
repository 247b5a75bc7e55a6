"""Process isolation: every run in a fresh, single-use, locked-down child process.

Public API::

    from restricted_exec.isolation import ChildLimits, ProcessRunner, classify

    with ProcessRunner() as runner:
        outcome = runner.run(program_bytes, ChildLimits(wall_s=2, cpu_s=2, memory_mb=256,
                                                        max_payload_bytes=1 << 20),
                             inputs=inputs_bytes)
        verdict = classify(outcome)

The fork server calls ``restricted_exec.runtime.warm_up()`` once; each child
calls ``warm_child()`` while it waits, ``prepare(program)`` (ahead of the
request when it was primed with the program) and
``run_prepared(prepared, inputs) -> bytes`` once.
"""

from restricted_exec.isolation.errors import (
    IsolationError,
    IsolationUnavailable,
    QueueFull,
    RunnerClosed,
)
from restricted_exec.isolation.limits import ChildLimits
from restricted_exec.isolation.outcome import ChildOutcome, Classification, classify, signal_name
from restricted_exec.isolation.pool import ProcessRunner

__all__ = [
    "ChildLimits",
    "ChildOutcome",
    "Classification",
    "IsolationError",
    "IsolationUnavailable",
    "ProcessRunner",
    "QueueFull",
    "RunnerClosed",
    "classify",
    "signal_name",
]
