"""The unit of work: one database transaction and the repositories bound to it.

``with uow.write() as tx:`` opens a write transaction (``BEGIN IMMEDIATE`` on SQLite), commits when
the block ends normally and rolls back on an exception. ``uow.read()`` is the same for reads
(deferred BEGIN on SQLite). Use cases never hold a transaction across a WeChat call.

The use cases see these classes only through their ports (``weipay.service.usecases.ports``:
``UnitOfWork`` and ``Stores``), which they satisfy structurally; the type check below keeps it so.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from weipay.service.domain import CallRecord

from .alert_log import AlertRepository
from .engine import READ_ONLY, create_engine_for
from .job_queue import JobQueue
from .reconciliation_reports import ReconciliationReportRepository
from .record_repositories import (
    AnomalyRepository,
    ApiKeyRepository,
    CallLogRepository,
    NotificationRepository,
    OperatorSessionRepository,
    SessionRepository,
)
from .repositories import AttemptRepository, OrderRepository, RefundRepository
from .shipping import ShippingRepository
from .webhook_log import WebhookRepository

if TYPE_CHECKING:
    from weipay.service.usecases.ports import UnitOfWork

__all__ = ["CallObserver", "SerializedWrites", "SqlStores", "SqlUnitOfWork"]

#: Told of every call record as it is written (metrics); must be cheap and must not raise.
CallObserver = Callable[[Sequence[CallRecord]], None]


class SqlStores:
    """The repositories of one open transaction."""

    def __init__(self, conn: sa.Connection, call_observers: Sequence[CallObserver] = ()) -> None:
        self.connection = conn
        self.orders = OrderRepository(conn)
        self.attempts = AttemptRepository(conn)
        self.refunds = RefundRepository(conn)
        self.notifications = NotificationRepository(conn)
        self.anomalies = AnomalyRepository(conn)
        self.calls = CallLogRepository(conn, call_observers)
        self.alerts = AlertRepository(conn)
        self.jobs = JobQueue(conn)
        self.api_keys = ApiKeyRepository(conn)
        self.sessions = SessionRepository(conn)
        self.operator_sessions = OperatorSessionRepository(conn)
        self.reconciliation_reports = ReconciliationReportRepository(conn)
        self.webhooks = WebhookRepository(conn)
        self.shipping = ShippingRepository(conn)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.connection.dialect.name


class SqlUnitOfWork:
    """Hands out transactions on one engine. Thread-safe: each transaction takes its own pooled connection."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        #: Who hears of each WeChat call as its record is written (the metrics of the process holding this unit
        #: of work). Observed at write time, not commit time: the call happened at WeChat either way.
        self.call_observers: list[CallObserver] = []

    @classmethod
    def from_url(cls, database_url: str, **kwargs: object) -> SqlUnitOfWork:
        """A unit of work on a new engine for ``database_url`` (see ``create_engine_for``)."""
        return cls(create_engine_for(database_url, **kwargs))  # type: ignore[arg-type]

    @contextmanager
    def write(self) -> Iterator[SqlStores]:
        """A write transaction: commit on success, roll back on error."""
        with self.engine.connect() as conn, conn.begin():
            yield SqlStores(conn, self.call_observers)

    @contextmanager
    def read(self) -> Iterator[SqlStores]:
        """A read transaction (never takes SQLite's write lock)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield SqlStores(conn, self.call_observers)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


class SerializedWrites(SqlUnitOfWork):
    """On SQLite, write transactions queue on an in-process lock before ``BEGIN IMMEDIATE``.

    SQLite has a single writer; threads that race for it sleep in the busy handler with growing
    back-off, which turns a burst of notifications into multi-second tail latency. Queueing them on a
    lock hands the database over without sleeping. Other processes still coordinate through SQLite's own
    lock (busy_timeout). PostgreSQL writers run concurrently and take no lock here.
    """

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self.write_lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    @contextmanager
    def write(self) -> Iterator[SqlStores]:
        """A write transaction, serialised on SQLite."""
        with self.write_lock, super().write() as tx:
            yield tx


if TYPE_CHECKING:

    def _satisfies_the_ports(uow: SqlUnitOfWork) -> UnitOfWork:
        return uow  # mypy fails here if a repository drifts from the use cases' Protocols
