"""Canaries and side-effect checks shared by the fuzz targets and the resource-exhaustion suite.

:class:`HostGuard` plants, in the host and *before* any Sandbox is created (process mode's fork
server starts on first use):

- a random canary in the host's environment (``RX_HOST_CANARY``);
- a canary file in /tmp whose *contents* are another random secret;
- a fresh, empty working directory for the host (so "no new file in the cwd" cannot be confused
  with files other engineers create in the repository).

It snapshots the entries of /tmp and of that cwd, and a fingerprint of host state an in-process
(inline) run could damage. Afterwards it checks that no output, value, error message, traceback or
violation contains either canary, that no new entry appeared in /tmp except the private
``restricted-exec-*`` directory a ProcessRunner makes (``tempfile.mkdtemp(prefix=
"restricted-exec-")``, holding only an empty ``cwd/``), and that the host fingerprint is unchanged.
"""

from __future__ import annotations

import builtins
import calendar
import contextlib
import decimal
import importlib
import json
import os
import random
import secrets
import signal
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any, get_args

from restricted_exec import ExecutionResult, Sandbox
from restricted_exec.language.catalogue import CATALOGUE
from restricted_exec.result import Status

# Every status an ExecutionResult may have; anything else is an unclassified ending.
STATUSES = frozenset(get_args(Status))

TMP = "/tmp"
RUNNER_PREFIX = "restricted-exec-"

# A module attribute of the host that no program may change (checked by identity and value).
SENTINEL = f"rx-sentinel-{secrets.token_hex(8)}"


def result_texts(result: ExecutionResult) -> list[str]:
    """Every piece of text a run hands back to the caller."""
    texts = [result.stdout, _value_text(result.value), result.model_dump_json()]
    if result.error is not None:
        texts += [result.error.message, result.error.traceback or ""]
        texts += [violation.message for violation in result.error.violations]
    return texts


def _value_text(value: object) -> str:
    # json.dumps takes no tuple keys (a value may have them); repr shows every string inside.
    try:
        return json.dumps(value, default=_text_of)
    except (TypeError, ValueError):
        return _text_of(value)


def _text_of(value: object) -> str:
    # A value may be an exact number too long for repr (a Fraction of 5,000 digits: the
    # int-to-str limit); its digits hold no canary, and model_dump_json has it in hex.
    try:
        return repr(value)
    except ValueError:
        return f"<{type(value).__name__} over the int-to-str limit>"


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS line in /proc/self/status")


def _decimal_context() -> tuple[Any, ...]:
    context = decimal.getcontext()
    return (
        context.prec,
        context.rounding,
        context.Emin,
        context.Emax,
        context.capitals,
        context.clamp,
        tuple(sorted(str(trap) for trap, on in context.traps.items() if on)),
    )


def host_state() -> dict[str, Any]:
    """A fingerprint of host state an inline run shares with the caller (cheap: ~1 ms)."""
    state: dict[str, Any] = {
        # pytest rewrites PYTEST_CURRENT_TEST between tests; everything else must stay.
        "environ": {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},
        "cwd": os.getcwd(),
        "builtins": {name: id(value) for name, value in vars(builtins).items()},
        "json.item_separator": json.JSONEncoder.item_separator,
        "json.key_separator": json.JSONEncoder.key_separator,
        "calendar.cssclasses": calendar.HTMLCalendar.cssclasses,
        "decimal": _decimal_context(),
        "random": random.getstate(),
        "sys.path": list(sys.path),
        "sys.meta_path": [id(finder) for finder in sys.meta_path],
        "recursionlimit": sys.getrecursionlimit(),
        "int_max_str_digits": sys.get_int_max_str_digits(),
        "signals": {
            signum: signal.getsignal(signum)
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGCHLD)
        },
        "sentinel": sys.modules[__name__].SENTINEL,
    }
    for name in CATALOGUE:
        module = sys.modules.get(name)
        if module is not None:
            # __annotations__ is excluded: a known finding (tests/fuzz/test_fuzz_findings.py,
            # strict xfail) that would otherwise stop every fuzz run at its first occurrence.
            state[f"module:{name}"] = {
                key: id(value) for key, value in vars(module).items() if key != "__annotations__"
            }
    return state


