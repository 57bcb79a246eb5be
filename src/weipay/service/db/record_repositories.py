"""Repositories for the append-mostly records: raw notifications, anomalies, the call log, API keys, user sessions."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from weipay.service.domain import Anomaly, CallRecord, StoredNotification, UserSession
from weipay.service.usecases.stores import NewNotification, OperatorSession

from .sql import insert_many, record_values, update_many
from .tables import anomalies, api_keys, call_log, notifications, operator_sessions, user_sessions

log = logging.getLogger("weipay.service.db")

__all__ = [
    "AnomalyRepository",
    "ApiKeyRepository",
    "CallLogRepository",
    "NotificationRepository",
    "OperatorSessionRepository",
    "SessionRepository",
    "StoredNotification",
    "UserSession",
]


class NotificationRepository:
    """Notifications as received: one row per WeChat event id, whatever the number of deliveries."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def insert_new(self, entries: Sequence[NewNotification]) -> set[str]:
        """Store each entry whose event id is not stored yet (one statement); the event ids stored now."""
        rows = [record_values(entry) for entry in sorted(entries, key=lambda entry: entry.event_id)]
        return {event_id for (event_id,) in insert_many(self._conn, notifications, rows, conflict=["event_id"])}

    def set_outcomes(self, outcomes: Mapping[str, str]) -> None:
        """Record, per event id, what applying the notification did (one statement)."""
        update_many(self._conn, notifications, "event_id", {event_id: {"outcome": outcome}
                                                             for event_id, outcome in outcomes.items()})

    def get(self, event_id: str) -> StoredNotification | None:
        """The stored notification with ``event_id``."""
        row = self._conn.execute(sa.select(notifications).where(notifications.c.event_id == event_id)).first()
        return StoredNotification(**row._mapping) if row else None

    def for_out_trade_nos(self, mchid: str, out_trade_nos: list[str]) -> list[StoredNotification]:
        """Notifications to merchant ``mchid`` about any of ``out_trade_nos``, oldest first.

        ``out_trade_no`` is unique only within a merchant: another merchant's notification may carry the same one.
        """
        if not out_trade_nos:
            return []
        statement = (
            sa.select(notifications)
            .where(notifications.c.mchid == mchid, notifications.c.out_trade_no.in_(out_trade_nos))
            .order_by(notifications.c.received_at, notifications.c.id)
        )
        return [StoredNotification(**row._mapping) for row in self._conn.execute(statement)]


