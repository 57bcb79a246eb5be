"""What the operators' gauges read at scrape time: the job queue, open anomalies, alerts sent and the merchant
webhooks not delivered, each in one grouped statement (the job query walks the ``(status, due_at)`` index and the
webhook query the ``status`` index: done jobs and delivered webhooks are never read).

Counted in the database rather than in process memory so that every ``weipay serve`` and ``weipay worker``
process reports the same backlog, whoever wrote the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .job_queue import DEAD, PENDING, RUNNING
from .tables import alert_deliveries, anomalies, jobs, webhook_deliveries

__all__ = ["AlertsSent", "AnomalyCount", "Backlog", "JobCount", "WebhookCount", "read_backlog"]


@dataclass(frozen=True, slots=True)
class JobCount:
    """Jobs of one kind in one status (pending, running or dead)."""

    kind: str
    status: str
    count: int
    due_now: int  # pending and due at or before ``now``: the work waiting for a worker
    retrying: int  # pending after at least one failed attempt
    oldest_due_at: float | None


@dataclass(frozen=True, slots=True)
class AnomalyCount:
    """Anomalies of one kind: rows (distinct facts) and occurrences, open or resolved."""

    kind: str
    open: bool
    count: int
    occurrences: int


@dataclass(frozen=True, slots=True)
class AlertsSent:
    """Messages one sink was sent and the occurrences they reported."""

    sink: str
    messages: int
    events: int


@dataclass(frozen=True, slots=True)
class WebhookCount:
    """Merchant webhook deliveries in one status (pending or failed); ``retrying``: pending after a failed attempt."""

    status: str
    count: int
    retrying: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """One snapshot of the four."""

    jobs: list[JobCount]
    anomalies: list[AnomalyCount]
    alerts: list[AlertsSent]
    webhooks: list[WebhookCount]


def read_backlog(conn: sa.Connection, now: float) -> Backlog:
    """The snapshot, in four grouped statements."""
    due_now = sa.func.sum(sa.case((sa.and_(jobs.c.status == PENDING, jobs.c.due_at <= now), 1), else_=0))
    retrying = sa.func.sum(sa.case((sa.and_(jobs.c.status == PENDING, jobs.c.attempts > 0), 1), else_=0))
    job_rows = conn.execute(
        sa.select(jobs.c.kind, jobs.c.status, sa.func.count(), due_now, retrying, sa.func.min(jobs.c.due_at))
        .where(jobs.c.status.in_((PENDING, RUNNING, DEAD)))
        .group_by(jobs.c.kind, jobs.c.status)
    )  # fmt: skip
    is_open = anomalies.c.resolved_at.is_(None)
    anomaly_rows = conn.execute(
        sa.select(anomalies.c.kind, is_open, sa.func.count(), sa.func.sum(anomalies.c.occurrences))
        .group_by(anomalies.c.kind, is_open)
    )  # fmt: skip
    alert_rows = conn.execute(
        sa.select(alert_deliveries.c.sink, sa.func.sum(alert_deliveries.c.messages),
                  sa.func.sum(alert_deliveries.c.events))
        .group_by(alert_deliveries.c.sink)
    )  # fmt: skip
    retried = sa.func.sum(sa.case((webhook_deliveries.c.scheduled_attempts > 0, 1), else_=0))
    webhook_rows = conn.execute(
        sa.select(webhook_deliveries.c.status, sa.func.count(), retried)
        .where(webhook_deliveries.c.status.in_(("pending", "failed")))
        .group_by(webhook_deliveries.c.status)
    )  # fmt: skip
    return Backlog(
        jobs=[JobCount(kind, status, int(count), int(due or 0), int(retries or 0), oldest)
              for kind, status, count, due, retries, oldest in job_rows],
        anomalies=[AnomalyCount(kind, bool(opened), int(count), int(occurrences or 0))
                   for kind, opened, count, occurrences in anomaly_rows],
        alerts=[AlertsSent(sink, int(messages or 0), int(events or 0)) for sink, messages, events in alert_rows],
        webhooks=[WebhookCount(status, int(count), int(retries or 0)) for status, count, retries in webhook_rows],
    )  # fmt: skip
