"""Refunds: request (Σ never above paid, under concurrency), approve/reject, submit, sync, auto-refund.

The refundable balance is reserved in the same transaction that creates the refund, by a
compare-and-set on ``refunded_fen + reserved_fen + amount <= paid_fen`` while the order row is
locked (``FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` serialises SQLite). WeChat is called
after the commit; a retried submission reuses the same ``out_refund_no``, so money moves once. The use cases
that ask WeChat are flows (``*_flow``, see ``flows``) with a blocking form named without the suffix.
"""

from __future__ import annotations

import hashlib
import json

from weipay.service.domain import (
    REFUND_TRANSITIONS,
    AttemptStatus,
    Conflict,
    NotFound,
    OrderStatus,
    Refund,
    RefundEvent,
    RefundKind,
    RefundStatus,
    check_fen,
    check_text,
    duplicate_refund_no,
    new_refund_id,
    out_refund_no,
    sources_of,
    transition,
)

from .alerting import record_wechat_call
from .flows import blocking
from .outbox import schedule_refund_sync
from .ports import Calls, Clock, Gateway, MerchantConfig, Outcome, RefundAnswer, Stores, UnitOfWork
from .settlement import add_anomaly, hold_refund, settle_refund
from .webhook_events import emit_refund_event, emit_webhook

__all__ = [
    "MAX_REFUNDS_PER_ORDER",
    "approve_refund",
    "approve_refund_flow",
    "auto_refund_attempt",
    "get_refund",
    "reject_refund",
    "request_refund",
    "request_refund_flow",
    "request_refund_idempotently",
    "submit_refund",
    "sync_refund",
]

MAX_REFUNDS_PER_ORDER = 50  # WeChat's limit of partial refunds per payment
_SAFETY_SYNC_DELAY_S = 60.0
_QUERY_DELAY_S = 30.0
_UNKNOWN_RETRY_S = 10.0


def _fingerprint(amount_fen: int, reason: str | None) -> str:
    return hashlib.sha256(json.dumps([amount_fen, reason], ensure_ascii=False).encode()).hexdigest()


def _request_refund_flow(
    uow: UnitOfWork,
    gateway: Gateway,
    clock: Clock,
    merchant: MerchantConfig,
    order_id: str,
    amount_fen: int,
    reason: str | None = None,
    merchant_refund_no: str | None = None,
) -> Calls[Refund]:
    """Refund ``amount_fen`` of a paid order. Idempotent on ``merchant_refund_no``.

    With approval on (merchant setting) the refund waits in ``requested``; otherwise it is
    submitted at once. Raises ``refund_exceeds_paid`` when the amount is above what is refundable.
    """
    refund, _created = yield from request_refund_flow(uow, gateway, clock, merchant, order_id, amount_fen, reason,
                                                      merchant_refund_no)  # fmt: skip
    return refund


def request_refund_flow(
    uow: UnitOfWork,
    gateway: Gateway,
    clock: Clock,
    merchant: MerchantConfig,
    order_id: str,
    amount_fen: int,
    reason: str | None = None,
    merchant_refund_no: str | None = None,
) -> Calls[tuple[Refund, bool]]:
    """:func:`request_refund`, also saying whether THIS call created the refund (the API's 201 vs 200): decided
    inside the transaction that reserves the amount, so of concurrent twins exactly one is told it created it."""
    check_fen(amount_fen)
    check_text("reason", reason, max_chars=80)  # WeChat's reason / refund_desc: 80 characters
    check_text("merchant_refund_no", merchant_refund_no, max_chars=64, required=merchant_refund_no is not None)
    now = clock()
    with uow.write() as tx:
        refund, created = _reserve(tx, merchant, order_id, amount_fen, reason, merchant_refund_no, now)
    if created and refund.status == RefundStatus.PROCESSING:
        return (yield from _submit_refund_flow(uow, gateway, clock, refund.id)), True
    return refund, created


