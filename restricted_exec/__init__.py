"""restricted_exec: run untrusted, model-written Python calculations exactly and safely.

>>> import restricted_exec
>>> restricted_exec.run("print(sum(range(10)))").stdout
'45\\n'
"""

from restricted_exec.errors import (
    CompileError,
    ExecutionError,
    ExecutionTimeout,
    InputError,
    IsolationUnavailableError,
    MemoryLimitExceeded,
    OutputLimitExceeded,
    PolicyError,
    PolicyViolationError,
    ProgramError,
    ProgramSyntaxError,
    ResourceLimitError,
    RestrictedExecError,
    RunRejected,
    SandboxClosedError,
    SandboxCrashed,
)
from restricted_exec.policy import Policy
from restricted_exec.result import ErrorInfo, ExecutionResult, Violation
from restricted_exec.sandbox import Program, Sandbox, compile_program, run

__version__ = "0.1.0"

__all__ = [
    "CompileError",
    "ErrorInfo",
    "ExecutionError",
    "ExecutionResult",
    "ExecutionTimeout",
    "InputError",
    "IsolationUnavailableError",
    "MemoryLimitExceeded",
    "OutputLimitExceeded",
    "Policy",
    "PolicyError",
    "PolicyViolationError",
    "Program",
    "ProgramError",
    "ProgramSyntaxError",
    "ResourceLimitError",
    "RestrictedExecError",
    "RunRejected",
    "Sandbox",
    "SandboxClosedError",
    "SandboxCrashed",
    "Violation",
    "__version__",
    "compile_program",
    "run",
]
