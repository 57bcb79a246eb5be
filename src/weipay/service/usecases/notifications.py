"""The notification hot path: apply a verified notification exactly once, in one transaction.

Verification (signature, timestamp window, decryption) happened before, in the gateway. Here, in
ONE write transaction: store the raw notification under its unique event id (a duplicate stops
here), check it against the stored attempt or refund (a mismatch becomes an anomaly and changes
nothing), apply the transition by compare-and-set, write the follow-ups to the outbox, commit.
Only after the commit may the caller answer WeChat with success.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

from weipay.service.domain import (
    REFUND_TRANSITIONS,
    ApiVersion,
    CallRecord,
    PaymentAttempt,
    Refund,
    RefundEvent,
    RefundStatus,
    sources_of,
)

from .external_refunds import ExternalRefund, record_external_refund
from .notification_facts import notification_facts
from .outbox import schedule_query, schedule_refund_sync
from .ports import Clock, MerchantConfig, PaymentNotification, RefundNotification, Stores, UnitOfWork
from .settlement import Applied, PaidFact, add_anomaly, hold_refund, settle_paid_many, settle_refund
from .stores import NewNotification

__all__ = [
    "accept_notifications",
    "accept_payment_notification",
    "accept_payment_notifications",
    "accept_refund_notification",
    "record_anomaly",
]

logger = logging.getLogger("weipay.service.notifications")

_NOTIFICATION_QUERY_DELAY_S = 5.0
_PAYMENT_EVENT = "TRANSACTION.SUCCESS"


def _inbound(
    notification: PaymentNotification | RefundNotification, kind: str, outcome: str, now: float, *,
    order_id: str | None = None,
    attempt_id: str | None = None,
) -> CallRecord:
    return CallRecord(
        direction="inbound", api=notification.api.value, endpoint=f"notify/{kind}", outcome=outcome, latency_ms=0,
        mchid=notification.mchid, request_body=notification.body[:4000], created_at=now, order_id=order_id,
        attempt_id=attempt_id,
    )  # fmt: skip


def _new_notification(
    merchant: MerchantConfig, notification: PaymentNotification | RefundNotification, kind: str, now: float
) -> NewNotification:
    return NewNotification(
        event_id=notification.event_id, mchid=merchant.mchid, api=notification.api.value, kind=kind, outcome="received",
        body=notification.body, received_at=now, out_trade_no=notification.out_trade_no[:32],
        out_refund_no=notification.out_refund_no[:64] if isinstance(notification, RefundNotification) else None,
        facts=notification_facts(notification),
    )  # fmt: skip


def accept_notifications(
    uow: UnitOfWork,
    merchants: Mapping[str, MerchantConfig],
    deliveries: Sequence[tuple[str, PaymentNotification | RefundNotification]],
    clock: Clock,
) -> list[Applied]:
    """Apply verified ``(mchid, notification)`` pairs in ``uow`` (e.g. a group-commit batch); an outcome each, in order.

    Payment notifications go to :func:`accept_payment_notifications` together, so that a burst costs a few
    statements per batch; refund notifications (rare) one by one.
    """
    outcomes: dict[int, Applied] = {}
    payments = [(index, payment) for index, (_, payment) in enumerate(deliveries)
                if isinstance(payment, PaymentNotification)]  # fmt: skip
    if payments:
        batch = [(merchants[deliveries[index][0]], notification) for index, notification in payments]
        applied = accept_payment_notifications(uow, batch, clock)
        outcomes.update(zip([index for index, _ in payments], applied, strict=True))
    for index, (mchid, notification) in enumerate(deliveries):
        if isinstance(notification, RefundNotification):
            outcomes[index] = accept_refund_notification(uow, merchants[mchid], notification, clock)
    return [outcomes[index] for index in range(len(deliveries))]


def accept_payment_notification(
    uow: UnitOfWork, merchant: MerchantConfig, notification: PaymentNotification, clock: Clock
) -> Applied:
    """Apply a verified payment notification once. Every outcome is durably stored when this returns."""
    return accept_payment_notifications(uow, [(merchant, notification)], clock)[0]


def accept_payment_notifications(
    uow: UnitOfWork, deliveries: Sequence[tuple[MerchantConfig, PaymentNotification]], clock: Clock
) -> list[Applied]:
    """Apply verified payment notifications, each once, in ONE transaction; their outcomes, in order.

    The answers are those of applying them one by one in this order (``settle_paid_many``), but each step
    is one statement for the whole batch: this is the burst path (group commit hands it a batch). A
    repeated event id, in the batch or already stored, is ``ALREADY`` and changes nothing.
    """
    now = clock()
    results = [Applied.ALREADY] * len(deliveries)
    with uow.write() as tx:
        firsts: dict[str, int] = {}
        for index, (_merchant, notification) in enumerate(deliveries):
            firsts.setdefault(notification.event_id, index)
        stored = tx.notifications.insert_new([
            _new_notification(deliveries[index][0], deliveries[index][1], "payment", now) for index in firsts.values()
        ])
        fresh = [index for event_id, index in firsts.items() if event_id in stored]
        keys = {index: (deliveries[index][0].mchid, deliveries[index][1].out_trade_no) for index in fresh}
        attempts = tx.attempts.by_out_trade_nos(list(keys.values()))
        found = {index: attempts.get(key) for index, key in keys.items()}
        facts, mismatches = [], []
        for index in fresh:
            merchant, notification = deliveries[index]
            attempt = found[index]
            problems = _payment_mismatch(merchant, notification, attempt)
            if problems or attempt is None:
                mismatches.append((index, problems))
            else:
                facts.append((index, PaidFact(attempt, notification.transaction_id, notification.paid_at)))
        paid_by: dict[str, int] = {}  # attempt id → the batch position whose notification marked it paid
        for (index, fact), result in zip(facts, settle_paid_many(tx, [f for _, f in facts], now=now), strict=True):
            results[index] = result
            if result in (Applied.APPLIED, Applied.DOUBLE_PAYMENT):
                paid_by.setdefault(fact.attempt.id, index)
        for index, problems in mismatches:
            merchant, notification = deliveries[index]
            attempt = found[index]
            # Open as this notification would have found it one by one: not if an earlier one paid it.
            still_open = attempt is not None and attempt.is_open and paid_by.get(attempt.id, index) >= index
            _payment_anomaly(tx, merchant, notification, attempt, problems, now, query=still_open)
            results[index] = Applied.ANOMALY
        tx.notifications.set_outcomes({deliveries[index][1].event_id: results[index].value for index in fresh})
        calls = []
        for index in fresh:
            attempt = found[index]
            calls.append(_inbound(deliveries[index][1], "payment", results[index].value, now,
                                  order_id=attempt.order_id if attempt else None,
                                  attempt_id=attempt.id if attempt else None))  # fmt: skip
        tx.calls.add_many(calls)
    for (_, notification), result in zip(deliveries, results, strict=True):
        if result == Applied.ANOMALY:
            logger.warning("payment notification %s for %s stored as an anomaly", notification.event_id,
                           notification.out_trade_no)  # fmt: skip
    return results


def _payment_anomaly(
    tx: Stores,
    merchant: MerchantConfig,
    notification: PaymentNotification,
    attempt: PaymentAttempt | None,
    problems: list[str],
    now: float,
    *,
    query: bool,
) -> None:
    add_anomaly(
        tx, "notification_mismatch", now, mchid=merchant.mchid,
        order_id=attempt.order_id if attempt else None, attempt_id=attempt.id if attempt else None,
        fields=problems, event_id=notification.event_id, out_trade_no=notification.out_trade_no,
    )  # fmt: skip
    if attempt is not None and query:
        schedule_query(tx, attempt.id, attempt.order_id, due_at=now + _NOTIFICATION_QUERY_DELAY_S, now=now)


def _payment_mismatch(
    merchant: MerchantConfig, notification: PaymentNotification, attempt: PaymentAttempt | None
) -> list[str]:
    """The names of the fields that contradict the stored attempt (WeChat's names for this API version).

    A verified notification that says anything but "paid" is a mismatch too: WeChat notifies payments only
    once they succeed, so NOTPAY/CLOSED/REFUND (v2 ``result_code`` FAIL) or an envelope that is not
    ``TRANSACTION.SUCCESS`` means the message is not what it claims; the attempt is queried instead.
    """
    if attempt is None:
        return ["out_trade_no"]
    v3 = notification.api == ApiVersion.V3
    succeeded = notification.trade_state == "SUCCESS"
    checks = {
        "mchid": notification.mchid == merchant.mchid == attempt.mchid,
        "appid": notification.appid == attempt.appid,
        "amount": notification.amount_fen == attempt.amount_fen,
        # Coupons make the payer pay less than the total, never more.
        "payer_total" if v3 else "cash_fee": notification.payer_amount_fen is None
        or notification.payer_amount_fen <= notification.amount_fen,
        "currency": notification.currency == attempt.currency,
        "trade_type": notification.trade_type is None or notification.trade_type == attempt.channel.trade_type,
        "event_type": not v3 or notification.event_type == _PAYMENT_EVENT,
        "trade_state" if v3 else "result_code": succeeded,
        "transaction_id": not succeeded or bool(notification.transaction_id),
    }
    return [name for name, ok in checks.items() if not ok]


def accept_refund_notification(
    uow: UnitOfWork, merchant: MerchantConfig, notification: RefundNotification, clock: Clock
) -> Applied:
    """Apply a verified refund notification once: SUCCESS, ABNORMAL (held: stays reserved) or CLOSED (failed).

    An unknown ``out_refund_no`` of a known payment is a refund made outside weipay: it is recorded.
    """
    now = clock()
    with uow.write() as tx:
        if not tx.notifications.insert_new([_new_notification(merchant, notification, "refund", now)]):
            return Applied.ALREADY
        refund = tx.refunds.by_out_refund_no(merchant.mchid, notification.out_refund_no)
        result = _apply_refund(tx, merchant, notification, refund, now)
        refund = refund or tx.refunds.by_out_refund_no(merchant.mchid, notification.out_refund_no)
        tx.notifications.set_outcomes({notification.event_id: result.value})
        tx.calls.add(
            _inbound(notification, "refund", result.value, now),
            order_id=refund.order_id if refund else None,
            refund_id=refund.id if refund else None,
        )
    if result == Applied.ANOMALY:
        logger.warning("refund notification %s for %s stored as an anomaly", notification.event_id,
                       notification.out_refund_no)  # fmt: skip
    return result


def _apply_refund(
    tx: Stores, merchant: MerchantConfig, notification: RefundNotification, refund: Refund | None, now: float
) -> Applied:
    if refund is None and notification.mchid == merchant.mchid:
        # A refund made outside weipay (merchant portal, complaint handling): WeChat's word is the truth.
        applied, _ = record_external_refund(tx, _external(notification), now)
        return applied
    problems = _refund_mismatch(merchant, notification, refund)
    if problems or refund is None:
        add_anomaly(
            tx, "notification_mismatch", now, mchid=merchant.mchid, order_id=refund.order_id if refund else None,
            refund_id=refund.id if refund else None, fields=problems, event_id=notification.event_id,
            out_refund_no=notification.out_refund_no,
        )  # fmt: skip
        return Applied.ANOMALY
    if notification.refund_status == "SUCCESS":
        return settle_refund(tx, refund, succeeded=True, now=now, refund_id=notification.refund_id)
    if notification.refund_status == "ABNORMAL":
        return hold_refund(tx, refund, now=now, refund_id=notification.refund_id)
    if notification.refund_status == "CLOSED":
        if refund.status not in sources_of(REFUND_TRANSITIONS, RefundEvent.FAIL):
            return Applied.ALREADY if refund.status == RefundStatus.FAILED else Applied.IGNORED
        add_anomaly(tx, "refund_closed", now, mchid=refund.mchid, order_id=refund.order_id, refund_id=refund.id)
        return settle_refund(tx, refund, succeeded=False, now=now, refund_id=notification.refund_id,
                             error_code="CLOSED")  # fmt: skip
    if refund.status == RefundStatus.PROCESSING:
        schedule_refund_sync(tx, refund.id, refund.order_id, due_at=now + _NOTIFICATION_QUERY_DELAY_S, now=now)
    return Applied.IGNORED


def _external(notification: RefundNotification) -> ExternalRefund:
    return ExternalRefund(
        mchid=notification.mchid, out_trade_no=notification.out_trade_no, out_refund_no=notification.out_refund_no,
        refund_status=notification.refund_status, refund_fen=notification.refund_fen, total_fen=notification.total_fen,
        refund_id=notification.refund_id, event_id=notification.event_id,
    )  # fmt: skip


def _refund_mismatch(merchant: MerchantConfig, notification: RefundNotification, refund: Refund | None) -> list[str]:
    if refund is None:
        return ["out_refund_no"]
    checks = {
        "mchid": notification.mchid == merchant.mchid == refund.mchid,
        "out_trade_no": notification.out_trade_no == refund.out_trade_no,
        "amount": notification.refund_fen == refund.amount_fen,
        "total": notification.total_fen == refund.total_fen,
    }
    return [name for name, ok in checks.items() if not ok]


def record_anomaly(
    uow: UnitOfWork,
    clock: Clock,
    kind: str,
    *,
    mchid: str | None = None,
    order_id: str | None = None,
    **detail: object,
) -> None:
    """Store an anomaly the web layer saw (e.g. ``unverifiable_notification``) and alert it in the log."""
    with uow.write() as tx:
        add_anomaly(tx, kind, clock(), mchid=mchid, order_id=order_id, **cast(dict[str, Any], detail))
    logger.warning("anomaly %s (merchant %s)", kind, mchid)
