"""The storage ports: what the use cases ask of one open transaction, as Protocols.

``weipay.service.db`` implements these structurally (its repositories have exactly these methods);
the use cases never import it. Each state change is a compare-and-set whose boolean says whether
this caller won, so a lost race is a harmless no-op rather than an error. Only what a use case calls
is declared here: console listings and queue claiming stay private to the database layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from weipay.service.domain import (
    Anomaly,
    AttemptStatus,
    CallRecord,
    Order,
    OrderStatus,
    PaymentAttempt,
    Refund,
    RefundKind,
    RefundStatus,
    Shipment,
    ShippingStatus,
    StoredNotification,
    UserSession,
)

from .reconcile_store import ReconciliationReportStore
from .webhook_store import WebhookStore

__all__ = [
    "AlertSent",
    "AlertStore",
    "AnomalyStore",
    "AttemptStore",
    "CallLog",
    "DuplicateRecord",
    "ListFilter",
    "NewAlertEvent",
    "NewJob",
    "NewNotification",
    "NotificationStore",
    "OperatorSession",
    "OperatorSessionStore",
    "OrderStore",
    "Outbox",
    "RefundStore",
    "SessionStore",
    "ShippingStore",
    "Stores",
]


class DuplicateRecord(Exception):
    """An insert collided with a unique constraint: a concurrent twin stored the same record first.

    The transaction that raised it is rolled back; the caller decides whether the twin's record is
    the answer (an idempotent retry) or a conflict.
    """


@dataclass(frozen=True, slots=True)
class NewNotification:
    """A verified notification to store, under WeChat's event id."""

    event_id: str
    mchid: str
    api: str
    kind: str  # payment | refund
    outcome: str
    body: str
    received_at: float
    out_trade_no: str | None = None
    out_refund_no: str | None = None
    facts: str | None = None  # JSON: what the decrypted notification said, redacted (see ``notification_facts``)


@dataclass(frozen=True, slots=True)
class NewJob:
    """A follow-up job to add unless one with the same ``dedupe_key`` exists."""

    kind: str
    payload: Mapping[str, Any]
    due_at: float
    created_at: float
    dedupe_key: str
    order_id: str | None = None
    max_attempts: int = 20


@dataclass(frozen=True, slots=True)
class NewAlertEvent:
    """One occurrence of an alert: grouped with the others of its ``alert_key`` within ``window_start``'s window."""

    alert_key: str
    window_start: float
    kind: str
    severity: str
    title: str
    detail: str  # JSON object: the facts of this occurrence (never secrets)
    created_at: float
    mchid: str | None = None
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListFilter:
    """Which of one merchant's orders (or refunds) a page lists, newest first, and where the page starts.

    ``number`` is any number the order is known by (see ``OrderStore.page``); ``after`` is the
    ``(created_at, id)`` of the last row of the previous page: keyset pagination, so rows inserted meanwhile
    never shift a page (they are newer than any cursor, or land after it once).
    """

    mchid: str
    statuses: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    created_from: float | None = None  # inclusive, unix seconds
    created_to: float | None = None  # exclusive, unix seconds
    number: str | None = None
    after: tuple[float, str] | None = None
    limit: int = 20


@dataclass(frozen=True, slots=True)
class AlertSent:
    """An alert that a sink was sent (``messages`` times for its group, the last at ``sent_at``).

    ``events`` counts the occurrences those messages reported; ``mchid`` and ``order_id`` are the group's latest
    occurrence's (None for an alert about no merchant or order).
    """

    kind: str
    severity: str
    title: str
    sink: str
    messages: int
    sent_at: float
    events: int = 0
    mchid: str | None = None
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class OperatorSession:
    """A console login: stored under the hash of its cookie's token, so logging out can end it on the server."""

    session_hash: str
    operator: str
    created_at: float
    expires_at: float


