"""Limits a remote caller asks for (the service's requests, a queued job's): each may lower
the server's, never raise it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from restricted_exec.language.catalogue import DEFAULT_PRELOAD
from restricted_exec.policy import Policy

__all__ = ["PolicyRequest", "clamped", "policy_request"]


class PolicyRequest(BaseModel):
    """Limits a request asks for; each is clamped to the server's (a request can only lower
    them)."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float | None = Field(default=None, gt=0)
    memory_mb: int | None = Field(default=None, ge=16)
    output_bytes: int | None = Field(default=None, ge=0)
    modules: list[str] | None = None


def clamped(ceiling: Policy, asked: PolicyRequest | None) -> Policy:
    """``ceiling`` with the lower limits ``asked`` for; never a higher one."""
    if asked is None:
        return ceiling
    settings = ceiling.model_dump()
    if asked.timeout_s is not None:
        settings["timeout_s"] = min(asked.timeout_s, ceiling.timeout_s)
    if asked.memory_mb is not None:
        settings["memory_mb"] = min(asked.memory_mb, ceiling.memory_mb)
    if asked.output_bytes is not None:
        settings["output_bytes"] = min(asked.output_bytes, ceiling.output_bytes)
    if asked.modules is not None:
        preloaded = ceiling.modules & frozenset(DEFAULT_PRELOAD)
        settings["modules"] = (frozenset(asked.modules) & ceiling.modules) | preloaded
    return Policy.model_validate(settings)


def policy_request(policy: Policy | None) -> dict[str, Any] | None:
    """What a caller holding ``policy`` asks a server for (it clamps them to its own)."""
    if policy is None:
        return None
    return {
        "timeout_s": policy.timeout_s,
        "memory_mb": policy.memory_mb,
        "output_bytes": policy.output_bytes,
        "modules": sorted(policy.modules),
    }
