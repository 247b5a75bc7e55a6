"""A Policy turned into what travels with one run: the child's options and its limits.

The one place that reads a Policy for the run path below the Sandbox: the program part carries
:class:`RunOptions`, the request header carries :class:`ChildLimits`. A new limit or option is
added here and in those two types, nowhere else.
"""

from __future__ import annotations

import functools

from restricted_exec.child.executor import program_part
from restricted_exec.child.protocol import RunOptions
from restricted_exec.host.reply import max_reply_bytes
from restricted_exec.isolation import ChildLimits
from restricted_exec.language.compiler import CompileOutcome
from restricted_exec.policy import Policy

__all__ = ["ProgramPart", "child_limits", "run_options"]


def run_options(policy: Policy, source: str) -> RunOptions:
    """What the program's run needs of ``policy`` (and its source, for traceback lines)."""
    return RunOptions(
        modules=policy.modules,
        preload=policy.preload,
        output_bytes=policy.output_bytes,
        max_value_items=policy.max_value_items,
        source=source,
        deterministic=policy.deterministic,
        host_call_bytes=policy.host_call_bytes,
    )


# A Sandbox runs under a handful of policies, and every process-mode run needs its limits:
# worked out once per policy (both types are frozen, so a shared ChildLimits cannot change).
@functools.lru_cache(maxsize=64)
def child_limits(policy: Policy) -> ChildLimits:
    """What the child running under ``policy`` may consume."""
    return ChildLimits(
        wall_s=policy.timeout_s,
        cpu_s=policy.effective_cpu_time_s,
        memory_mb=policy.memory_mb,
        # The largest reply an honest child sends (read_reply checks it again).
        max_payload_bytes=max_reply_bytes(policy.output_bytes),
        allow_degraded=policy.allow_degraded,
        output_bytes=policy.output_bytes,
    )


class ProgramPart:
    """A compiled program's program part for one Policy (see restricted_exec.child.protocol),
    encoded on its first process-mode run; a Program makes a new one when its policy changes."""

    def __init__(self, source: str, outcome: CompileOutcome, policy: Policy) -> None:
        self.source = source
        self.outcome = outcome
        self._policy = policy
        self._encoded: bytes | None = None

    def encoded(self) -> bytes:
        encoded = self._encoded
        if encoded is None:
            code = self.outcome.code
            assert code is not None
            options = run_options(self._policy, self.source)
            encoded = self._encoded = program_part(code, self.outcome.hoisted, options)
        return encoded