class OrderStore(Protocol):
    """Business orders."""

    def add(self, order: Order) -> None:
        """Insert a new order; ``DuplicateRecord`` if (mchid, merchant_order_no) or the idempotency key is taken."""
        ...

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        """The order, optionally row-locked for the rest of the transaction."""
        ...

    def by_ids(self, order_ids: Sequence[str]) -> dict[str, Order]:
        """These orders by id (one statement); an unknown id is left out."""
        ...

    def by_merchant_order_no(self, mchid: str, merchant_order_no: str) -> Order | None:
        """The order the merchant knows by ``merchant_order_no``."""
        ...

    def by_idempotency_key(self, mchid: str, idempotency_key: str) -> Order | None:
        """The order created under ``Idempotency-Key``."""
        ...

    def page(self, listing: ListFilter) -> list[Order]:
        """One page of ``listing.mchid``'s orders, newest first; ``limit + 1`` rows tell whether more follow.

        ``number`` matches the order's id, its merchant_order_no, an attempt's out_trade_no or WeChat
        transaction_id, a refund's out_refund_no, merchant_refund_no or WeChat refund_id; ``channels`` any attempt's.
        """
        ...

    def list(
        self, *, mchid: str | None = None, status: OrderStatus | None = None, limit: int = 50, offset: int = 0
    ) -> list[Order]:
        """Newest first, for consoles and reports."""
        ...

    def compare_and_set(self, order_id: str, expected: Sequence[OrderStatus], /, **changes: Any) -> bool:
        """Apply ``changes`` if the order is still in one of ``expected``; True if this call won."""
        ...

    def compare_and_set_many(
        self, expected: Sequence[OrderStatus], changes: Mapping[str, Mapping[str, Any]]
    ) -> set[str]:
        """``compare_and_set`` for several orders (each one's changes naming the same columns); the ids won."""
        ...

    def reserve_refund(self, order_id: str, amount_fen: int, now: float) -> bool:
        """Promise ``amount_fen`` to a refund if it fits in what is still refundable."""
        ...

    def release_refund(self, order_id: str, amount_fen: int, now: float) -> bool:
        """Give a failed or rejected refund's reservation back."""
        ...

    def book_refund(
        self, order_id: str, amount_fen: int, status: OrderStatus, expected: OrderStatus, now: float
    ) -> bool:
        """Move a succeeded refund's reservation into ``refunded_fen`` and set the order's status."""
        ...


class AttemptStore(Protocol):
    """Payment attempts: one WeChat order each."""

    def add(self, attempt: PaymentAttempt) -> None:
        """Insert a new attempt; ``DuplicateRecord`` if its out_trade_no or (order_id, seq) is taken."""
        ...

    def get(self, attempt_id: str) -> PaymentAttempt | None:
        """The attempt by id."""
        ...

    def by_out_trade_no(self, mchid: str, out_trade_no: str) -> PaymentAttempt | None:
        """The attempt WeChat knows as ``out_trade_no`` for merchant ``mchid``."""
        ...

    def by_out_trade_nos(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], PaymentAttempt]:
        """The attempts known by these (mchid, out_trade_no) pairs; a pair with no attempt is left out."""
        ...

    def by_transaction_id(self, transaction_id: str) -> PaymentAttempt | None:
        """The attempt paid by WeChat transaction ``transaction_id``."""
        ...

    def by_transaction_ids(self, transaction_ids: Sequence[str]) -> dict[str, PaymentAttempt]:
        """The attempts paid by these WeChat transactions; an id no attempt holds is left out."""
        ...

    def for_order(self, order_id: str) -> list[PaymentAttempt]:
        """Every attempt of an order, oldest first."""
        ...

    def for_orders(self, order_ids: Sequence[str]) -> list[PaymentAttempt]:
        """Every attempt of these orders (one page of a list), by order then seq."""
        ...

    def succeeded_between(self, mchid: str, start: float, end: float) -> list[PaymentAttempt]:
        """Attempts of ``mchid`` paid within ``[start, end)``."""
        ...

    def compare_and_set(self, attempt_id: str, expected: Sequence[AttemptStatus], /, **changes: Any) -> bool:
        """Apply ``changes`` if the attempt is still in one of ``expected``; True if this call won."""
        ...

    def compare_and_set_many(
        self, expected: Sequence[AttemptStatus], changes: Mapping[str, Mapping[str, Any]]
    ) -> set[str]:
        """``compare_and_set`` for several attempts (each one's changes naming the same columns); the ids won."""
        ...

    def touch(self, attempt_id: str, /, **changes: Any) -> None:
        """Update bookkeeping fields (never ``status``: that goes through ``compare_and_set``)."""
        ...


