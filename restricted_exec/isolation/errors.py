"""Exceptions the isolation layer raises to its caller.

None of these is ever raised because of something a child did: a child that crashes, hangs or
misbehaves yields a ``ChildOutcome``. These report problems of the host's own making (closing the
runner, overloading it) or of the platform (the requested OS layers do not exist).
"""

from __future__ import annotations


class IsolationError(Exception):
    """Base class for every error raised by ``restricted_exec.isolation``."""


class IsolationUnavailable(IsolationError):
    """The OS layers required for safe execution are missing and degraded mode was not allowed.

    Raised at construction (or by ``run`` for per-run limits that forbid degradation) so that a
    deployment on a kernel without seccomp or Landlock fails closed instead of silently running
    untrusted code with less protection than it was configured for.
    """


class RunnerClosed(IsolationError):
    """``run`` was called on (or was waiting in) a runner that has been closed."""


class QueueFull(IsolationError):
    """Every child slot is busy and the bounded wait queue is full; the caller should reject."""