class AnomalyRepository:
    """Anomalies: stored, alerted, never applied."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, anomaly: Anomaly) -> None:
        """Store an anomaly, or count it on the unresolved row that already says the same thing.

        WeChat retries a notification it was not answered SUCCESS for up to 15 times, and a query job may meet
        the same surprise at every poll: counting repeats keeps the table as small as the set of distinct facts.
        """
        same = sa.and_(
            *(anomalies.c[name].is_(None) if value is None else anomalies.c[name] == value
              for name, value in (("mchid", anomaly.mchid), ("order_id", anomaly.order_id),
                                  ("attempt_id", anomaly.attempt_id), ("refund_id", anomaly.refund_id))),
            anomalies.c.kind == anomaly.kind, anomalies.c.detail == anomaly.detail, anomalies.c.resolved_at.is_(None),
        )  # fmt: skip
        counted = self._conn.execute(
            anomalies.update().where(same)
            .values(occurrences=anomalies.c.occurrences + 1, last_seen_at=anomaly.created_at)
        )  # fmt: skip
        if counted.rowcount:
            return
        values = record_values(anomaly)
        values.pop("id")
        self._conn.execute(anomalies.insert().values(values))

    def list(
        self, *, order_id: str | None = None, kind: str | None = None, unresolved: bool = False, limit: int = 100
    ) -> list[Anomaly]:
        """Newest first; ``unresolved`` leaves out the resolved ones."""
        statement = sa.select(anomalies).order_by(anomalies.c.id.desc()).limit(limit)
        if order_id is not None:
            statement = statement.where(anomalies.c.order_id == order_id)
        if kind is not None:
            statement = statement.where(anomalies.c.kind == kind)
        if unresolved:
            statement = statement.where(anomalies.c.resolved_at.is_(None))
        return [Anomaly(**row._mapping) for row in self._conn.execute(statement)]

    def get(self, anomaly_id: int) -> Anomaly | None:
        """The anomaly by id."""
        row = self._conn.execute(sa.select(anomalies).where(anomalies.c.id == anomaly_id)).first()
        return Anomaly(**row._mapping) if row else None

    def resolve(self, anomaly_id: int, now: float, *, by: str, note: str | None) -> bool:
        """Mark it resolved unless it already is (compare-and-set on ``resolved_at``); True if this call did."""
        statement = (
            anomalies.update()
            .where(anomalies.c.id == anomaly_id, anomalies.c.resolved_at.is_(None))
            .values(resolved_at=now, resolved_by=by, resolution_note=note)
        )
        return bool(self._conn.execute(statement).rowcount)


class CallLogRepository:
    """Every WeChat call and notification, per order (the seeds' payWechatLog).

    ``observers`` hear of each record written (the metrics); one that raises is logged and ignored, since
    counting a call must never fail the transaction that records it.
    """

    def __init__(
        self, conn: sa.Connection, observers: Sequence[Callable[[Sequence[CallRecord]], None]] = ()
    ) -> None:
        self._conn = conn
        self._observers = observers

    def add(self, record: CallRecord, **links: Any) -> None:
        """Store a call record, with ``order_id``/``attempt_id``/``refund_id`` links filled in if given."""
        self.add_many([dataclasses.replace(record, **{k: v for k, v in links.items() if v is not None})])

    def add_many(self, records: Sequence[CallRecord]) -> None:
        """Store several call records in one statement (PostgreSQL)."""
        rows = [record_values(record) for record in records]
        for row in rows:
            row.pop("id")
        insert_many(self._conn, call_log, rows)
        for observer in self._observers:
            try:
                observer(records)
            except Exception:  # a metrics bug must never undo a payment's bookkeeping
                log.exception("call observer failed")

    def for_order(self, order_id: str, limit: int = 500) -> list[CallRecord]:
        """The order's calls and notifications, oldest first."""
        statement = sa.select(call_log).where(call_log.c.order_id == order_id).order_by(call_log.c.id).limit(limit)
        return [CallRecord(**row._mapping) for row in self._conn.execute(statement)]

    def recent(self, limit: int = 100) -> list[CallRecord]:
        """The newest calls, newest first."""
        statement = sa.select(call_log).order_by(call_log.c.id.desc()).limit(limit)
        return [CallRecord(**row._mapping) for row in self._conn.execute(statement)]


class ApiKeyRepository:
    """Merchant API keys, stored as SHA-256 hashes only."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, *, mchid: str, key_hash: str, prefix: str, label: str, created_at: float) -> None:
        """Store a key hash."""
        values = {"mchid": mchid, "key_hash": key_hash, "prefix": prefix, "label": label, "created_at": created_at}
        self._conn.execute(api_keys.insert().values(values))

    def mchid_for(self, key_hash: str) -> str | None:
        """The merchant owning an unrevoked key with this hash."""
        statement = sa.select(api_keys.c.mchid).where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
        return self._conn.execute(statement).scalar_one_or_none()

    def revoke(self, prefix: str, now: float) -> int:
        """Revoke keys by their displayed prefix; returns how many."""
        statement = api_keys.update().where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
        return self._conn.execute(statement.values(revoked_at=now)).rowcount


class SessionRepository:
    """Mini-program user sessions keyed by the hash of the token we hand out."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, *, token_hash: str, session: UserSession, session_key: str) -> None:
        """Store a session; ``session_key`` stays in this table."""
        values = {
            "token_hash": token_hash,
            "mchid": session.mchid,
            "appid": session.appid,
            "openid": session.openid,
            "unionid": session.unionid,
            "session_key": session_key,
            "created_at": session.created_at,
            "expires_at": session.expires_at,
        }
        self._conn.execute(user_sessions.insert().values(values))

    def get(self, token_hash: str, now: float) -> UserSession | None:
        """The unexpired session for a token hash."""
        columns = [c for c in user_sessions.c if c.name not in ("token_hash", "session_key")]
        statement = sa.select(*columns).where(
            user_sessions.c.token_hash == token_hash, user_sessions.c.expires_at > now
        )
        row = self._conn.execute(statement).first()
        return UserSession(**row._mapping) if row else None


class OperatorSessionRepository:
    """Console sessions, keyed by the SHA-256 of the cookie's token (the token itself is never stored)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, session: OperatorSession) -> None:
        """Store a new session."""
        self._conn.execute(operator_sessions.insert().values(record_values(session)))

    def get(self, session_hash: str, now: float) -> OperatorSession | None:
        """The unexpired session with this hash."""
        statement = sa.select(operator_sessions).where(
            operator_sessions.c.session_hash == session_hash, operator_sessions.c.expires_at > now
        )
        row = self._conn.execute(statement).first()
        return OperatorSession(**row._mapping) if row else None

    def end(self, session_hash: str) -> bool:
        """Delete the session; True if it existed."""
        statement = operator_sessions.delete().where(operator_sessions.c.session_hash == session_hash)
        return bool(self._conn.execute(statement).rowcount)

    def purge_expired(self, now: float) -> int:
        """Delete expired sessions; how many."""
        return int(self._conn.execute(operator_sessions.delete().where(operator_sessions.c.expires_at <= now)).rowcount)
