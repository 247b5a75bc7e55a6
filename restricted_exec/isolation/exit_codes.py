"""Exit codes a child reserves to say why it ended without replying.

They sit in the 70s (sysexits' EX_SOFTWARE neighbourhood) so that they cannot be confused with a
signal death (the host sees those as signals, not codes) or with ``os._exit(0)`` after a reply.
Untrusted code cannot choose them in production: ``os`` is not reachable from the language layer,
and ``SystemExit`` raised by a program is handled inside ``run_prepared``.
"""

from __future__ import annotations

EXIT_OK = 0
# The child's own machinery failed (a bug, not the program): crashed.
EXIT_INTERNAL = 70
# A MemoryError escaped run_prepared or struck while replying: the program exhausted RLIMIT_AS.
EXIT_MEMORY = 71
# A required OS layer could not be applied; the child refused to run untrusted code (fail closed).
EXIT_LOCKDOWN_FAILED = 72
# The host closed the socket before sending a request (a discarded pre-forked child): benign.
EXIT_NO_REQUEST = 73
# The fork server disappeared before the child could report for duty.
EXIT_ORPHANED = 74

DESCRIPTIONS: dict[int, str] = {
    EXIT_INTERNAL: "the child's machinery failed before replying",
    EXIT_MEMORY: "the program exhausted its memory limit",
    EXIT_LOCKDOWN_FAILED: "the child could not enable a required OS layer and refused to run",
    EXIT_NO_REQUEST: "the child was discarded before it received a request",
    EXIT_ORPHANED: "the fork server died before the child could start",
}
