"""The queue mode with a real redis-server and real `restricted-exec worker` processes: jobs run,
their results come back, a worker killed mid-job leaves its job crashed and never run again,
results expire, and a tenant sees only its own jobs (library and HTTP)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from integrations.processes import free_port, stop
from integrations.programs import ARTICLE_CODE, cpython_prints
from integrations.service_process import server
from restricted_exec import Policy
from restricted_exec.audit import AuditDatabase
from restricted_exec.jobs import Jobs, JobStatus

REQUIRED = os.environ.get("RESTRICTED_EXEC_REQUIRE_SERVICES") == "1"


@contextlib.contextmanager
def redis_server(port: int, *persistence: str) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server on 127.0.0.1:``port`` (``.ci/run`` installs it); ``persistence``: its
    flags (default: none, data in memory only)."""
    if shutil.which("redis-server") is None:
        if REQUIRED:
            pytest.fail("redis-server is not installed, and .ci/run requires it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    flags = persistence or ("--save", "", "--appendonly", "no")
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    """A redis-server of this test module's own."""
    port = free_port()
    with redis_server(port):
        yield f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def worker(broker: str, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "restricted_exec.cli",
            "worker",
            "--broker",
            broker,
            "--concurrency",
            "2",
            "--timeout",
            "20",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        stop(process, 20)


def wait_for(
    jobs: Jobs, job_id: str, until: Callable[[JobStatus], bool], **kwargs: str
) -> JobStatus:
    deadline = time.monotonic() + 60
    while True:
        status = jobs.status(job_id, **kwargs)
        if until(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_a_job_runs_on_a_worker_and_its_result_comes_back(broker: str) -> None:
    jobs = Jobs(broker)
    with worker(broker):
        job_id = jobs.submit(ARTICLE_CODE)
        status = wait_for(jobs, job_id, lambda s: s.state == "done")
        with_inputs = jobs.submit("round(p * 1.05, 2)", inputs={"p": 200}, tenant="acme")
        valued = wait_for(jobs, with_inputs, lambda s: s.state == "done", tenant="acme")
    assert status.state == "done" and status.result is not None
    assert status.result.stdout == cpython_prints(ARTICLE_CODE)
    assert valued.result is not None and valued.result.value == 210.0
    assert jobs.status(with_inputs).state == "unknown"  # another tenant's (no tenant)
    assert jobs.status(with_inputs, tenant="globex").state == "unknown"


def test_a_job_waits_queued_until_a_worker_comes(broker: str) -> None:
    jobs = Jobs(broker)
    job_id = jobs.submit("print('later')")
    assert jobs.status(job_id).state == "queued"
    with worker(broker):
        assert wait_for(jobs, job_id, lambda s: s.state == "done").result.stdout == "later\n"  # type: ignore[union-attr]


def test_a_job_limits_are_clamped_to_the_workers(broker: str) -> None:
    jobs = Jobs(broker)
    with worker(broker, "--timeout", "1"):
        job_id = jobs.submit("while True:\n    pass", policy=Policy(timeout_s=30))
        status = wait_for(jobs, job_id, lambda s: s.state == "done")
    assert status.result is not None and status.result.status == "timeout"
    assert status.result.error is not None and "1 s" in status.result.error.message


def test_a_worker_killed_mid_job_leaves_it_crashed_and_it_never_runs_again(broker: str) -> None:
    jobs = Jobs(broker)
    with worker(broker) as first:
        job_id = jobs.submit("import time\ntime.sleep(8)\nprint('finished')")
        assert wait_for(jobs, job_id, lambda s: s.state == "running").state == "running"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert wait_for(jobs, job_id, lambda s: s.state != "running").state == "crashed"
    with worker(broker):
        later = jobs.submit("print('next')")
        assert wait_for(jobs, later, lambda s: s.state == "done").state == "done"
        time.sleep(1.0)
        assert jobs.status(job_id).state == "crashed"  # not delivered to the new worker


def test_results_expire(broker: str) -> None:
    jobs = Jobs(broker, result_expires_s=2)
    with worker(broker):
        job_id = jobs.submit("1 + 1")
        assert wait_for(jobs, job_id, lambda s: s.state == "done").state == "done"
    time.sleep(3)
    assert jobs.status(job_id).state == "unknown"


def test_jobs_over_http_are_the_tenants_own(broker: str, tmp_path: Path) -> None:
    audit = tmp_path / "worker-audit.sqlite3"
    with server(tmp_path, broker_url=broker) as (url, _), worker(broker, "--audit", str(audit)):
        acme = httpx.Client(base_url=url, headers={"Authorization": "Bearer acme-key-1"})
        globex = httpx.Client(base_url=url, headers={"Authorization": "Bearer globex-key-1"})
        with acme, globex:
            created = acme.post("/v1/jobs", json={"code": "print(6 * 7)"})
            assert created.status_code == 202
            job_id = created.json()["id"]
            deadline = time.monotonic() + 60
            while (info := acme.get(f"/v1/jobs/{job_id}").json())["state"] != "done":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert info["result"]["stdout"] == "42\n"
            assert globex.get(f"/v1/jobs/{job_id}").status_code == 404
    # The worker's audit log names the tenant and the key that submitted the job.
    (record,) = AuditDatabase(audit).query()
    assert (record.tenant, record.caller, record.stdout) == ("acme", "k0", "42\n")


def test_a_redis_restart_loses_no_queued_job_and_runs_none_twice(tmp_path: Path) -> None:
    # Redis as production runs it for a queue: every write in its append-only file.
    port = free_port()
    persisted = ("--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path))
    broker_url = f"redis://127.0.0.1:{port}/0"
    audit = tmp_path / "worker-audit.sqlite3"
    code = "import time\ntime.sleep(0.2)\nprint('job {}')"
    with redis_server(port, *persisted) as first:
        jobs = Jobs(broker_url)
        with worker(broker_url, "--audit", str(audit)):
            before = [jobs.submit(code.format(number)) for number in range(10)]
            wait_for(jobs, before[0], lambda s: s.state == "done")
            first.terminate()  # redis-server writes its file and stops
            first.wait(10)
            with redis_server(port, *persisted):
                after = [jobs.submit(code.format(number)) for number in range(10, 14)]
                final = {
                    job_id: wait_for(jobs, job_id, lambda s: s.state in ("done", "crashed"))
                    for job_id in before + after
                }
    states = Counter(status.state for status in final.values())
    # The queue recovers: every job queued after the restart ran, and every one queued before
    # it, but for at most those the worker (concurrency 2) was running as Redis went away.
    assert all(final[job_id].state == "done" for job_id in after), states
    assert sum(final[job_id].state == "done" for job_id in before) >= len(before) - 2, states
    # No job ran twice: the worker's own audit log saw each program's output once at most.
    ran = Counter(record.stdout for record in AuditDatabase(audit).query(limit=None))
    assert ran and max(ran.values()) == 1, ran
    for status in final.values():
        if status.state == "done":
            assert status.result is not None and ran[status.result.stdout] == 1