def _reserve(
    tx: Stores,
    merchant: MerchantConfig,
    order_id: str,
    amount_fen: int,
    reason: str | None,
    merchant_refund_no: str | None,
    now: float,
) -> tuple[Refund, bool]:
    order = tx.orders.get(order_id, for_update=True)
    if order is None or order.mchid != merchant.mchid:
        raise NotFound("order_not_found", f"no order {order_id[:48]!r}")
    fingerprint = _fingerprint(amount_fen, reason)
    if merchant_refund_no is not None:
        existing = tx.refunds.by_merchant_refund_no(order.id, merchant_refund_no)
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise Conflict("idempotency_conflict", "this merchant_refund_no was used with a different body")
            return existing, False
    if order.status not in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED) or order.paid_attempt_id is None:
        raise Conflict("order_not_refundable", f"the order is {order.status.value}")
    seq = tx.refunds.next_seq(order.id, RefundKind.MERCHANT)
    if seq > MAX_REFUNDS_PER_ORDER:
        raise Conflict("refund_limit_reached", f"WeChat allows at most {MAX_REFUNDS_PER_ORDER} refunds per payment")
    if not tx.orders.reserve_refund(order.id, amount_fen, now):
        raise Conflict(
            "refund_exceeds_paid",
            f"only {order.refundable_fen} fen of this order can still be refunded",
            refundable_fen=order.refundable_fen,
        )
    attempt = tx.attempts.get(order.paid_attempt_id)
    assert attempt is not None
    status = RefundStatus.REQUESTED
    if not merchant.refund_approval_required:
        status = transition(REFUND_TRANSITIONS, status, RefundEvent.SUBMIT)
    refund = Refund(
        id=new_refund_id(), order_id=order.id, attempt_id=attempt.id, seq=seq, kind=RefundKind.MERCHANT,
        mchid=order.mchid, out_refund_no=out_refund_no(order.id, seq), out_trade_no=attempt.out_trade_no,
        api=attempt.api, amount_fen=amount_fen, total_fen=attempt.amount_fen, status=status, created_at=now,
        updated_at=now, reason=reason, merchant_refund_no=merchant_refund_no, request_hash=fingerprint,
    )  # fmt: skip
    tx.refunds.add(refund)
    if status == RefundStatus.REQUESTED:
        emit_webhook(tx, "refund.requested", order, now=now, key=f"refund.requested:{refund.id}", refund=refund)
    if status == RefundStatus.PROCESSING:
        # Safety net: if this process dies before WeChat answers, the job resubmits the same out_refund_no.
        schedule_refund_sync(tx, refund.id, order.id, due_at=now + _SAFETY_SYNC_DELAY_S, now=now)
    return refund, True


def get_refund(uow: UnitOfWork, refund_id: str, mchid: str | None = None) -> Refund:
    """The refund, or ``refund_not_found`` (also when it belongs to another merchant)."""
    with uow.read() as tx:
        refund = tx.refunds.get(refund_id)
    if refund is None or (mchid is not None and refund.mchid != mchid):
        raise NotFound("refund_not_found", f"no refund {refund_id[:48]!r}")
    return refund


def approve_refund_flow(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, refund_id: str, mchid: str | None = None
) -> Calls[Refund]:
    """An operator approves a requested refund: requested → approved → processing (submitted)."""
    get_refund(uow, refund_id, mchid)
    now = clock()
    with uow.write() as tx:
        refund = tx.refunds.get(refund_id)
        assert refund is not None
        if refund.status in (RefundStatus.APPROVED, RefundStatus.PROCESSING, RefundStatus.SUCCEEDED):
            return refund  # approving twice is harmless
        approved = transition(REFUND_TRANSITIONS, refund.status, RefundEvent.APPROVE)
        sources = sources_of(REFUND_TRANSITIONS, RefundEvent.APPROVE)
        if not tx.refunds.compare_and_set(refund.id, sources, status=approved, updated_at=now):
            raise Conflict("invalid_transition", "the refund changed meanwhile; read it again")
        processing = transition(REFUND_TRANSITIONS, approved, RefundEvent.SUBMIT)
        tx.refunds.compare_and_set(refund.id, sources_of(REFUND_TRANSITIONS, RefundEvent.SUBMIT), status=processing,
                                   updated_at=now)  # fmt: skip
        schedule_refund_sync(tx, refund.id, refund.order_id, due_at=now + _SAFETY_SYNC_DELAY_S, now=now)
        emit_refund_event(tx, "refund.approved", refund.id, now=now)
    return (yield from _submit_refund_flow(uow, gateway, clock, refund_id))


def reject_refund(
    uow: UnitOfWork, clock: Clock, refund_id: str, mchid: str | None = None, *, reason: str | None = None
) -> Refund:
    """An operator rejects a requested refund, with an optional ``reason`` stored on it (at most 200
    characters); its reserved amount becomes refundable again."""
    get_refund(uow, refund_id, mchid)
    now = clock()
    with uow.write() as tx:
        refund = tx.refunds.get(refund_id)
        assert refund is not None
        if refund.status == RefundStatus.REJECTED:
            return refund
        rejected = transition(REFUND_TRANSITIONS, refund.status, RefundEvent.REJECT)
        if not tx.refunds.compare_and_set(
            refund.id, sources_of(REFUND_TRANSITIONS, RefundEvent.REJECT), status=rejected, updated_at=now,
            rejection_reason=reason[:200] if reason else None,
        ):  # fmt: skip
            raise Conflict("invalid_transition", "the refund changed meanwhile; read it again")
        tx.orders.release_refund(refund.order_id, refund.amount_fen, now)
        emit_refund_event(tx, "refund.rejected", refund.id, now=now)
        current = tx.refunds.get(refund_id)
    assert current is not None
    return current



def _submit_refund_flow(uow: UnitOfWork, gateway: Gateway, clock: Clock, refund_id: str) -> Calls[Refund]:
    """Send a processing refund to WeChat (again, with the same ``out_refund_no``) and apply the answer."""
    refund = get_refund(uow, refund_id)
    if refund.status != RefundStatus.PROCESSING:
        return refund
    answer = yield from gateway.create_refund(refund)
    return _apply_answer(uow, clock, refund, answer, submitted=True)


