"""An order's timeline: what happened to it, as typed events in time order, read in one transaction.

The facts are those the service already keeps: the order, its attempts and refunds with their timestamps, the
outbound WeChat calls of the call log, the stored notifications with their decrypted, redacted facts
(``notification_facts``) and what applying each one did, anomalies, the merchant webhook deliveries and alerts a
sink was sent.
Inbound rows of the call log are left out: the stored notification says the same, with its facts. The raw call
log, bodies included, stays available as :func:`weipay.service.usecases.queries.order_call_log`.

Each event is a ``type`` (``order.created``, ``payment.started``, ``wechat.call``, ``notification.received``...),
an ``at`` and the fields of that type; the web layer gives each type its schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from weipay.service.domain import (
    Anomaly,
    AttemptStatus,
    CallRecord,
    NotFound,
    Order,
    OrderStatus,
    PaymentAttempt,
    Refund,
    RefundStatus,
    Shipment,
    ShippingStatus,
    StoredNotification,
)

from .ports import Stores, UnitOfWork
from .stores import AlertSent
from .webhook_store import WebhookDelivery

__all__ = ["TIMELINE_TYPES", "TimelineEvent", "order_timeline"]

# Every type, in the order it sorts among events at the same instant (the clock has one value per transaction).
TIMELINE_TYPES = (
    "order.created", "payment.started", "refund.requested", "wechat.call", "refund.submitted",
    "notification.received", "notification.applied", "notification.duplicate", "notification.double_payment",
    "notification.anomaly", "notification.ignored", "payment.succeeded", "payment.failed", "payment.closed",
    "order.closed", "order.expired", "refund.succeeded", "refund.failed", "refund.rejected", "refund.abnormal",
    "refund.resolved", "shipping.submitted", "shipping.uploaded", "shipping.failed", "shipping.receipt_confirmed",
    "anomaly.recorded", "webhook.scheduled", "webhook.delivered", "webhook.failed", "webhook.skipped", "alert.sent",
)  # fmt: skip
_RANK = {name: rank for rank, name in enumerate(TIMELINE_TYPES)}
_NOTIFICATION_OUTCOMES = {"applied": "notification.applied", "already": "notification.duplicate",
                          "double_payment": "notification.double_payment", "anomaly": "notification.anomaly",
                          "ignored": "notification.ignored"}  # fmt: skip
# Where a delivery stands: waiting or retrying; answered 2xx; gave up after its schedule; nothing to send to.
_WEBHOOK_TYPES = {"pending": "webhook.scheduled", "delivered": "webhook.delivered", "failed": "webhook.failed",
                  "skipped": "webhook.skipped"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One event: its ``type`` (one of :data:`TIMELINE_TYPES`), when (unix seconds) and its fields."""

    type: str
    at: float
    fields: Mapping[str, Any]


def order_timeline(uow: UnitOfWork, order_id: str, mchid: str | None = None) -> list[TimelineEvent]:
    """The order's events, oldest first (``order_not_found`` for an unknown order or another merchant's)."""
    with uow.read() as tx:
        order = tx.orders.get(order_id)
        if order is None or (mchid is not None and order.mchid != mchid):
            raise NotFound("order_not_found", f"no order {order_id[:48]!r}")
        events = list(_events(tx, order))
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1].at, _RANK[pair[1].type], pair[0]))
    return [event for _, event in ordered]


def _events(tx: Stores, order: Order) -> Iterator[TimelineEvent]:
    attempts = tx.attempts.for_order(order.id)
    yield TimelineEvent("order.created", order.created_at, {
        "merchant_order_no": order.merchant_order_no, "amount": order.amount_fen, "currency": order.currency,
        "description": order.description,
    })  # fmt: skip
    if order.status in (OrderStatus.CLOSED, OrderStatus.EXPIRED):
        yield TimelineEvent(f"order.{order.status.value}", order.updated_at, {})
    for attempt in attempts:
        yield from _attempt_events(attempt)
    for refund in tx.refunds.for_order(order.id):
        yield from _refund_events(refund)
    for call in tx.calls.for_order(order.id):
        yield from _call_events(call)
    shipment = tx.shipping.get(order.id)
    if shipment is not None:
        yield from _shipping_events(shipment)
    numbers = [attempt.out_trade_no for attempt in attempts]
    for notification in tx.notifications.for_out_trade_nos(order.mchid, numbers):
        yield from _notification_events(notification)
    for anomaly in tx.anomalies.list(order_id=order.id):
        yield _anomaly_event(anomaly)
    for delivery in tx.webhooks.for_order(order.id):
        yield _webhook_event(delivery)
    for alert in tx.alerts.sent_for_order(order.id):
        yield _alert_event(alert)


def _attempt_events(attempt: PaymentAttempt) -> Iterator[TimelineEvent]:
    number = {"seq": attempt.seq, "out_trade_no": attempt.out_trade_no}
    yield TimelineEvent("payment.started", attempt.created_at,
                        {**number, "channel": attempt.channel.value, "api": attempt.api.value})  # fmt: skip
    if attempt.status == AttemptStatus.SUCCEEDED:
        # WeChat's success_time has whole seconds: never before the attempt started, on the timeline.
        paid_at = max(attempt.paid_at or attempt.updated_at, attempt.created_at)
        yield TimelineEvent("payment.succeeded", paid_at,
                            {**number, "transaction_id": attempt.transaction_id, "amount": attempt.amount_fen})
    elif attempt.status in (AttemptStatus.FAILED, AttemptStatus.CLOSED):
        yield TimelineEvent(f"payment.{attempt.status.value}", attempt.updated_at,
                            {**number, "trade_state": attempt.trade_state, "error_code": attempt.error_code})


