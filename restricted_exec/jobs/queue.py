"""Jobs on Celery: submitting them, reading their status, and the worker's task."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import redis
from celery import Celery
from celery.result import AsyncResult

from restricted_exec.errors import InputError
from restricted_exec.host.callers import attributed_to, current_caller
from restricted_exec.host.limits import PolicyRequest, clamped, policy_request
from restricted_exec.language.values import UnsupportedValue, decode, encode
from restricted_exec.policy import Policy
from restricted_exec.result import ExecutionResult
from restricted_exec.sandbox import Sandbox

__all__ = [
    "BROKER_ENVIRONMENT_VARIABLE",
    "JobState",
    "JobStatus",
    "Jobs",
    "make_celery",
    "serve_worker",
    "submit",
]

BROKER_ENVIRONMENT_VARIABLE = "RESTRICTED_EXEC_BROKER_URL"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
TASK_NAME = "restricted_exec.run"
# A worker says it is alive in Redis every HEARTBEAT_EVERY_S, and the word lasts HEARTBEAT_TTL_S:
# a worker silent that long (gone, or cut off from Redis that long) is taken to be lost, and the
# job it started reads crashed, for good. A key with a lifetime, not a ping through the broker: a
# worker reconnecting after a Redis restart cannot answer a ping for seconds, while its last
# word (kept in Redis's file) still stands.
HEARTBEAT_EVERY_S = 1.0
HEARTBEAT_TTL_S = 5.0

JobState = Literal["queued", "running", "done", "crashed", "unknown"]


@dataclass(frozen=True)
class JobStatus:
    """Where a job is: ``queued``, ``running``, ``done`` (with its ``result``), ``crashed`` (its
    worker was lost: the job is never run again), or ``unknown`` (never submitted by this
    tenant, or expired)."""

    id: str
    state: JobState
    result: ExecutionResult | None = None


def make_celery(broker_url: str | None = None, *, result_expires_s: float = 3600.0) -> Celery:
    """The Celery app of the jobs, on ``broker_url`` (default: the environment variable, else
    a Redis on 127.0.0.1), which is also the result backend."""
    url = broker_url or os.environ.get(BROKER_ENVIRONMENT_VARIABLE) or DEFAULT_BROKER
    app = Celery("restricted_exec", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        # At most once: a job is acknowledged as its worker starts it, so a worker lost in the
        # middle of it never has it delivered again (a job no worker started yet may be).
        task_acks_late=False,
        task_reject_on_worker_lost=False,
        task_track_started=True,
        worker_prefetch_multiplier=1,
        result_expires=int(result_expires_s),
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    app.task(name=TASK_NAME)(_run_job)
    return app


# The worker's Sandbox and the ceiling of every job's limits (serve_worker sets them).
_WORKER: dict[str, Sandbox] = {}


def _run_job(
    code: str,
    inputs: Any,
    policy: dict[str, Any] | None,
    tenant: str | None,
    caller: str | None = None,
) -> str:
    """The task: run one job in the worker's Sandbox; the ExecutionResult's JSON. ``caller``:
    who submitted it (restricted_exec.audit.attributed_to), for the worker's audit log."""
    sandbox = _WORKER["sandbox"]
    asked = PolicyRequest.model_validate(policy) if policy is not None else None
    with attributed_to(caller) if caller is not None else contextlib.nullcontext():
        result = sandbox.run(
            code,
            inputs=decode(inputs) if inputs is not None else None,
            policy=clamped(sandbox.policy, asked),
            tenant=tenant,
        )
    return result.model_dump_json()