def _sync_refund_flow(uow: UnitOfWork, gateway: Gateway, clock: Clock, refund_id: str) -> Calls[Refund]:
    """Resolve a processing refund: resubmit if WeChat never acknowledged it, else query it.

    An abnormal refund is only queried (never resubmitted): WeChat may have ended it since, e.g. after an
    application made in the merchant portal whose notification we missed (reconciliation asks this way).
    """
    refund = get_refund(uow, refund_id)
    if refund.status == RefundStatus.ABNORMAL and refund.refund_id is not None:
        return _apply_answer(uow, clock, refund, (yield from gateway.query_refund(refund)), submitted=False)
    if refund.status != RefundStatus.PROCESSING:
        return refund
    if refund.refund_id is None:
        return (yield from _submit_refund_flow(uow, gateway, clock, refund_id))
    return _apply_answer(uow, clock, refund, (yield from gateway.query_refund(refund)), submitted=False)


def _apply_answer(uow: UnitOfWork, clock: Clock, refund: Refund, answer: RefundAnswer, *, submitted: bool) -> Refund:
    now = clock()
    with uow.write() as tx:
        for call in (*answer.earlier_calls, answer.call):
            record_wechat_call(tx, call, now, order_id=refund.order_id, refund_id=refund.id)
        bookkeeping: dict[str, object] = {"updated_at": now}
        if answer.refund_id:
            bookkeeping["refund_id"] = answer.refund_id
        if answer.funds_source:
            bookkeeping["funds_source"] = answer.funds_source
        if submitted and answer.outcome != Outcome.UNKNOWN:
            bookkeeping["submitted_at"] = now
        if answer.outcome == Outcome.FAILED:
            bookkeeping["error_code"] = answer.error_code
            bookkeeping["error_message"] = (answer.error_message or "")[:250]
        tx.refunds.touch(refund.id, **bookkeeping)
        if answer.status == "ABNORMAL":
            hold_refund(tx, refund, now=now, refund_id=answer.refund_id)
        elif answer.outcome == Outcome.SUCCEEDED:
            settle_refund(tx, refund, succeeded=True, now=now, refund_id=answer.refund_id)
        elif answer.outcome == Outcome.FAILED:
            add_anomaly(
                tx, "refund_failed", now, mchid=refund.mchid, order_id=refund.order_id, refund_id=refund.id,
                wechat_code=answer.error_code,
            )  # fmt: skip
            settle_refund(tx, refund, succeeded=False, now=now, error_code=answer.error_code)
        else:
            delay_s = _UNKNOWN_RETRY_S if answer.outcome == Outcome.UNKNOWN else _QUERY_DELAY_S
            schedule_refund_sync(tx, refund.id, refund.order_id, due_at=now + delay_s, now=now)
        current = tx.refunds.get(refund.id)
    assert current is not None
    return current


def _auto_refund_attempt_flow(uow: UnitOfWork, gateway: Gateway, clock: Clock, attempt_id: str) -> Calls[Refund | None]:
    """Refund in full an attempt that succeeded after its order was already paid (one refund per attempt)."""
    now = clock()
    with uow.write() as tx:
        attempt = tx.attempts.get(attempt_id)
        if attempt is None or attempt.status != AttemptStatus.SUCCEEDED:
            return None
        order = tx.orders.get(attempt.order_id, for_update=True)
        assert order is not None
        if order.paid_attempt_id == attempt.id:
            return None  # this attempt is the order's payment: never auto-refund it
        number = duplicate_refund_no(order.id, attempt.seq)
        refund = tx.refunds.by_out_refund_no(order.mchid, number)
        if refund is None:
            refund = Refund(
                id=new_refund_id(), order_id=order.id, attempt_id=attempt.id, seq=attempt.seq,
                kind=RefundKind.DUPLICATE_PAYMENT, mchid=attempt.mchid, out_refund_no=number,
                out_trade_no=attempt.out_trade_no, api=attempt.api, amount_fen=attempt.amount_fen,
                total_fen=attempt.amount_fen,
                status=REFUND_TRANSITIONS[(RefundStatus.REQUESTED, RefundEvent.SUBMIT)], created_at=now,
                updated_at=now, reason="duplicate payment",
            )  # fmt: skip
            tx.refunds.add(refund)
            schedule_refund_sync(tx, refund.id, order.id, due_at=now + _SAFETY_SYNC_DELAY_S, now=now)
    if refund.status in sources_of(REFUND_TRANSITIONS, RefundEvent.SUCCEED):
        return (yield from _submit_refund_flow(uow, gateway, clock, refund.id))
    return refund


request_refund = blocking(_request_refund_flow)
request_refund_idempotently = blocking(request_refund_flow)
approve_refund = blocking(approve_refund_flow)
submit_refund = blocking(_submit_refund_flow)
sync_refund = blocking(_sync_refund_flow)
auto_refund_attempt = blocking(_auto_refund_attempt_flow)
