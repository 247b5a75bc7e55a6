"""The host side of the production-wrapping test entry (production_entry_with_plain_requests)."""

from __future__ import annotations

from typing import ClassVar

from restricted_exec.isolation.pool import ProcessRunner


class PlainCapableRunner(ProcessRunner):
    """A ProcessRunner whose children run production requests and ``encode_plain`` ones."""

    _entry: ClassVar[str | None] = "isolation.production_entry_with_plain_requests"
