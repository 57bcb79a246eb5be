"""What an operator does with the job queue: list jobs in a scope, retry a dead one.

A scope is ``None`` (an admin: every job) or a set of mchids (a merchant: its own orders' jobs). The API's
``/v1/jobs`` and the console's jobs page both come here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from weipay.service.db import JobRow, SqlUnitOfWork
from weipay.service.domain import Conflict, NotFound

__all__ = ["JOBS_LIST_LIMIT", "list_jobs", "retry_dead_job"]

log = logging.getLogger("weipay.service.jobs")

JOBS_LIST_LIMIT = 500


def list_jobs(
    uow: SqlUnitOfWork, scope: frozenset[str] | None, *, status: str | None = None, kind: str | None = None
) -> list[JobRow]:
    """Jobs in ``scope`` (None: all), oldest first, at most :data:`JOBS_LIST_LIMIT`."""
    with uow.read() as tx:
        return tx.jobs.list(status=status, kind=kind, mchids=scope, limit=JOBS_LIST_LIMIT)


def retry_dead_job(
    uow: SqlUnitOfWork, clock: Callable[[], float], scope: frozenset[str] | None, job_id: int, *, operator: str
) -> JobRow:
    """A dead job becomes pending now with all its attempts back: ``job_not_found``, or ``job_not_dead``."""
    with uow.write() as tx:
        found = tx.jobs.list(job_id=job_id, mchids=scope)
        if not found:
            raise NotFound("job_not_found", "no such job")
        if not tx.jobs.revive(job_id, clock()):
            raise Conflict("job_not_dead", f"only a dead job can be retried (it is {found[0].status})")
        (job,) = tx.jobs.list(job_id=job_id)
    log.info("dead job %s (%s) retried by %s", job.id, job.kind, operator)
    return job
