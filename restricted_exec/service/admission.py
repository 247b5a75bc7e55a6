"""The service's one gate: at most ``capacity`` requests that run code are in the service at
once (those running and those the Sandbox holds in its fair queue); one more is answered 429
at once, with Retry-After. So waiting requests never pile up in memory, and every caller goes
through the Sandbox's tenant-fair admission, whose queue the gate never overfills."""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["Admission", "cpu_quota"]


class Admission:
    """A counter of requests in flight, bounded (used from the event loop's thread only)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.in_flight = 0

    def try_enter(self) -> bool:
        if self.in_flight >= self.capacity:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1


def cpu_quota(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """The CPUs this process may use: the container's quota (cgroup v2 ``cpu.max``) rounded
    up, else the CPUs it may be scheduled on."""
    try:
        quota, period = (cgroup_root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
