"""The article's queue mode, for long or batch work, on Celery with a Redis broker (extra
``[queue]``):

    from restricted_exec.jobs import Jobs

    jobs = Jobs("redis://127.0.0.1:6379/0")
    job_id = jobs.submit("print(sum(range(10**7)))")
    jobs.status(job_id)          # JobStatus(state="queued" | "running" | "done" | "crashed" ...)

and ``restricted-exec worker --broker redis://...``, a Celery worker whose jobs run in its own
Sandbox. At most once: a job is acknowledged when a worker takes it, so a worker lost in the
middle of it never has it delivered again (untrusted code must not run twice behind the
caller's back); its status then reads ``crashed``. Results expire (``result_expires_s``).
"""

from restricted_exec.jobs.queue import (
    BROKER_ENVIRONMENT_VARIABLE,
    Jobs,
    JobState,
    JobStatus,
    make_celery,
    submit,
)

__all__ = [
    "BROKER_ENVIRONMENT_VARIABLE",
    "JobState",
    "JobStatus",
    "Jobs",
    "make_celery",
    "submit",
]
