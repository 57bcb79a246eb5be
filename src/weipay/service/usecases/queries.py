"""The read side: an order's details and raw call log, order search, anomalies, alerts sent, reconciliation reports,
a native attempt's code_url.

The API and the console read through these functions (and ``timeline``, ``listing``) and nothing else; each reads
in one transaction and returns domain records (or :class:`CallEntry` rows), leaving times and shapes to the adapter.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from weipay.service.domain import (
    Anomaly,
    CallRecord,
    NotFound,
    Order,
    OrderStatus,
    PaymentAttempt,
    Refund,
    Shipment,
    StoredNotification,
)

from .ports import UnitOfWork
from .reconcile_store import StoredReconciliation
from .stores import AlertSent

__all__ = [
    "SEARCH_LIMIT",
    "CallEntry",
    "OrderDetails",
    "OrderEvents",
    "list_alerts_sent",
    "list_anomalies",
    "list_reconciliation_reports",
    "order_call_log",
    "order_details",
    "order_events",
    "payment_code_url",
    "search_orders",
]

SEARCH_LIMIT = 100


@dataclass(frozen=True, slots=True)
class OrderDetails:
    """An order with its attempts, refunds and mini-program shipping information."""

    order: Order
    attempts: list[PaymentAttempt]
    refunds: list[Refund]
    shipment: Shipment | None = None


@dataclass(frozen=True, slots=True)
class OrderEvents:
    """Everything that happened to an order: WeChat calls, notifications, anomalies."""

    calls: list[CallRecord]
    notifications: list[StoredNotification]
    anomalies: list[Anomaly]


@dataclass(frozen=True, slots=True)
class CallEntry:
    """One row of an order's call log: a WeChat call, a received notification or an operator's action (bodies as
    stored: already redacted; a v3 notification's is WeChat's ciphertext)."""

    at: float | None
    direction: str
    api: str
    endpoint: str
    outcome: str
    http_status: int | None
    wechat_code: str | None
    latency_ms: int | None
    request_id: str | None
    body: str | None


def order_details(uow: UnitOfWork, order_id: str, mchid: str | None = None) -> OrderDetails:
    """The order with its attempts and refunds, read in one transaction."""
    with uow.read() as tx:
        order = tx.orders.get(order_id)
        if order is None or (mchid is not None and order.mchid != mchid):
            raise NotFound("order_not_found", f"no order {order_id[:48]!r}")
        return OrderDetails(order, tx.attempts.for_order(order_id), tx.refunds.for_order(order_id),
                            tx.shipping.get(order_id))


def order_events(uow: UnitOfWork, order_id: str, mchid: str | None = None) -> OrderEvents:
    """The order's call log, raw notifications (to the order's own merchant) and anomalies."""
    with uow.read() as tx:
        order = tx.orders.get(order_id)
        if order is None or (mchid is not None and order.mchid != mchid):
            raise NotFound("order_not_found", f"no order {order_id[:48]!r}")
        numbers = [attempt.out_trade_no for attempt in tx.attempts.for_order(order_id)]
        return OrderEvents(
            calls=tx.calls.for_order(order_id),
            notifications=tx.notifications.for_out_trade_nos(order.mchid, numbers),
            anomalies=tx.anomalies.list(order_id=order_id),
        )


def order_call_log(uow: UnitOfWork, order_id: str, mchid: str | None = None) -> list[CallEntry]:
    """The order's raw call log, oldest first: each WeChat call, notification and operator action once."""
    with uow.read() as tx:
        order = tx.orders.get(order_id)
        if order is None or (mchid is not None and order.mchid != mchid):
            raise NotFound("order_not_found", f"no order {order_id[:48]!r}")
        return [_call_entry(call) for call in tx.calls.for_order(order_id)]


def search_orders(uow: UnitOfWork, mchids: Iterable[str], text: str, status: OrderStatus | None) -> list[Order]:
    """Orders whose id, merchant_order_no, out_trade_no or transaction_id is ``text`` (the newest ones when
    ``text`` is empty), of the merchants ``mchids``, optionally only in ``status``."""
    with uow.read() as tx:
        if not text:
            return tx.orders.list(status=status, limit=SEARCH_LIMIT)
        candidates = [tx.orders.get(text)]
        for mchid in mchids:
            candidates.append(tx.orders.by_merchant_order_no(mchid, text))
            attempt = tx.attempts.by_out_trade_no(mchid, text)
            candidates.append(tx.orders.get(attempt.order_id) if attempt else None)
        attempt = tx.attempts.by_transaction_id(text)
        candidates.append(tx.orders.get(attempt.order_id) if attempt else None)
    unique = {order.id: order for order in candidates if order is not None}
    return [order for order in unique.values() if status is None or order.status == status]


def list_anomalies(uow: UnitOfWork, limit: int = 200, *, unresolved: bool = False) -> list[Anomaly]:
    """The newest anomalies (only the open ones with ``unresolved``)."""
    with uow.read() as tx:
        return tx.anomalies.list(limit=limit, unresolved=unresolved)


def list_alerts_sent(uow: UnitOfWork, limit: int = 100) -> list[AlertSent]:
    """What the alert sinks were sent, newest first (one row per alert group and sink)."""
    with uow.read() as tx:
        return tx.alerts.sent(limit=limit)


def list_reconciliation_reports(
    uow: UnitOfWork, mchids: Collection[str] | None, limit: int = 100
) -> list[StoredReconciliation]:
    """The daily reconciliation reports of ``mchids`` (None: every merchant), newest day first."""
    with uow.read() as tx:
        return tx.reconciliation_reports.list(mchids, limit=limit)


def payment_code_url(uow: UnitOfWork, order_id: str, seq: int) -> str:
    """The native ``code_url`` of attempt ``seq`` of the order, or ``qr_not_found``."""
    with uow.read() as tx:
        for attempt in tx.attempts.for_order(order_id):
            if attempt.seq == seq and attempt.code_url:
                return attempt.code_url
    raise NotFound("qr_not_found", "no such QR image")


def _call_entry(call: CallRecord) -> CallEntry:
    return CallEntry(
        at=call.created_at, direction=call.direction, api=call.api, endpoint=call.endpoint, outcome=call.outcome,
        http_status=call.http_status, wechat_code=call.wechat_code, latency_ms=call.latency_ms,
        request_id=call.request_id, body=call.response_body or call.request_body,
    )  # fmt: skip
