"""Merchant webhook events: what happened to an order, as an event object written in the transaction of the change.

An event is ``{"id": "evt_…", "type": "order.paid", "created": <unix seconds>, "data": {...}}``. ``data`` holds
the order as it stood right after the change (the shape of ``GET /v1/orders/{id}`` without attempts and refunds),
plus the ``refund`` of a refund event and the ``payment`` (attempt) of a payment event. The body is frozen when
the event is written: every attempt and every redelivery sends the same bytes, so a receiver deduplicates on
``id`` and may trust ``data`` as of ``created``.

Each event is keyed by the fact it reports (``order.paid:<order id>``, ``refund.succeeded:<refund id>``): the
fact applied twice (a duplicate notification racing a query) still makes one event. Writing the event also
writes the ``deliver_webhook`` job that sends it (the outbox), in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from weipay.service.domain import Order, OrderStatus, PaymentAttempt, Refund

from .outbox import webhook_job
from .stores import Stores
from .webhook_store import NewWebhookDelivery

__all__ = [
    "EVENT_TYPES",
    "WebhookEvent",
    "emit_refund_event",
    "emit_webhook",
    "emit_webhooks",
    "event_body",
    "new_event_id",
    "order_refund_event",
]

# Every event type, with what it means (docs/webhooks.md documents each with an example; a test keeps them equal).
EVENT_TYPES: dict[str, str] = {
    "order.paid": "the order was paid (WeChat's SUCCESS, by notification or query)",
    "order.closed": "the unpaid order was closed (POST /v1/orders/{id}/close)",
    "order.expired": "the unpaid order reached its expiry and was closed at WeChat",
    "order.partially_refunded": "a refund succeeded and part of the payment is still kept",
    "order.refunded": "a refund succeeded and the whole payment is refunded",
    "payment.failed": "a payment attempt failed at WeChat (PAYERROR, REVOKED); the order stays payable",
    "refund.requested": "a refund waits for an operator's approval",
    "refund.approved": "an operator approved a refund; it is being sent to WeChat",
    "refund.rejected": "an operator rejected a refund; its amount is refundable again",
    "refund.succeeded": "WeChat refunded the money",
    "refund.failed": "WeChat could not refund; the amount is refundable again",
    "refund.abnormal": "WeChat could not pay the refund into the payer's account (ABNORMAL): it needs handling",
    "order.receipt_confirmed": "the payer confirmed receipt of a mini-program order's goods (shipping information)",
}

# The refund event an order event comes with: the order's status after a refund succeeded.
_ORDER_AFTER_REFUND = {
    OrderStatus.REFUNDED: "order.refunded",
    OrderStatus.PARTIALLY_REFUNDED: "order.partially_refunded",
}


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event to write: its ``type``, the order as it stands now, the refund or payment it is about."""

    type: str
    order: Order
    key: str
    refund: Refund | None = None
    attempt: PaymentAttempt | None = None


def new_event_id() -> str:
    """A fresh event id: ``evt_`` + 24 hex characters."""
    return f"evt_{secrets.token_hex(12)}"


def emit_webhook(
    tx: Stores,
    event_type: str,
    order: Order,
    *,
    now: float,
    key: str,
    refund: Refund | None = None,
    attempt: PaymentAttempt | None = None,
) -> bool:
    """Write one event and its delivery job; False if the fact ``key`` already has its event."""
    return emit_webhooks(tx, [WebhookEvent(event_type, order, key, refund, attempt)], now=now) == 1


def emit_webhooks(tx: Stores, events: Sequence[WebhookEvent], *, now: float, with_jobs: bool = True) -> int:
    """Write several events (an order's in the order given) and their jobs; how many were new.

    ``with_jobs=False`` writes the events only: for a job that already exists and will deliver them.
    """
    if not events:
        return 0
    deliveries = []
    for event in events:
        if event.type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event.type!r}")
        event_id = new_event_id()
        deliveries.append(NewWebhookDelivery(
            event_id=event_id, event_type=event.type, mchid=event.order.mchid, order_id=event.order.id,
            dedupe_key=event.key, body=event_body(event_id, event, now), created_at=now,
            refund_id=event.refund.id if event.refund else None,
        ))  # fmt: skip
    stored = tx.webhooks.add_many(deliveries)
    jobs = [
        webhook_job(delivery.mchid, delivery.order_id, delivery.event_type, now=now, key=delivery.dedupe_key)
        for delivery in deliveries
        if delivery.dedupe_key in stored
    ]
    if with_jobs:
        tx.jobs.enqueue_many(jobs)
    return len(jobs)


def emit_refund_event(tx: Stores, event_type: str, refund_id: str, *, now: float, key: str | None = None) -> bool:
    """The refund event ``event_type`` with the refund and its order as they stand now (after the change);
    ``key`` defaults to ``<type>:<refund id>`` (one such event per refund)."""
    refund = tx.refunds.get(refund_id)
    order = tx.orders.get(refund.order_id) if refund is not None else None
    if refund is None or order is None:
        return False
    return emit_webhook(tx, event_type, order, now=now, key=key or f"{event_type}:{refund.id}", refund=refund)


def order_refund_event(order: Order, refund: Refund) -> WebhookEvent | None:
    """``order.refunded`` or ``order.partially_refunded`` after ``refund`` succeeded (None otherwise)."""
    event_type = _ORDER_AFTER_REFUND.get(order.status)
    return WebhookEvent(event_type, order, f"{event_type}:{refund.id}", refund=refund) if event_type else None


def event_body(event_id: str, event: WebhookEvent, now: float) -> str:
    """The event object as JSON text (UTF-8, keys sorted: the bytes every attempt sends)."""
    data: dict[str, Any] = {"order": _order(event.order)}
    if event.refund is not None:
        data["refund"] = _refund(event.refund)
    if event.attempt is not None:
        data["payment"] = _payment(event.attempt)
    body = {"id": event_id, "type": event.type, "created": int(now), "data": data}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _order(order: Order) -> dict[str, Any]:
    # The payer's openid stays out: GET /v1/orders/{id} gives it to whoever needs it, over an authenticated call.
    return {
        "id": order.id, "mchid": order.mchid, "merchant_order_no": order.merchant_order_no,
        "amount": order.amount_fen, "currency": order.currency, "description": order.description,
        "attach": order.attach, "status": order.status.value, "paid_amount": order.paid_fen,
        "refunded_amount": order.refunded_fen, "created_at": _iso(order.created_at), "paid_at": _iso(order.paid_at),
    }  # fmt: skip


def _refund(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id, "merchant_refund_no": refund.merchant_refund_no or refund.out_refund_no,
        "out_refund_no": refund.out_refund_no, "amount": refund.amount_fen, "reason": refund.reason,
        "status": refund.status.value, "kind": refund.kind.value, "refund_id": refund.refund_id,
        "error_code": refund.error_code, "rejection_reason": refund.rejection_reason,
        "created_at": _iso(refund.created_at),
    }  # fmt: skip


def _payment(attempt: PaymentAttempt) -> dict[str, Any]:
    return {
        "seq": attempt.seq, "out_trade_no": attempt.out_trade_no, "channel": attempt.channel.value,
        "api": attempt.api.value, "status": attempt.status.value, "transaction_id": attempt.transaction_id,
        "trade_state": attempt.trade_state, "error_code": attempt.error_code,
    }  # fmt: skip