class Jobs:
    """Submitting jobs and reading their status, on one broker."""

    def __init__(self, broker_url: str | None = None, *, result_expires_s: float = 3600.0) -> None:
        self.app = make_celery(broker_url, result_expires_s=result_expires_s)
        self._expires_s = int(result_expires_s)
        self._redis = redis.Redis.from_url(str(self.app.conf.broker_url))

    def submit(
        self,
        code: str,
        *,
        inputs: dict[str, Any] | None = None,
        policy: Policy | None = None,
        tenant: str | None = None,
    ) -> str:
        """Queue ``code``; its job id. Inputs must be data (InputError otherwise, from the
        value codec's check)."""
        try:
            tagged = encode(inputs) if inputs is not None else None
        except UnsupportedValue as problem:
            raise InputError(f"inputs: {problem}") from None
        caller = current_caller()
        job = self.app.send_task(
            TASK_NAME,
            args=[code, tagged, policy_request(policy), tenant],
            # Only when there is one: a worker from before callers takes such a job as it was.
            kwargs={"caller": caller} if caller is not None else None,
        )
        self._redis.set(_owner_key(job.id), _owner(tenant), ex=self._expires_s)
        return str(job.id)

    def status(self, job_id: str, *, tenant: str | None = None) -> JobStatus:
        """Where the job is, for ``tenant`` (another tenant's job is ``unknown``)."""
        owner = self._redis.get(_owner_key(job_id))
        if not isinstance(owner, bytes) or owner.decode() != _owner(tenant):
            return JobStatus(job_id, "unknown")
        if self._redis.exists(_crashed_key(job_id)):
            return JobStatus(job_id, "crashed")  # final, as documented
        result = AsyncResult(job_id, app=self.app)
        state = result.state
        if state == "SUCCESS":
            return JobStatus(job_id, "done", ExecutionResult.model_validate_json(result.result))
        if state == "PENDING":
            return JobStatus(job_id, "queued")
        if state == "STARTED":
            info = result.info if isinstance(result.info, dict) else {}
            hostname = info.get("hostname")
            if isinstance(hostname, str) and self._worker_alive(hostname):
                return JobStatus(job_id, "running")
        # Started by a worker that no longer answers, or failed in the worker itself.
        self._redis.set(_crashed_key(job_id), b"1", ex=self._expires_s)
        return JobStatus(job_id, "crashed")

    def _worker_alive(self, hostname: str) -> bool:
        return bool(self._redis.exists(_heartbeat_key(hostname)))

    def close(self) -> None:
        self._redis.close()


def _owner(tenant: str | None) -> str:
    return f"tenant:{tenant}" if tenant is not None else "no tenant"


def _owner_key(job_id: str) -> str:
    return f"restricted_exec:job:{job_id}:owner"


def _crashed_key(job_id: str) -> str:
    return f"restricted_exec:job:{job_id}:crashed"


def _heartbeat_key(hostname: str) -> str:
    return f"restricted_exec:worker:{hostname}:alive"


def _beat_forever(broker_url: str, hostname: str) -> None:
    """The worker's heartbeat (a daemon thread: it ends with the process, as it must)."""
    # Bounded waits: a heartbeat stuck on a silent network would let the word lapse unseen.
    connection = redis.Redis.from_url(
        broker_url, socket_timeout=HEARTBEAT_EVERY_S, socket_connect_timeout=HEARTBEAT_EVERY_S
    )
    while True:
        with contextlib.suppress(redis.RedisError):  # the broker is away: try again
            connection.set(_heartbeat_key(hostname), b"1", px=int(HEARTBEAT_TTL_S * 1000))
        time.sleep(HEARTBEAT_EVERY_S)


_DEFAULT_JOBS: list[Jobs] = []


def submit(
    code: str,
    *,
    inputs: dict[str, Any] | None = None,
    policy: Policy | None = None,
    tenant: str | None = None,
) -> str:
    """``Jobs().submit`` on the broker of the environment (made on first use)."""
    if not _DEFAULT_JOBS:
        _DEFAULT_JOBS.append(Jobs())
    return _DEFAULT_JOBS[0].submit(code, inputs=inputs, policy=policy, tenant=tenant)


def serve_worker(
    policy: Policy,
    *,
    broker_url: str | None = None,
    concurrency: int = 1,
    audit_path: Path | None = None,
) -> None:
    """Run a Celery worker (until it is stopped) whose jobs run in a Sandbox of ``policy``,
    the ceiling of every job's limits, ``concurrency`` at a time; each job's run recorded in
    the SQLite audit log at ``audit_path``, if given."""
    app = make_celery(broker_url)
    audit = None
    if audit_path is not None:
        from restricted_exec.audit import AuditLog

        audit = AuditLog.sqlite(audit_path)
    try:
        with Sandbox(policy, max_concurrency=concurrency, audit=audit) as sandbox:
            sandbox.start()
            _WORKER["sandbox"] = sandbox
            hostname = f"restricted-exec-{os.getpid()}@{socket.gethostname()}"
            threading.Thread(
                target=_beat_forever,
                args=(str(app.conf.broker_url), hostname),
                name="restricted-exec-heartbeat",
                daemon=True,
            ).start()
            app.worker_main(
                argv=[
                    "worker",
                    "--pool=threads",
                    f"--concurrency={concurrency}",
                    f"--hostname={hostname}",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel=INFO",
                ]
            )
    finally:
        if audit is not None:
            audit.close()
