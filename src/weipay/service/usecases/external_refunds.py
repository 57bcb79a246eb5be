"""Refunds made outside weipay (merchant portal, complaint handling), learnt from WeChat.

WeChat tells us about them by a verified refund notification, or the trade bill lists them, under an
``out_refund_no`` we never minted. The money really moved (or is held, for ABNORMAL), so the order's
refunded amount and status must say so: the refund is recorded as ``RefundKind.EXTERNAL`` on the
payment it belongs to, as if we had submitted it (its amount reserved, status processing), and then
WeChat's status is applied through the same compare-and-set as our own refunds, webhook included.
A duplicate finds the row by its ``out_refund_no`` and applies nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from weipay.service.domain import (
    OrderStatus,
    Refund,
    RefundKind,
    RefundStatus,
    new_refund_id,
)

from .outbox import schedule_refund_sync
from .ports import Stores
from .settlement import Applied, add_anomaly, hold_refund, settle_refund

__all__ = ["ExternalRefund", "record_external_refund"]

_REFUNDABLE = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)
_QUERY_DELAY_S = 30.0


@dataclass(frozen=True, slots=True)
class ExternalRefund:
    """What WeChat said about a refund we did not make: ``refund_status`` SUCCESS, ABNORMAL or CLOSED."""

    mchid: str
    out_trade_no: str
    out_refund_no: str
    refund_status: str
    refund_fen: int
    total_fen: int | None = None
    refund_id: str | None = None
    source: str = "notification"  # or "bill"
    event_id: str | None = None  # the notification's, when it came by one


def record_external_refund(tx: Stores, fact: ExternalRefund, now: float) -> tuple[Applied, Refund | None]:
    """Record ``fact`` as an external refund of the order's payment and apply its status; in the caller's
    transaction. An unknown payment, a refund of a payment that is not the order's, or an amount that
    does not fit stays an anomaly (a notification's ``notification_mismatch``, a bill line's
    ``external_refund_unmatched``), changing nothing."""
    existing = tx.refunds.by_out_refund_no(fact.mchid, fact.out_refund_no)
    if existing is not None:
        return Applied.ALREADY, existing
    problem, refund = _new_refund(tx, fact, now)
    if refund is None:
        # A notification that fits nothing is a mismatch like any other (same kind, same alert).
        kind = "notification_mismatch" if fact.source == "notification" else "external_refund_unmatched"
        add_anomaly(
            tx, kind, now, mchid=fact.mchid, fields=["out_refund_no"], out_trade_no=fact.out_trade_no,
            out_refund_no=fact.out_refund_no, reason=problem, source=fact.source, event_id=fact.event_id,
        )  # fmt: skip
        return Applied.ANOMALY, None
    add_anomaly(
        tx, "external_refund", now, mchid=fact.mchid, order_id=refund.order_id, refund_id=refund.id,
        out_refund_no=fact.out_refund_no, amount_fen=fact.refund_fen, source=fact.source,
    )  # fmt: skip
    if fact.refund_status == "SUCCESS":
        settle_refund(tx, refund, succeeded=True, now=now, refund_id=fact.refund_id)
    elif fact.refund_status == "ABNORMAL":
        hold_refund(tx, refund, now=now, refund_id=fact.refund_id)
    elif fact.refund_status == "CLOSED":
        settle_refund(tx, refund, succeeded=False, now=now, refund_id=fact.refund_id, error_code="CLOSED")
    else:  # not final yet (a bill may list one in progress): the sync job queries it to its end
        schedule_refund_sync(tx, refund.id, refund.order_id, due_at=now + _QUERY_DELAY_S, now=now)
    return Applied.APPLIED, tx.refunds.get(refund.id)


def _new_refund(tx: Stores, fact: ExternalRefund, now: float) -> tuple[str, Refund | None]:
    """The processing refund row (its amount reserved), or why none can be made."""
    attempt = tx.attempts.by_out_trade_no(fact.mchid, fact.out_trade_no)
    if attempt is None:
        return "unknown_out_trade_no", None
    order = tx.orders.get(attempt.order_id, for_update=True)
    assert order is not None
    if order.paid_attempt_id != attempt.id or order.status not in _REFUNDABLE:
        return "not_the_order_payment", None
    if fact.total_fen is not None and fact.total_fen != attempt.amount_fen:
        return "total_mismatch", None
    if not 0 < fact.refund_fen <= attempt.amount_fen or not tx.orders.reserve_refund(order.id, fact.refund_fen, now):
        return "exceeds_refundable", None
    refund = Refund(
        id=new_refund_id(), order_id=order.id, attempt_id=attempt.id,
        seq=tx.refunds.next_seq(order.id, RefundKind.EXTERNAL), kind=RefundKind.EXTERNAL, mchid=order.mchid,
        out_refund_no=fact.out_refund_no, out_trade_no=attempt.out_trade_no, api=attempt.api,
        amount_fen=fact.refund_fen, total_fen=attempt.amount_fen, status=RefundStatus.PROCESSING, created_at=now,
        updated_at=now, reason="made outside weipay", refund_id=fact.refund_id, submitted_at=now,
    )  # fmt: skip
    tx.refunds.add(refund)
    return "", refund
