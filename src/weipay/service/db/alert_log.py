"""Alert occurrences and each sink's progress through them (see ``weipay.service.usecases.alerting``).

Writers only append occurrences. The delivery job reads a group (one alert key within one window) as an
aggregate, never row by row, so a storm of a hundred thousand occurrences is one small query; each sink's
progress is the id of the last occurrence it was told about.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from weipay.service.usecases.stores import AlertSent, NewAlertEvent

from .sql import insert, record_values, upsert
from .tables import alert_deliveries, alert_events

__all__ = ["AlertEvent", "AlertGroup", "AlertRepository", "SinkProgress"]


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One stored occurrence."""

    id: int
    alert_key: str
    window_start: float
    kind: str
    severity: str
    title: str
    mchid: str | None
    order_id: str | None
    detail: dict[str, Any]
    created_at: float


@dataclass(frozen=True, slots=True)
class AlertGroup:
    """The occurrences of one key in one window after some id: how many, the first and the last."""

    count: int
    first: AlertEvent
    last: AlertEvent


@dataclass(frozen=True, slots=True)
class SinkProgress:
    """What one sink was told about a group so far."""

    sink: str
    last_event_id: int
    messages: int
    events: int
    sent_at: float


def _event(row: Any) -> AlertEvent:
    values = dict(row._mapping)
    values["detail"] = json.loads(values["detail"])
    return AlertEvent(**values)


class AlertRepository:
    """Append occurrences; read a group's unreported part; record a sink's delivery."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, event: NewAlertEvent) -> None:
        """Append one occurrence (an insert with no unique key: it never waits for another writer)."""
        insert(self._conn, alert_events, record_values(event))

    def group(self, alert_key: str, window_start: float, *, after_id: int = 0) -> AlertGroup | None:
        """The occurrences of the group with an id above ``after_id``; None if there are none."""
        where = sa.and_(
            alert_events.c.alert_key == alert_key,
            alert_events.c.window_start == window_start,
            alert_events.c.id > after_id,
        )
        stats = self._conn.execute(
            sa.select(sa.func.count(), sa.func.min(alert_events.c.id), sa.func.max(alert_events.c.id)).where(where)
        ).one()
        if not stats[0]:
            return None
        rows = {row.id: _event(row) for row in self._conn.execute(
            sa.select(alert_events).where(alert_events.c.id.in_([stats[1], stats[2]]))
        )}  # fmt: skip
        return AlertGroup(count=int(stats[0]), first=rows[stats[1]], last=rows[stats[2]])

    def progress(self, alert_key: str, window_start: float) -> dict[str, SinkProgress]:
        """Each sink's progress through the group, by sink name."""
        statement = sa.select(alert_deliveries).where(
            alert_deliveries.c.alert_key == alert_key, alert_deliveries.c.window_start == window_start
        )
        return {
            row.sink: SinkProgress(row.sink, row.last_event_id, row.messages, row.events, row.sent_at)
            for row in self._conn.execute(statement)
        }

    def delivered(self, alert_key: str, window_start: float, sink: str, *, up_to_id: int, events: int,
                  now: float) -> None:  # fmt: skip
        """Record that ``sink`` was sent one message reporting ``events`` occurrences, up to ``up_to_id``."""
        values = {"alert_key": alert_key, "window_start": window_start, "sink": sink, "last_event_id": up_to_id,
                  "messages": 1, "events": events, "sent_at": now}  # fmt: skip
        greatest = sa.func.max if self._conn.dialect.name == "sqlite" else sa.func.greatest
        update = {
            "last_event_id": greatest(alert_deliveries.c.last_event_id, up_to_id),
            "messages": alert_deliveries.c.messages + 1,
            "events": alert_deliveries.c.events + events,
            "sent_at": now,
        }
        upsert(self._conn, alert_deliveries, values, ["alert_key", "window_start", "sink"], update)

    def recent(self, *, limit: int = 100, alert_key: str | None = None) -> list[AlertEvent]:
        """Occurrences, newest first (consoles, tests)."""
        statement = sa.select(alert_events).order_by(alert_events.c.id.desc()).limit(limit)
        if alert_key is not None:
            statement = statement.where(alert_events.c.alert_key == alert_key)
        return [_event(row) for row in self._conn.execute(statement)]

    def sent_for_order(self, order_id: str) -> list[AlertSent]:
        """The alerts about ``order_id`` a sink was told about: one per (group, sink), oldest first.

        A sink's delivery row covers its group up to ``last_event_id``, so it reported this order's occurrence
        when that id is at least the occurrence's.
        """
        reported = sa.and_(
            alert_deliveries.c.alert_key == alert_events.c.alert_key,
            alert_deliveries.c.window_start == alert_events.c.window_start,
            alert_deliveries.c.last_event_id >= alert_events.c.id,
        )
        statement = (
            sa.select(alert_events.c.kind, alert_events.c.severity, alert_events.c.title, alert_deliveries.c.sink,
                      alert_deliveries.c.messages, alert_deliveries.c.sent_at, alert_events.c.alert_key,
                      alert_events.c.window_start)
            .join(alert_deliveries, reported)
            .where(alert_events.c.order_id == order_id)
            .order_by(alert_deliveries.c.sent_at, alert_events.c.id)
        )  # fmt: skip
        seen: dict[tuple[str, float, str], AlertSent] = {}
        for row in self._conn.execute(statement):
            seen.setdefault((row.alert_key, row.window_start, row.sink), AlertSent(
                kind=row.kind, severity=row.severity, title=row.title, sink=row.sink, messages=row.messages,
                sent_at=row.sent_at,
            ))  # fmt: skip
        return list(seen.values())

    def sent(self, *, limit: int = 100) -> list[AlertSent]:
        """What the sinks were sent, newest first: one row per group and sink, described by the group's last
        occurrence that sink reported (its kind, title, merchant and order)."""
        deliveries = sa.select(alert_deliveries).order_by(alert_deliveries.c.sent_at.desc()).limit(limit).subquery()
        statement = (
            sa.select(alert_events.c.kind, alert_events.c.severity, alert_events.c.title, alert_events.c.mchid,
                      alert_events.c.order_id, deliveries.c.sink, deliveries.c.messages, deliveries.c.events,
                      deliveries.c.sent_at)
            .join(alert_events, alert_events.c.id == deliveries.c.last_event_id)
            .order_by(deliveries.c.sent_at.desc(), deliveries.c.sink)
        )  # fmt: skip
        return [
            AlertSent(kind=row.kind, severity=row.severity, title=row.title, sink=row.sink, messages=row.messages,
                      sent_at=row.sent_at, events=row.events, mchid=row.mchid, order_id=row.order_id)
            for row in self._conn.execute(statement)
        ]  # fmt: skip