class RefundStore(Protocol):
    """Refunds."""

    def add(self, refund: Refund) -> None:
        """Insert a new refund; ``DuplicateRecord`` if its out_refund_no or merchant_refund_no is taken."""
        ...

    def get(self, refund_id: str) -> Refund | None:
        """The refund by id."""
        ...

    def by_out_refund_no(self, mchid: str, out_refund_no: str) -> Refund | None:
        """The refund merchant ``mchid`` sent WeChat as ``out_refund_no`` (unique only within a merchant)."""
        ...

    def by_merchant_refund_no(self, order_id: str, merchant_refund_no: str) -> Refund | None:
        """The refund the merchant asked for under ``merchant_refund_no``."""
        ...

    def for_order(self, order_id: str) -> list[Refund]:
        """Every refund of an order, oldest first."""
        ...

    def for_orders(self, order_ids: Sequence[str]) -> list[Refund]:
        """Every refund of these orders (one page of a list), oldest first."""
        ...

    def page(self, listing: ListFilter) -> list[Refund]:
        """One page of ``listing.mchid``'s refunds, newest first (``limit + 1`` rows, as ``OrderStore.page``).

        ``number`` matches the refund's id, out_refund_no, merchant_refund_no or WeChat refund_id, or any number
        of its order (id, merchant_order_no, out_trade_no, transaction_id); ``channels`` the refunded attempt's.
        """
        ...

    def next_seq(self, order_id: str, kind: RefundKind) -> int:
        """The next refund number of an order for ``kind``."""
        ...

    def compare_and_set(self, refund_id: str, expected: Sequence[RefundStatus], /, **changes: Any) -> bool:
        """Apply ``changes`` if the refund is still in one of ``expected``; True if this call won."""
        ...

    def touch(self, refund_id: str, /, **changes: Any) -> None:
        """Update bookkeeping fields (never ``status``)."""
        ...


class NotificationStore(Protocol):
    """Notifications as received: one row per WeChat event id, whatever the number of deliveries."""

    def insert_new(self, entries: Sequence[NewNotification]) -> set[str]:
        """Store each entry whose event id is not stored yet; the event ids this call stored (first deliveries).

        Under concurrency the unique event id decides: a twin delivery waits for the first one's commit
        (PostgreSQL) or for the write lock (SQLite), then stores nothing.
        """
        ...

    def set_outcomes(self, outcomes: Mapping[str, str]) -> None:
        """Record, per event id, what applying the notification did (applied, already, anomaly...)."""
        ...

    def for_out_trade_nos(self, mchid: str, out_trade_nos: list[str]) -> list[StoredNotification]:
        """Notifications to merchant ``mchid`` about any of ``out_trade_nos``, oldest first."""
        ...


class AnomalyStore(Protocol):
    """Anomalies: stored, alerted, never applied."""

    def add(self, anomaly: Anomaly) -> None:
        """Store an anomaly."""
        ...

    def list(
        self, *, order_id: str | None = None, kind: str | None = None, unresolved: bool = False, limit: int = 100
    ) -> list[Anomaly]:
        """Newest first; ``unresolved`` leaves out those an operator resolved."""
        ...

    def get(self, anomaly_id: int) -> Anomaly | None:
        """The anomaly by id."""
        ...

    def resolve(self, anomaly_id: int, now: float, *, by: str, note: str | None) -> bool:
        """Mark it resolved if it is not yet; True if this call did."""
        ...


