"""The notification hot path: apply a verified notification exactly once, in one transaction.

Verification (signature, timestamp window, decryption) happened before, in the gateway. Here, in
ONE write transaction: store the raw notification under its unique event id (a duplicate stops
here), check it against the stored attempt or refund (a mismatch becomes an anomaly and changes
nothing), apply the transition by compare-and-set, write the follow-ups to the outbox, commit.
Only after the commit may the caller answer WeChat with success.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from weipay.service.domain import ApiVersion, CallRecord, PaymentAttempt, Refund, RefundStatus

from .outbox import schedule_query, schedule_refund_sync
from .ports import Clock, MerchantConfig, PaymentNotice, RefundNotice, Transaction, UnitOfWork
from .settlement import Applied, add_anomaly, settle_paid, settle_refund

__all__ = ["accept_payment_notification", "accept_refund_notification", "record_anomaly"]

logger = logging.getLogger("weipay.service.notifications")

_NOTIFICATION_QUERY_DELAY_S = 5.0
_PAYMENT_EVENT = "TRANSACTION.SUCCESS"


def _inbound(notice: PaymentNotice | RefundNotice, kind: str, outcome: str, now: float) -> CallRecord:
    return CallRecord(
        direction="inbound", api=notice.api.value, endpoint=f"notify/{kind}", outcome=outcome, latency_ms=0,
        mchid=notice.mchid, request_body=notice.body[:4000], created_at=now,
    )  # fmt: skip


def accept_payment_notification(
    uow: UnitOfWork, merchant: MerchantConfig, notice: PaymentNotice, clock: Clock
) -> Applied:
    """Apply a verified payment notification once. Every outcome is durably stored when this returns."""
    now = clock()
    with uow.write() as tx:
        first = tx.notifications.insert_once(
            event_id=notice.event_id, mchid=merchant.mchid, api=notice.api.value, kind="payment",
            outcome="received", body=notice.body, received_at=now, out_trade_no=notice.out_trade_no[:32],
        )  # fmt: skip
        if not first:
            return Applied.ALREADY
        attempt = tx.attempts.by_out_trade_no(merchant.mchid, notice.out_trade_no)
        result = _apply_payment(tx, merchant, notice, attempt, now)
        tx.notifications.set_outcome(notice.event_id, result.value)
        tx.calls.add(
            _inbound(notice, "payment", result.value, now),
            order_id=attempt.order_id if attempt else None,
            attempt_id=attempt.id if attempt else None,
        )
    if result == Applied.ANOMALY:
        logger.warning("payment notification %s for %s stored as an anomaly", notice.event_id, notice.out_trade_no)
    return result


def _apply_payment(
    tx: Transaction, merchant: MerchantConfig, notice: PaymentNotice, attempt: PaymentAttempt | None, now: float
) -> Applied:
    problems = _payment_mismatch(merchant, notice, attempt)
    if problems or attempt is None:
        add_anomaly(
            tx, "notification_mismatch", now, mchid=merchant.mchid,
            order_id=attempt.order_id if attempt else None, attempt_id=attempt.id if attempt else None,
            fields=problems, event_id=notice.event_id, out_trade_no=notice.out_trade_no,
        )  # fmt: skip
        if attempt is not None and attempt.is_open:
            schedule_query(tx, attempt.id, attempt.order_id, due_at=now + _NOTIFICATION_QUERY_DELAY_S, now=now)
        return Applied.ANOMALY
    return settle_paid(tx, attempt, transaction_id=notice.transaction_id, paid_at=notice.paid_at, now=now)


def _payment_mismatch(merchant: MerchantConfig, notice: PaymentNotice, attempt: PaymentAttempt | None) -> list[str]:
    """The names of the fields that contradict the stored attempt (WeChat's names for this API version).

    A verified notification that says anything but "paid" is a mismatch too: WeChat notifies payments only
    once they succeed, so NOTPAY/CLOSED/REFUND (v2 ``result_code`` FAIL) or an envelope that is not
    ``TRANSACTION.SUCCESS`` means the message is not what it claims; the attempt is queried instead.
    """
    if attempt is None:
        return ["out_trade_no"]
    v3 = notice.api == ApiVersion.V3
    succeeded = notice.trade_state == "SUCCESS"
    checks = {
        "mchid": notice.mchid == merchant.mchid == attempt.mchid,
        "appid": notice.appid == attempt.appid,
        "amount": notice.amount_fen == attempt.amount_fen,
        # Coupons make the payer pay less than the total, never more.
        "payer_total" if v3 else "cash_fee": notice.payer_amount_fen is None
        or notice.payer_amount_fen <= notice.amount_fen,
        "currency": notice.currency == attempt.currency,
        "trade_type": notice.trade_type is None or notice.trade_type == attempt.channel.trade_type,
        "event_type": not v3 or notice.event_type == _PAYMENT_EVENT,
        "trade_state" if v3 else "result_code": succeeded,
        "transaction_id": not succeeded or bool(notice.transaction_id),
    }
    return [name for name, ok in checks.items() if not ok]


def accept_refund_notification(
    uow: UnitOfWork, merchant: MerchantConfig, notice: RefundNotice, clock: Clock
) -> Applied:
    """Apply a verified refund notification once (SUCCESS, or CLOSED/ABNORMAL as a final failure)."""
    now = clock()
    with uow.write() as tx:
        first = tx.notifications.insert_once(
            event_id=notice.event_id, mchid=merchant.mchid, api=notice.api.value, kind="refund",
            outcome="received", body=notice.body, received_at=now, out_trade_no=notice.out_trade_no[:32],
            out_refund_no=notice.out_refund_no[:64],
        )  # fmt: skip
        if not first:
            return Applied.ALREADY
        refund = tx.refunds.by_out_refund_no(notice.out_refund_no)
        result = _apply_refund(tx, merchant, notice, refund, now)
        tx.notifications.set_outcome(notice.event_id, result.value)
        tx.calls.add(
            _inbound(notice, "refund", result.value, now),
            order_id=refund.order_id if refund else None,
            refund_id=refund.id if refund else None,
        )
    if result == Applied.ANOMALY:
        logger.warning("refund notification %s for %s stored as an anomaly", notice.event_id, notice.out_refund_no)
    return result


def _apply_refund(
    tx: Transaction, merchant: MerchantConfig, notice: RefundNotice, refund: Refund | None, now: float
) -> Applied:
    problems = _refund_mismatch(merchant, notice, refund)
    if problems or refund is None:
        add_anomaly(
            tx, "notification_mismatch", now, mchid=merchant.mchid, order_id=refund.order_id if refund else None,
            refund_id=refund.id if refund else None, fields=problems, event_id=notice.event_id,
            out_refund_no=notice.out_refund_no,
        )  # fmt: skip
        return Applied.ANOMALY
    if refund.status != RefundStatus.PROCESSING:
        return Applied.ALREADY if refund.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED) else Applied.IGNORED
    if notice.refund_status == "SUCCESS":
        return settle_refund(tx, refund, succeeded=True, now=now, refund_id=notice.refund_id)
    if notice.refund_status in ("CLOSED", "ABNORMAL"):
        add_anomaly(
            tx, f"refund_{notice.refund_status.lower()}", now, mchid=refund.mchid, order_id=refund.order_id,
            refund_id=refund.id,
        )  # fmt: skip
        return settle_refund(tx, refund, succeeded=False, now=now, refund_id=notice.refund_id,
                             error_code=notice.refund_status)  # fmt: skip
    schedule_refund_sync(tx, refund.id, refund.order_id, due_at=now + _NOTIFICATION_QUERY_DELAY_S, now=now)
    return Applied.IGNORED


def _refund_mismatch(merchant: MerchantConfig, notice: RefundNotice, refund: Refund | None) -> list[str]:
    if refund is None:
        return ["out_refund_no"]
    checks = {
        "mchid": notice.mchid == merchant.mchid == refund.mchid,
        "out_trade_no": notice.out_trade_no == refund.out_trade_no,
        "amount": notice.refund_fen == refund.amount_fen,
        "total": notice.total_fen == refund.total_fen,
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
