"""The parent side of :mod:`benchmarks.worker`: a killable backend process."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class WorkerTimeout(Exception):
    pass


class Worker:
    """``python -m benchmarks.worker KEY`` in its own session (so its helpers die with it)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._process: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
            self._process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.worker", self.key],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
                cwd=ROOT,
                start_new_session=True,
            )
        return self._process

    def request(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request; on timeout or death the worker is killed and WorkerTimeout raised."""
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
        except BrokenPipeError:
            self.kill()
            raise WorkerTimeout("worker died") from None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout_s):
                self.kill()
                raise WorkerTimeout(f"no answer within {timeout_s:g} s (worker killed)")
        line = process.stdout.readline()
        if not line:
            self.kill()
            raise WorkerTimeout("worker died")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process = process
            self.kill()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # stray helpers of a clean exit
        if process.stdout is not None:
            process.stdout.close()
