"""Per-run resource limits that the host passes to a child with each request."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChildLimits:
    """What one child may consume.

    wall_s: the host's watchdog SIGKILLs the child's process group this long after it sent the
        request. This is the only limit that also stops code stuck inside one C call.
    cpu_s: RLIMIT_CPU soft limit, counted from the moment the request arrives. The hard limit is
        one second higher so that the kernel's SIGXCPU (at the soft limit) is what ends a CPU
        hog, which makes a CPU timeout distinguishable from every other death.
    memory_mb: how much address space the program may add on top of the child's own baseline
        (RLIMIT_AS = baseline + memory_mb), so the number means the same whatever the runtime's
        own footprint is.
    max_payload_bytes: the host never reads more than this from a child; a bigger reply is a
        protocol error, not a buffer the host has to hold.
    allow_degraded: if False, a run whose child could not enable every OS layer the runner
        promised is refused (fail closed) instead of executed with less protection.
    output_bytes: the most UTF-8 a child may send in OUTPUT frames while it runs (its
        program's output limit); more is a protocol error.
    """

    wall_s: float
    cpu_s: float
    memory_mb: int
    max_payload_bytes: int
    allow_degraded: bool = False
    output_bytes: int = 0

    def __post_init__(self) -> None:
        # Reject nonsense at the boundary: a NaN or negative limit would otherwise silently become
        # "no limit" or "immediately dead" deep inside the child.
        for name in ("wall_s", "cpu_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"ChildLimits.{name} must be a positive finite number: {value!r}")
        if not (isinstance(self.memory_mb, int) and self.memory_mb > 0):
            raise ValueError(f"ChildLimits.memory_mb must be a positive int: {self.memory_mb!r}")
        if not (isinstance(self.output_bytes, int) and self.output_bytes >= 0):
            raise ValueError(f"ChildLimits.output_bytes must be an int >= 0: {self.output_bytes!r}")
        if not (isinstance(self.max_payload_bytes, int) and self.max_payload_bytes > 0):
            raise ValueError(
                f"ChildLimits.max_payload_bytes must be a positive int: {self.max_payload_bytes!r}"
            )
