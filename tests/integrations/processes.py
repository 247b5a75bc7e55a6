"""Server subprocesses for the integration tests on 127.0.0.1: a free port, a server awaited
until it listens, and a stop that never leaves one running."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``grace_s``; reaped either way."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def listening(
    command: list[str], port: int, *, timeout_s: float = 30.0
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` running until it accepts connections on ``port``; stopped on the way out.
    Its stderr goes to an unnamed file, not a pipe nobody reads (a full pipe would stop it),
    and is the error's text if it exits first."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if process.poll() is not None:
                    errors.seek(0)
                    said = errors.read().decode(errors="replace")
                    raise RuntimeError(f"the server exited: {said}")
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), 0.2),
                ):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not listen within {timeout_s:g} s")
                time.sleep(0.05)
            yield process
        finally:
            stop(process, 10)
