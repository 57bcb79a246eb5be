"""The outbox / job queue table: rows written in the same transaction as the state change they follow.

Claiming: PostgreSQL workers take due rows with ``FOR UPDATE SKIP LOCKED``, so many workers never
take the same row; on SQLite the claim runs inside ``BEGIN IMMEDIATE`` (one writer at a time).
A claim is a lease (``lease_until``, ``lease_token``): a killed worker's job becomes due again when
its lease runs out, and a worker that lost its lease cannot complete the job.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from weipay.service.usecases.stores import NewJob

from .sql import driver_first, insert, insert_ignore, insert_many
from .tables import jobs, orders

__all__ = ["Job", "JobQueue"]

PENDING, RUNNING, DONE, DEAD = "pending", "running", "done", "dead"


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    lease_token: str
    dedupe_key: str | None
    order_id: str | None


@dataclass(frozen=True, slots=True)
class JobRow:
    """A job as stored, for consoles and tests."""

    id: int
    kind: str
    payload: dict[str, Any]
    status: str
    due_at: float
    attempts: int
    dedupe_key: str | None
    order_id: str | None
    last_error: str | None
    max_attempts: int = 20
    updated_at: float = 0.0


def _new_row(
    kind: str, payload: Mapping[str, Any], *, due_at: float, now: float, dedupe_key: str | None,
    order_id: str | None, max_attempts: int,
) -> dict[str, Any]:
    """The columns of a job as first written: pending, never attempted."""
    return {
        "kind": kind, "payload": json.dumps(dict(payload), sort_keys=True), "dedupe_key": dedupe_key,
        "status": PENDING, "due_at": due_at, "attempts": 0, "max_attempts": max_attempts, "order_id": order_id,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


@functools.lru_cache(maxsize=8)
def _rearm_statement(dialect: str, columns: tuple[str, ...]) -> Any:
    """``enqueue(rearm=True)``'s upsert, built once per dialect (the checkout path schedules two jobs per checkout).

    Parameters are named after the columns; the update reads the new row's ``due_at``, ``payload`` and
    ``updated_at`` from ``excluded`` so that no parameter appears twice.
    """
    insert = postgresql.insert(jobs) if dialect == "postgresql" else sqlite.insert(jobs)
    statement = insert.values({name: sa.bindparam(name) for name in columns})
    new = statement.excluded
    least = sa.func.min if dialect == "sqlite" else sa.func.least
    running = jobs.c.status == RUNNING
    update = {
        "status": sa.case((running, jobs.c.status), else_=sa.literal(PENDING)),
        "due_at": sa.case(
            (running, jobs.c.due_at),
            (jobs.c.status == PENDING, least(jobs.c.due_at, new.due_at)),
            else_=new.due_at,
        ),
        "rearm_at": sa.case(
            (running, least(sa.func.coalesce(jobs.c.rearm_at, new.due_at), new.due_at)),
            else_=jobs.c.rearm_at,
        ),
        # Not ``in_``: an expanding IN list cannot be compiled once for the driver.
        "attempts": sa.case((sa.or_(jobs.c.status == DONE, jobs.c.status == DEAD), 0), else_=jobs.c.attempts),
        "payload": new.payload,
        "updated_at": new.updated_at,
    }
    return statement.on_conflict_do_update(index_elements=["dedupe_key"], set_=update).returning(sa.literal_column("1"))


def _job_row(row: Any) -> JobRow:
    return JobRow(
        id=row.id, kind=row.kind, payload=json.loads(row.payload), status=row.status, due_at=row.due_at,
        attempts=row.attempts, dedupe_key=row.dedupe_key, order_id=row.order_id, last_error=row.last_error,
        max_attempts=row.max_attempts, updated_at=row.updated_at,
    )  # fmt: skip


class JobQueue:
    """Enqueue, claim, complete and retry jobs."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        due_at: float,
        now: float,
        dedupe_key: str | None = None,
        order_id: str | None = None,
        rearm: bool = False,
        max_attempts: int = 20,
    ) -> bool:
        """Add a job; with a ``dedupe_key`` at most one row exists per key.

        If the key exists: ``rearm=False`` leaves it alone (returns False); ``rearm=True`` makes a
        finished job pending again at ``due_at`` and moves a pending one earlier if ``due_at`` is sooner.
        A running job keeps running and remembers ``rearm_at``: finishing it (complete or retry) then
        makes it pending at that time, so a follow-up its own handler schedules is never lost.
        """
        values = _new_row(kind, payload, due_at=due_at, now=now, dedupe_key=dedupe_key, order_id=order_id,
                          max_attempts=max_attempts)  # fmt: skip
        if dedupe_key is None or not rearm:
            if dedupe_key is None:
                insert(self._conn, jobs, values)
                return True
            return insert_ignore(self._conn, jobs, values, ["dedupe_key"])
        statement = _rearm_statement(self._conn.dialect.name, tuple(values))
        return driver_first(self._conn, statement, values) is not None

    def enqueue_many(self, new_jobs: Sequence[NewJob]) -> int:
        """Add each job unless its ``dedupe_key`` exists (one statement on PostgreSQL); how many were added."""
        rows = [
            _new_row(job.kind, job.payload, due_at=job.due_at, now=job.created_at, dedupe_key=job.dedupe_key,
                     order_id=job.order_id, max_attempts=job.max_attempts)
            for job in sorted(new_jobs, key=lambda job: job.dedupe_key)
        ]  # fmt: skip
        return len(insert_many(self._conn, jobs, rows, conflict=["dedupe_key"]))

    def claim(self, now: float, *, limit: int, lease_s: float, kinds: list[str] | None = None) -> list[Job]:
        """Lease up to ``limit`` due jobs (pending and due, or running with an expired lease)."""
        due = sa.or_(
            sa.and_(jobs.c.status == PENDING, jobs.c.due_at <= now),
            sa.and_(jobs.c.status == RUNNING, jobs.c.lease_until < now),
        )
        statement = sa.select(jobs.c.id).where(due).order_by(jobs.c.due_at, jobs.c.id).limit(limit)
        if kinds:
            statement = statement.where(jobs.c.kind.in_(kinds))
        if self._conn.dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        ids = list(self._conn.execute(statement).scalars())
        claimed: list[Job] = []
        for job_id in ids:
            token = secrets.token_hex(8)
            update = (
                jobs.update()
                .where(jobs.c.id == job_id, due)
                .values(
                    status=RUNNING,
                    lease_token=token,
                    lease_until=now + lease_s,
                    attempts=jobs.c.attempts + 1,
                    updated_at=now,
                )
                .returning(
                    jobs.c.id,
                    jobs.c.kind,
                    jobs.c.payload,
                    jobs.c.attempts,
                    jobs.c.max_attempts,
                    jobs.c.dedupe_key,
                    jobs.c.order_id,
                )
            )
            row = self._conn.execute(update).first()
            if row is None:
                continue
            claimed.append(
                Job(
                    id=row.id,
                    kind=row.kind,
                    payload=json.loads(row.payload),
                    attempts=row.attempts,
                    max_attempts=row.max_attempts,
                    lease_token=token,
                    dedupe_key=row.dedupe_key,
                    order_id=row.order_id,
                )
            )
        return claimed

    def bury_abandoned(self, now: float) -> list[JobRow]:
        """Mark dead the jobs whose worker died holding them on their last attempt (poison jobs): without
        this, a job that kills every worker taking it would be claimed forever. Returns them (to alert)."""
        error = "abandoned: its worker stopped while running it on each attempt"
        statement = (
            jobs.update()
            .where(jobs.c.status == RUNNING, jobs.c.lease_until < now, jobs.c.attempts >= jobs.c.max_attempts)
            .values(status=DEAD, lease_token=None, lease_until=None, rearm_at=None, last_error=error, updated_at=now)
            .returning(jobs)
        )
        return [_job_row(row) for row in self._conn.execute(statement).all()]

    def renew(self, job: Job, now: float, *, lease_s: float) -> bool:
        """Extend the lease right before running a job; False if another worker took it meanwhile."""
        statement = (
            jobs.update()
            .where(jobs.c.id == job.id, jobs.c.status == RUNNING, jobs.c.lease_token == job.lease_token)
            .values(lease_until=now + lease_s, updated_at=now)
        )
        return self._conn.execute(statement).rowcount == 1

    def complete(self, job: Job, now: float) -> str | None:
        """Mark a job done if we still hold its lease (pending again if it was re-armed meanwhile).

        Returns the status it ended in, or None if the lease was lost.
        """
        return self._finish(job, now, status=DONE, due_at=None, error=None, attempts_delta=0)

    def retry(self, job: Job, now: float, *, due_at: float, error: str, counted: bool = True) -> str | None:
        """Put a job back for ``due_at``, or mark it dead once it used up its attempts.

        ``counted=False`` (polling, not failing) gives back the attempt its claim took, so a job that
        only waits never goes dead; a worker that dies mid-job never gets here, so poison jobs still do.
        Returns the status it ended in (``dead`` tells the caller to raise the alert), or None if the
        lease was lost.
        """
        if counted and job.attempts >= job.max_attempts:
            return self._finish(job, now, status=DEAD, due_at=None, error=error, attempts_delta=0)
        return self._finish(job, now, status=PENDING, due_at=due_at, error=error, attempts_delta=0 if counted else -1)

    def revive(self, job_id: int, now: float) -> bool:
        """An operator's retry: a dead job becomes pending now with all its attempts back."""
        statement = (
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == DEAD)
            .values(status=PENDING, due_at=now, attempts=0, rearm_at=None, updated_at=now)
        )
        return self._conn.execute(statement).rowcount == 1

    def _finish(
        self, job: Job, now: float, *, status: str, due_at: float | None, error: str | None, attempts_delta: int
    ) -> str | None:
        held = sa.and_(jobs.c.id == job.id, jobs.c.status == RUNNING, jobs.c.lease_token == job.lease_token)
        query = sa.select(jobs.c.rearm_at).where(held)
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        if row is None:
            return None
        values: dict[str, Any] = {
            "status": status, "lease_token": None, "lease_until": None, "rearm_at": None, "updated_at": now,
            "attempts": jobs.c.attempts + attempts_delta,
        }  # fmt: skip
        if row.rearm_at is not None:
            # Re-arm wins over completion (and over death): the handler asked for a follow-up.
            values["status"] = PENDING
            due_at = row.rearm_at if due_at is None else min(due_at, row.rearm_at)
            if status == DONE:
                values["attempts"] = 0  # the run succeeded: the follow-up starts afresh, like a re-armed done job
        if due_at is not None:
            values["due_at"] = due_at
        if error is not None:
            values["last_error"] = error[:500]
        statement = jobs.update().where(held).values(values)
        return str(values["status"]) if self._conn.execute(statement).rowcount == 1 else None

    def list(
        self, *, kind: str | None = None, status: str | None = None, order_id: str | None = None,
        mchids: frozenset[str] | None = None, job_id: int | None = None, limit: int | None = None,
    ) -> list[JobRow]:
        """Jobs, oldest first (consoles, tests); ``mchids`` keeps those of these merchants' orders."""
        statement = sa.select(jobs).order_by(jobs.c.id)
        if mchids is not None:
            owned = sa.select(orders.c.id).where(orders.c.mchid.in_(sorted(mchids)))
            statement = statement.where(jobs.c.order_id.in_(owned))
        if job_id is not None:
            statement = statement.where(jobs.c.id == job_id)
        if limit is not None:
            statement = statement.limit(limit)
        if kind is not None:
            statement = statement.where(jobs.c.kind == kind)
        if status is not None:
            statement = statement.where(jobs.c.status == status)
        if order_id is not None:
            statement = statement.where(jobs.c.order_id == order_id)
        return [_job_row(row) for row in self._conn.execute(statement)]

    def next_due_at(self) -> float | None:
        """When the earliest pending job is due (workers sleep until then)."""
        statement = sa.select(sa.func.min(jobs.c.due_at)).where(jobs.c.status == PENDING)
        value = self._conn.execute(statement).scalar_one_or_none()
        return float(value) if value is not None else None
