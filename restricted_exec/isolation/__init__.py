"""Process isolation: every run in a fresh, single-use, locked-down child process.

Public API::

    from restricted_exec.isolation import ChildLimits, ProcessRunner, classify

    with ProcessRunner() as runner:
        outcome = runner.run(program_bytes, ChildLimits(wall_s=2, cpu_s=2, memory_mb=256,
                                                        max_payload_bytes=1 << 20),
                             inputs=inputs_bytes)
        verdict = classify(outcome)

The fork server calls ``restricted_exec.child.executor.warm_up()`` and
``prepare_base()`` once, ``warm_child(link)`` many times through a link of the
children's type that sends nothing (an entry with no ``warm_child`` is not), and
``prepare_to_share(program)`` for each program it is sent ahead; each child
calls ``warm_child(link)`` while it waits (when allowed), ``prepare(program,
base)`` unless it inherited the program prepared (ahead of the request when it
was primed with the program) and ``run_prepared(prepared, inputs, link) ->
bytes`` once (a session's child ``run_session`` for each of its runs).
"""

from typing import TYPE_CHECKING, Any

from restricted_exec.isolation.child_limits import ChildLimits
from restricted_exec.isolation.errors import (
    IsolationError,
    IsolationUnavailable,
    QueueFull,
    RunnerClosed,
)
from restricted_exec.isolation.outcome import ChildOutcome, Classification, classify, signal_name

if TYPE_CHECKING:
    from restricted_exec.isolation.pool import ProcessRunner


def __getattr__(name: str) -> Any:
    # The runner (the host side: threads, subprocess, tempfile, the fork server's client) loads
    # on first use. The fork server imports this package on its way to ``fork_server``; without this
    # it would carry the whole host side in its heap, and every fork copies the page tables of
    # that heap (see ``python -m benchmarks.cpu_per_run``).
    if name == "ProcessRunner":
        from restricted_exec.isolation.pool import ProcessRunner

        return ProcessRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
