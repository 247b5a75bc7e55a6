"""restricted_exec: run untrusted, model-written Python calculations exactly and safely.

>>> import restricted_exec
>>> restricted_exec.run("print(sum(range(10)))").stdout
'45\\n'
"""

# The exceptions are imported at once (they need nothing else); the rest of
# the public names load on first use (PEP 562). A process that imports only the
# child side (restricted_exec.child.executor, which the fork server preloads) then
# never imports pydantic or the parent side: a smaller fork server forks and
# exits faster.
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from restricted_exec.host.child_reuse import ChildReuse
    from restricted_exec.host.metrics import SandboxStats
    from restricted_exec.host.tenants import TenantQuota
    from restricted_exec.policy import Policy
    from restricted_exec.result import ErrorInfo, ExecutionResult, Violation
    from restricted_exec.sandbox import Program, Sandbox, compile_program, run
    from restricted_exec.session import Session

_LAZY = {
    "Policy": "restricted_exec.policy",
    "ErrorInfo": "restricted_exec.result",
    "ExecutionResult": "restricted_exec.result",
    "Violation": "restricted_exec.result",
    "Program": "restricted_exec.sandbox",
    "Sandbox": "restricted_exec.sandbox",
    "Session": "restricted_exec.session",
    "compile_program": "restricted_exec.sandbox",
    "run": "restricted_exec.sandbox",
    "SandboxStats": "restricted_exec.host.metrics",
    "TenantQuota": "restricted_exec.host.tenants",
    "ChildReuse": "restricted_exec.host.child_reuse",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'restricted_exec' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "ChildReuse",
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
    "SandboxStats",
    "Session",
    "TenantQuota",
    "Violation",
    "__version__",
    "compile_program",
    "run",
]