class AlertStore(Protocol):
    """Alert occurrences: appended, never updated (a storm queues no writer behind another)."""

    def add(self, event: NewAlertEvent) -> None:
        """Append one occurrence."""
        ...

    def sent_for_order(self, order_id: str) -> list[AlertSent]:
        """The alerts about ``order_id`` that reached a sink, oldest first."""
        ...

    def sent(self, *, limit: int = 100) -> list[AlertSent]:
        """What the sinks were sent, one row per group and sink, newest first."""
        ...


class CallLog(Protocol):
    """Every WeChat call and notification, per order."""

    def add(self, record: CallRecord, **links: Any) -> None:
        """Store a call record, with ``order_id``/``attempt_id``/``refund_id`` links filled in if given."""
        ...

    def add_many(self, records: Sequence[CallRecord]) -> None:
        """Store several call records (their links as set on each record)."""
        ...

    def for_order(self, order_id: str, limit: int = 500) -> list[CallRecord]:
        """The order's calls and notifications, oldest first."""
        ...


class Outbox(Protocol):
    """Follow-up jobs, written in the same transaction as the state change they follow."""

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
        """Add a job; with a ``dedupe_key`` at most one exists per key (``rearm`` makes a finished one due again)."""
        ...

    def enqueue_many(self, jobs: Sequence[NewJob]) -> int:
        """Add each job unless its ``dedupe_key`` exists (never re-armed); how many were added."""
        ...


class SessionStore(Protocol):
    """Mini-program user sessions keyed by the hash of the token handed out."""

    def add(self, *, token_hash: str, session: UserSession, session_key: str) -> None:
        """Store a session; ``session_key`` stays server-side."""
        ...

    def get(self, token_hash: str, now: float) -> UserSession | None:
        """The unexpired session for a token hash."""
        ...


class OperatorSessionStore(Protocol):
    """Console sessions of operators, keyed by the hash of the cookie's token."""

    def add(self, session: OperatorSession) -> None:
        """Store a new session."""
        ...

    def get(self, session_hash: str, now: float) -> OperatorSession | None:
        """The unexpired session with this hash."""
        ...

    def end(self, session_hash: str) -> bool:
        """Delete the session; True if it existed."""
        ...

    def purge_expired(self, now: float) -> int:
        """Delete sessions that expired; how many."""
        ...


class ShippingStore(Protocol):
    """Shipping information of paid mini-program orders, one per order."""

    def add(self, shipment: Shipment) -> bool:
        """Insert the order's first shipment; False if it already has one."""
        ...

    def get(self, order_id: str) -> Shipment | None:
        """The order's shipment."""
        ...

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, Shipment]:
        """The shipments of these orders, by order id."""
        ...

    def compare_and_set(self, order_id: str, expected: Sequence[ShippingStatus], /, **changes: Any) -> bool:
        """Apply ``changes`` if the shipment is still in one of ``expected``; True if this call won."""
        ...


class Stores(Protocol):
    """The stores of one open transaction; everything done through them commits or rolls back together."""

    @property
    def orders(self) -> OrderStore:
        """Business orders."""
        ...

    @property
    def attempts(self) -> AttemptStore:
        """Payment attempts."""
        ...

    @property
    def refunds(self) -> RefundStore:
        """Refunds."""
        ...

    @property
    def notifications(self) -> NotificationStore:
        """Notifications as received."""
        ...

    @property
    def anomalies(self) -> AnomalyStore:
        """Anomalies."""
        ...

    @property
    def alerts(self) -> AlertStore:
        """Alert occurrences."""
        ...

    @property
    def calls(self) -> CallLog:
        """The call log."""
        ...

    @property
    def jobs(self) -> Outbox:
        """The outbox."""
        ...

    @property
    def sessions(self) -> SessionStore:
        """User sessions."""
        ...

    @property
    def operator_sessions(self) -> OperatorSessionStore:
        """Console sessions."""
        ...

    @property
    def reconciliation_reports(self) -> ReconciliationReportStore:
        """Daily reconciliation reports."""
        ...

    @property
    def webhooks(self) -> WebhookStore:
        """Merchant webhook deliveries and their attempts."""
        ...

    @property
    def shipping(self) -> ShippingStore:
        """Mini-program shipping information."""
        ...