def diff_state(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changed = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            old, new = before.get(key), after.get(key)
            if isinstance(old, dict) and isinstance(new, dict):
                keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                changed.append(f"{key}: {keys[:10]}")
            else:
                changed.append(f"{key}: {str(old)[:200]} -> {str(new)[:200]}")
    return changed


class HostGuard:
    """Plants canaries, snapshots the host, and checks runs and the host against them."""

    def __init__(self) -> None:
        self.env_canary = f"rx-env-canary-{secrets.token_hex(16)}"
        self.file_canary = f"rx-file-canary-{secrets.token_hex(16)}"
        self._old_env = os.environ.get("RX_HOST_CANARY")
        os.environ["RX_HOST_CANARY"] = self.env_canary
        fd, self.canary_path = tempfile.mkstemp(prefix="rx-canary-", dir=TMP)
        with os.fdopen(fd, "w") as canary_file:
            canary_file.write(self.file_canary)
        self._old_cwd = os.getcwd()
        self.cwd = tempfile.mkdtemp(prefix="rx-host-cwd-", dir=TMP)
        os.chdir(self.cwd)
        # Import every catalogue module in the host the way the runtime does, so that the
        # one-time freezing of class-level containers happens before the snapshot.
        from restricted_exec.language.modules import load_catalogue_module

        for name in CATALOGUE:
            importlib.import_module(name)
            load_catalogue_module(name)
        self.tmp_before = set(os.listdir(TMP))
        self.cwd_before = set(os.listdir(self.cwd))
        self.state_before = host_state()

    # -- per result -------------------------------------------------------------------------

    def leaks(self, result: ExecutionResult) -> list[str]:
        found = []
        for text in result_texts(result):
            for canary in (self.env_canary, self.file_canary):
                if canary in text:
                    found.append(f"canary {canary[:14]} in {text[:300]!r}")
        return found

    def assert_no_leak(self, result: ExecutionResult) -> None:
        leaks = self.leaks(result)
        assert not leaks, leaks

    # -- host -------------------------------------------------------------------------------

    @staticmethod
    def _runner_dirs(sandboxes: Iterable[Sandbox]) -> set[str]:
        dirs = set()
        for sandbox in sandboxes:
            runner = sandbox._runner
            if runner is not None:
                dirs.add(os.path.basename(runner._tmpdir))
        return dirs

    def tmp_entries(self) -> set[str]:
        return set(os.listdir(TMP))

    def new_files(
        self, sandboxes: Iterable[Sandbox] = (), since: set[str] | None = None
    ) -> list[str]:
        """New entries in /tmp and the host cwd that restricted_exec does not own.

        /tmp is shared with everything else on the machine, so callers pass ``since``: a
        snapshot taken just before the run, which keeps the window to the run itself. With
        ``since=None`` (the whole session) only entries a child could have made - owned by
        another uid than the host's - count, since other processes may use /tmp meanwhile.
        """
        own = self._runner_dirs(sandboxes)
        whole_session = since is None
        baseline = self.tmp_before if since is None else since
        suspicious = []
        for name in sorted(self.tmp_entries() - baseline):
            path = os.path.join(TMP, name)
            if name in own:
                continue
            with contextlib.suppress(FileNotFoundError):
                info = os.lstat(path)
                host_owned = info.st_uid == os.getuid()
                if whole_session and host_owned:
                    continue
                if (
                    name.startswith(RUNNER_PREFIX)
                    and stat.S_ISDIR(info.st_mode)
                    and host_owned
                    and set(os.listdir(path)) <= {"cwd"}
                ):
                    # Another Sandbox's private directory (tests run concurrently), owned by
                    # the host user: a child runs as nobody and could not have made it.
                    continue
                suspicious.append(f"{path} (uid {info.st_uid})")
        # The host's cwd is private to this guard: any new entry counts.
        suspicious += [
            os.path.join(self.cwd, name)
            for name in sorted(set(os.listdir(self.cwd)) - self.cwd_before)
        ]
        for name in own:
            # The runner's directory holds exactly the child's empty, read-only cwd.
            path = os.path.join(TMP, name)
            with contextlib.suppress(FileNotFoundError):
                extra = sorted(set(os.listdir(path)) - {"cwd"})
                suspicious += [os.path.join(path, entry) for entry in extra]
                cwd_entries = os.listdir(os.path.join(path, "cwd"))
                suspicious += [os.path.join(path, "cwd", entry) for entry in cwd_entries]
        return suspicious

    def assert_host_intact(
        self,
        sandboxes: Iterable[Sandbox] = (),
        before: dict[str, Any] | None = None,
        tmp_before: set[str] | None = None,
    ) -> None:
        changed = diff_state(self.state_before if before is None else before, host_state())
        assert not changed, f"host state changed: {changed}"
        new = self.new_files(sandboxes, since=tmp_before)
        assert not new, f"new files appeared: {new}"
        with open(self.canary_path) as canary_file:
            assert canary_file.read() == self.file_canary, "the canary file was modified"

    def close(self) -> None:
        os.chdir(self._old_cwd)
        with contextlib.suppress(OSError):
            os.rmdir(self.cwd)
        with contextlib.suppress(OSError):
            os.unlink(self.canary_path)
        if self._old_env is None:
            os.environ.pop("RX_HOST_CANARY", None)
        else:
            os.environ["RX_HOST_CANARY"] = self._old_env


@contextlib.contextmanager
def guarded_sandbox(*args: Any, **kwargs: Any) -> Iterator[tuple[HostGuard, Sandbox]]:
    """Plant the canaries, THEN create the Sandbox; on exit close it and check the host."""
    guard = HostGuard()
    try:
        sandbox = Sandbox(*args, **kwargs)
        try:
            yield guard, sandbox
            guard.assert_host_intact([sandbox])
        finally:
            sandbox.close()
        # close() removed the runner's private directory: nothing of ours is left in /tmp.
        left = guard.new_files()
        assert not left, f"new files after close: {left}"
    finally:
        guard.close()
