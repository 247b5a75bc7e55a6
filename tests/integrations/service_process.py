"""A real `restricted-exec serve` process on 127.0.0.1 for the tests, with two tenants' keys."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from integrations.processes import free_port, stop
from restricted_exec.service.keys import hash_key

KEYS = {"acme-key-1": "acme", "globex-key-1": "globex"}


@contextlib.contextmanager
def server(
    tmp_path: Path, *, import_path: Path | None = None, **settings: Any
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A server with ``settings`` in its config; ``import_path``: a directory the server can
    import the operator's modules (host functions) from."""
    keys = tmp_path / "keys.json"
    keys.write_text(
        json.dumps(
            {
                "keys": [
                    {"id": f"k{index}", "tenant": tenant, "sha256": hash_key(key)}
                    for index, (key, tenant) in enumerate(KEYS.items())
                ]
            }
        )
    )
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "api_keys_file": str(keys),
                "audit_path": str(tmp_path / "audit.sqlite3"),
                "policy": {"timeout_s": 3},
                **settings,
            }
        )
    )
    port = free_port()
    log = tmp_path / "server.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "restricted_exec.cli",
            "serve",
            "--port",
            str(port),
            "--config",
            str(config),
        ],
        stdout=subprocess.DEVNULL,
        # A file, not a pipe nobody reads: a full pipe would stop the server mid-test.
        stderr=log.open("wb"),
        env=_with_import_path(import_path),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(log.read_text())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the server was not ready within 60 s")
            time.sleep(0.1)
        yield url, process
    finally:
        stop(process, 30)


def _with_import_path(directory: Path | None) -> dict[str, str]:
    environment = dict(os.environ)
    if directory is not None:
        paths = [str(directory), *filter(None, [environment.get("PYTHONPATH")])]
        environment["PYTHONPATH"] = os.pathsep.join(paths)
    return environment
