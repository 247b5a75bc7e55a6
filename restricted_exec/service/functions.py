"""Host functions a service offers its runs: named in the server's configuration, imported
from the operator's own code when the service starts. A network client can name none of its
own: the code a host function runs is the operator's, never a request's."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from restricted_exec.errors import InputError
from restricted_exec.host.host_calls import HostFunction, checked_functions

__all__ = ["FunctionSpec", "ServedFunctions"]


class FunctionSpec(BaseModel):
    """One configured host function.

    Attributes:
        target: where it is, as ``package.module:function`` (or ``module:Class.method`` for
            a static or class method); imported when the service starts.
        tenants: the tenants whose runs may call it (None: every tenant's).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
    tenants: frozenset[str] | None = None


class ServedFunctions:
    """The configured host functions, imported, and which tenant may call which."""

    def __init__(self, specs: Mapping[str, FunctionSpec]) -> None:
        imported = {name: _imported(name, spec.target) for name, spec in specs.items()}
        self._functions = checked_functions(imported, None)  # names checked as the library does
        self._tenants = {name: spec.tenants for name, spec in specs.items()}

    def for_tenant(self, tenant: str) -> dict[str, HostFunction]:
        """The functions ``tenant``'s runs may call (possibly none)."""
        return {
            name: function
            for name, function in self._functions.items()
            if self._tenants[name] is None or tenant in (self._tenants[name] or ())
        }

    def described(self, tenant: str) -> dict[str, str]:
        """Each of ``tenant``'s functions with the first line of its docstring, for a model
        to read (``GET /v1/functions``)."""
        return {
            name: (function.__doc__ or "").strip().split("\n", 1)[0]
            for name, function in self.for_tenant(tenant).items()
        }


def _imported(name: str, target: str) -> HostFunction:
    module_name, _, path = target.partition(":")
    try:
        found: object = importlib.import_module(module_name)
        for part in path.split("."):
            found = getattr(found, part)
    except Exception as problem:  # the operator's module may fail in any way as it loads
        raise InputError(
            f"host function {name!r}: cannot import {target!r}: {type(problem).__name__}: {problem}"
        ) from None
    if not callable(found):
        raise InputError(f"host function {name!r}: {target!r} is not callable")
    return found