def _refund_events(refund: Refund) -> Iterator[TimelineEvent]:
    ours = {"refund": refund.id, "out_refund_no": refund.out_refund_no}
    yield TimelineEvent("refund.requested", refund.created_at, {
        **ours, "merchant_refund_no": refund.merchant_refund_no, "amount": refund.amount_fen, "reason": refund.reason,
        "kind": refund.kind.value,
    })  # fmt: skip
    if refund.submitted_at is not None:
        yield TimelineEvent("refund.submitted", refund.submitted_at, ours)
    if refund.status == RefundStatus.SUCCEEDED:
        succeeded_at = max(refund.succeeded_at or refund.updated_at, refund.submitted_at or refund.created_at)
        yield TimelineEvent("refund.succeeded", succeeded_at,
                            {**ours, "refund_id": refund.refund_id, "amount": refund.amount_fen})
    elif refund.status == RefundStatus.FAILED:
        yield TimelineEvent("refund.failed", refund.updated_at, {**ours, "error_code": refund.error_code})
    elif refund.status == RefundStatus.REJECTED:
        yield TimelineEvent("refund.rejected", refund.updated_at,
                            {**ours, "rejection_reason": refund.rejection_reason})
    elif refund.status == RefundStatus.ABNORMAL:
        yield TimelineEvent("refund.abnormal", refund.updated_at, {**ours, "refund_id": refund.refund_id})


def _shipping_events(shipment: Shipment) -> Iterator[TimelineEvent]:
    """The latest submission and what became of it (the row keeps the latest of each, not a history)."""
    yield TimelineEvent("shipping.submitted", shipment.submitted_at, {
        "logistics_type": shipment.logistics_name, "packages": len(shipment.items), "automatic": shipment.automatic,
    })  # fmt: skip
    if shipment.uploaded_at is not None:
        yield TimelineEvent("shipping.uploaded", shipment.uploaded_at, {"uploads": shipment.uploads})
    if shipment.status == ShippingStatus.FAILED:
        yield TimelineEvent("shipping.failed", shipment.updated_at, {
            "error_code": shipment.last_error_code, "message": shipment.last_error_message})  # fmt: skip
    if shipment.confirmed_at is not None:
        yield TimelineEvent("shipping.receipt_confirmed", shipment.confirmed_at,
                            {"settled": shipment.settled_at is not None})  # fmt: skip


def _call_events(call: CallRecord) -> Iterator[TimelineEvent]:
    if call.direction == "outbound":
        yield TimelineEvent("wechat.call", call.created_at, {
            "api": call.api, "endpoint": call.endpoint, "outcome": call.outcome, "http_status": call.http_status,
            "wechat_code": call.wechat_code, "latency_ms": call.latency_ms, "request_id": call.request_id,
        })  # fmt: skip
    elif call.api == "operator" and call.endpoint == "refunds/resolve":
        said = _json_object(call.request_body)
        yield TimelineEvent("refund.resolved", call.created_at, {
            "refund": call.refund_id, "outcome": said.get("outcome", call.outcome), "note": said.get("note"),
            "by": said.get("by"),
        })  # fmt: skip


def _notification_events(notification: StoredNotification) -> Iterator[TimelineEvent]:
    yield TimelineEvent("notification.received", notification.received_at, {
        "event_id": notification.event_id, "api": notification.api, "kind": notification.kind,
        "facts": _json_object(notification.facts) if notification.facts else None,
    })  # fmt: skip
    outcome = _NOTIFICATION_OUTCOMES.get(notification.outcome)
    if outcome is not None:
        yield TimelineEvent(outcome, notification.received_at, {"event_id": notification.event_id})


def _anomaly_event(anomaly: Anomaly) -> TimelineEvent:
    return TimelineEvent("anomaly.recorded", anomaly.created_at, {
        "anomaly": anomaly.id, "kind": anomaly.kind, "occurrences": anomaly.occurrences,
        "resolved": anomaly.resolved_at is not None, "detail": _json_object(anomaly.detail),
    })  # fmt: skip


def _webhook_event(delivery: WebhookDelivery) -> TimelineEvent:
    kind = _WEBHOOK_TYPES.get(delivery.status, "webhook.scheduled")
    at = delivery.created_at if kind == "webhook.scheduled" else (delivery.finished_at or delivery.updated_at)
    return TimelineEvent(kind, at, {
        "event": delivery.event_type, "event_id": delivery.event_id, "delivery": delivery.id,
        "attempts": delivery.attempts, "http_status": delivery.last_http_status, "last_error": delivery.last_error,
    })  # fmt: skip


def _alert_event(alert: AlertSent) -> TimelineEvent:
    return TimelineEvent("alert.sent", alert.sent_at, {
        "kind": alert.kind, "severity": alert.severity, "title": alert.title, "sink": alert.sink,
        "messages": alert.messages,
    })  # fmt: skip


def _json_object(text: str | None) -> dict[str, Any]:
    """A stored JSON object, or ``{}`` (old rows, truncated bodies): the timeline never fails on what it reads."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
