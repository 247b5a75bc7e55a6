"""The exceptions restricted_exec raises.

A program that misbehaves never raises out of the API: its ending is a status in
:class:`~restricted_exec.result.ExecutionResult`. Exceptions are for the caller's
own mistakes (a bad policy, inputs that are not data) and for callers that ask
for them with ``result.raise_for_status()``::

    RestrictedExecError
    ├── PolicyError                 invalid Policy (unknown module, bad limit); also ValueError
    ├── InputError                  an ``inputs`` value that is not plain data; also TypeError
    ├── SandboxClosedError          run() on a closed Sandbox
    ├── IsolationUnavailableError   process isolation cannot be set up here (fails closed)
    └── ExecutionError              raised by raise_for_status(); ``.result`` holds the result
        ├── ProgramError            status "error": the program raised
        ├── CompileError            status "syntax_error" / "policy_violation"
        │   ├── ProgramSyntaxError
        │   └── PolicyViolationError
        ├── ResourceLimitError      a limit ended the program
        │   ├── ExecutionTimeout    status "timeout"
        │   ├── MemoryLimitExceeded status "memory_limit"
        │   └── OutputLimitExceeded status "output_limit"
        ├── SandboxCrashed          status "crashed"
        └── RunRejected             status "rejected"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from restricted_exec.result import ExecutionResult

__all__ = [
    "CompileError",
    "ExecutionError",
    "ExecutionTimeout",
    "InputError",
    "IsolationUnavailableError",
    "MemoryLimitExceeded",
    "OutputLimitExceeded",
    "PolicyError",
    "PolicyViolationError",
    "ProgramError",
    "ProgramSyntaxError",
    "ResourceLimitError",
    "RestrictedExecError",
    "RunRejected",
    "SandboxClosedError",
    "SandboxCrashed",
]


class RestrictedExecError(Exception):
    """Base class of every exception restricted_exec raises."""


class PolicyError(RestrictedExecError, ValueError):
    """A Policy was configured with something restricted_exec refuses."""


class InputError(RestrictedExecError, TypeError):
    """An ``inputs`` value is not plain data; refused before anything runs."""


class SandboxClosedError(RestrictedExecError):
    """The Sandbox was closed; it runs nothing more."""


class IsolationUnavailableError(RestrictedExecError):
    """An OS isolation layer the policy requires is missing on this machine.

    restricted_exec fails closed: it runs nothing rather than run with fewer
    layers, unless the policy sets ``allow_degraded=True``.
    """


class ExecutionError(RestrictedExecError):
    """A run did not end with status ``ok``; raised only by ``raise_for_status()``."""

    def __init__(self, result: ExecutionResult) -> None:
        self.result = result
        super().__init__(result.summary())


class ProgramError(ExecutionError):
    """The program raised an exception (status ``error``)."""


class CompileError(ExecutionError):
    """The program was refused before it ran."""


class ProgramSyntaxError(CompileError):
    """The source is not valid Python (status ``syntax_error``)."""


class PolicyViolationError(CompileError):
    """The source uses something the policy denies (status ``policy_violation``)."""


class ResourceLimitError(ExecutionError):
    """A resource limit ended the program."""


class ExecutionTimeout(ResourceLimitError):
    """The wall-clock or CPU limit ended the program (status ``timeout``)."""


class MemoryLimitExceeded(ResourceLimitError):
    """The program tried to use more memory than allowed (status ``memory_limit``)."""


class OutputLimitExceeded(ResourceLimitError):
    """The program printed more than ``output_bytes`` (status ``output_limit``)."""


class SandboxCrashed(ExecutionError):
    """The process running the program died abnormally (status ``crashed``)."""


class RunRejected(ExecutionError):
    """The run was refused before it started (status ``rejected``)."""
