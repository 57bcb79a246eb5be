"""Applying what WeChat said, inside the caller's transaction. Shared by notifications, queries and jobs.

Each function is a compare-and-set on the state tables: the first caller wins, later callers find
the state already moved and do nothing. Follow-up work is written to the outbox in the same
transaction, so a state change and its consequences commit together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from weipay.service.domain import (
    ATTEMPT_TRANSITIONS,
    ORDER_TRANSITIONS,
    REFUND_TRANSITIONS,
    Anomaly,
    AttemptEvent,
    AttemptStatus,
    Channel,
    OrderEvent,
    OrderStatus,
    PaymentAttempt,
    Refund,
    RefundEvent,
    RefundKind,
    RefundStatus,
    sources_of,
    transition,
)

from .alerting import alert_for_anomaly
from .outbox import schedule_auto_refund, shipping_after_payment_job
from .ports import Stores
from .webhook_events import WebhookEvent, emit_refund_event, emit_webhooks, order_refund_event

__all__ = [
    "Applied",
    "PaidFact",
    "add_anomaly",
    "apply_attempt_event",
    "hold_refund",
    "settle_paid",
    "settle_paid_many",
    "settle_refund",
]


class Applied(StrEnum):
    """What applying a fact did."""

    APPLIED = "applied"  # this call moved the state
    ALREADY = "already"  # someone else had already applied it: a harmless duplicate
    DOUBLE_PAYMENT = "double_payment"  # a second attempt succeeded: refunded automatically
    ANOMALY = "anomaly"  # the fact contradicts our records: stored, not applied
    IGNORED = "ignored"  # nothing to apply (e.g. a non-final state)


def add_anomaly(
    tx: Stores,
    kind: str,
    now: float,
    *,
    mchid: str | None = None,
    order_id: str | None = None,
    attempt_id: str | None = None,
    refund_id: str | None = None,
    **detail: object,
) -> None:
    """Store an anomaly and raise its alert in the same transaction (the log line is the caller's: it knows
    the context)."""
    anomaly = Anomaly(
        kind=kind,
        detail=json.dumps(detail, sort_keys=True, default=str, ensure_ascii=False),
        created_at=now,
        mchid=mchid,
        order_id=order_id,
        attempt_id=attempt_id,
        refund_id=refund_id,
    )
    tx.anomalies.add(anomaly)
    links = {"attempt_id": attempt_id, "refund_id": refund_id}
    alert_for_anomaly(tx, kind, now, mchid=mchid, order_id=order_id,
                      detail={**{k: v for k, v in links.items() if v}, **detail})  # fmt: skip


def apply_attempt_event(tx: Stores, attempt_id: str, event: AttemptEvent, now: float, **values: object) -> bool:
    """Move an attempt by ``event`` from whichever state the table allows; True if this call won the race."""
    sources = sources_of(ATTEMPT_TRANSITIONS, event)
    target = ATTEMPT_TRANSITIONS[(sources[0], event)]  # every event has exactly one target state
    return tx.attempts.compare_and_set(attempt_id, sources, status=target, updated_at=now, **values)


@dataclass(frozen=True, slots=True)
class PaidFact:
    """WeChat says ``attempt`` is paid, by ``transaction_id``, at ``paid_at`` (None: now)."""

    attempt: PaymentAttempt
    transaction_id: str | None
    paid_at: float | None


def settle_paid(
    tx: Stores, attempt: PaymentAttempt, *, transaction_id: str | None, paid_at: float | None, now: float
) -> Applied:
    """WeChat says ``attempt`` is paid: mark it, then the order (once), with its follow-ups."""
    return settle_paid_many(tx, [PaidFact(attempt, transaction_id, paid_at)], now=now)[0]


def settle_paid_many(tx: Stores, facts: Sequence[PaidFact], *, now: float) -> list[Applied]:
    """``settle_paid`` for each fact, answering what applying them one by one, in order, would answer.

    A notification batch is settled in a few statements whatever its size. Facts about the same attempt,
    order or transaction id would see each other's writes one by one, so they go in rounds: no two facts
    of a round share any of those, and a later round sees the earlier rounds' writes (a duplicate finds
    its attempt paid, a second attempt of an order finds the order paid).
    """
    results: dict[int, Applied] = {}
    waiting = list(range(len(facts)))
    while waiting:
        this_round: list[int] = []
        later: list[int] = []
        taken: set[tuple[str, str]] = set()
        for index in waiting:
            keys = _contended(facts[index])
            # A fact waits if it meets one of this round or one already waiting: their order is kept.
            (this_round if keys.isdisjoint(taken) else later).append(index)
            taken |= keys
        _settle_round(tx, [(index, facts[index]) for index in this_round], results, now)
        waiting = later
    return [results[index] for index in range(len(facts))]


def _contended(fact: PaidFact) -> set[tuple[str, str]]:
    keys = {("attempt", fact.attempt.id), ("order", fact.attempt.order_id)}
    if fact.transaction_id:
        keys.add(("transaction", fact.transaction_id))
    return keys


def _settle_round(tx: Stores, items: list[tuple[int, PaidFact]], results: dict[int, Applied], now: float) -> None:
    # A transaction id already bound to another attempt is an anomaly, never a second payment.
    transaction_ids = [fact.transaction_id for _, fact in items if fact.transaction_id]
    holders = tx.attempts.by_transaction_ids(transaction_ids) if transaction_ids else {}
    candidates = []
    for index, fact in items:
        attempt = fact.attempt
        holder = holders.get(fact.transaction_id) if fact.transaction_id else None
        if holder is not None and holder.id != attempt.id:
            add_anomaly(
                tx, "transaction_id_reused", now, mchid=attempt.mchid, order_id=attempt.order_id,
                attempt_id=attempt.id, transaction_id=fact.transaction_id, bound_to=holder.id,
            )  # fmt: skip
            results[index] = Applied.ANOMALY
        else:
            candidates.append((index, fact))
    attempt_changes = {
        fact.attempt.id: {
            "status": AttemptStatus.SUCCEEDED, "transaction_id": fact.transaction_id, "trade_state": "SUCCESS",
            "paid_at": fact.paid_at or now, "updated_at": now,
        }
        for _, fact in candidates
    }  # fmt: skip
    won = tx.attempts.compare_and_set_many(sources_of(ATTEMPT_TRANSITIONS, AttemptEvent.PAID), attempt_changes)
    paid = []
    for index, fact in candidates:
        if fact.attempt.id in won:
            paid.append((index, fact))
        else:
            results[index] = _paid_attempt_not_moved(tx, fact.attempt, now)
    paid_status = transition(ORDER_TRANSITIONS, OrderStatus.PENDING, OrderEvent.PAY)
    order_changes = {
        fact.attempt.order_id: {
            "status": paid_status, "paid_fen": fact.attempt.amount_fen, "paid_attempt_id": fact.attempt.id,
            "paid_at": fact.paid_at or now, "updated_at": now,
        }
        for _, fact in paid
    }  # fmt: skip
    paid_orders = tx.orders.compare_and_set_many(sources_of(ORDER_TRANSITIONS, OrderEvent.PAY), order_changes)
    paid_now = [fact.attempt for _, fact in paid if fact.attempt.order_id in paid_orders]
    orders_now = tx.orders.by_ids([attempt.order_id for attempt in paid_now]) if paid_now else {}
    webhooks = []
    follow_ups = []
    for index, fact in paid:
        attempt = fact.attempt
        if attempt.status in _ENDED_HERE:
            _record_late_payment(tx, fact, applied=attempt.order_id in paid_orders, now=now)
        if attempt.order_id in paid_orders:
            paid_attempt = replace(attempt, status=AttemptStatus.SUCCEEDED, trade_state="SUCCESS",
                                   transaction_id=fact.transaction_id, paid_at=fact.paid_at or now)
            webhooks.append(WebhookEvent("order.paid", orders_now[attempt.order_id], f"order.paid:{attempt.order_id}",
                                         attempt=paid_attempt))  # fmt: skip
            if attempt.channel == Channel.MINIPROGRAM:  # its funds stay frozen until shipping is uploaded
                follow_ups.append(shipping_after_payment_job(attempt.order_id, now=now))
            results[index] = Applied.APPLIED
            continue
        # The order was already paid by another attempt (or closed meanwhile): give this money back.
        add_anomaly(
            tx, "double_payment", now, mchid=attempt.mchid, order_id=attempt.order_id, attempt_id=attempt.id,
            transaction_id=fact.transaction_id, amount_fen=attempt.amount_fen,
        )  # fmt: skip
        schedule_auto_refund(tx, attempt.id, attempt.order_id, now=now)
        results[index] = Applied.DOUBLE_PAYMENT
    emit_webhooks(tx, webhooks, now=now)
    if follow_ups:
        tx.jobs.enqueue_many(follow_ups)


# Attempt states we concluded on our own that WeChat's SUCCESS can still overturn (see ATTEMPT_TRANSITIONS).
_ENDED_HERE = frozenset({AttemptStatus.FAILED, AttemptStatus.CLOSED})


def _record_late_payment(tx: Stores, fact: PaidFact, *, applied: bool, now: float) -> None:
    """WeChat took money for an attempt we had marked failed or closed: the operators see it, and how it ended
    (applied to the still-payable order, or refunded like a double payment)."""
    attempt = fact.attempt
    add_anomaly(
        tx, "late_payment", now, mchid=attempt.mchid, order_id=attempt.order_id, attempt_id=attempt.id,
        transaction_id=fact.transaction_id, amount_fen=attempt.amount_fen, previous_status=attempt.status.value,
        resolution="applied" if applied else "refunded",
    )  # fmt: skip


def _paid_attempt_not_moved(tx: Stores, attempt: PaymentAttempt, now: float) -> Applied:
    """The attempt's compare-and-set lost: already paid (a duplicate), or in a state payment cannot leave."""
    current = tx.attempts.get(attempt.id)
    if current is not None and current.status == AttemptStatus.SUCCEEDED:
        return Applied.ALREADY
    add_anomaly(
        tx, "paid_after_terminal", now, mchid=attempt.mchid, order_id=attempt.order_id, attempt_id=attempt.id,
        status=current.status.value if current else None,
    )  # fmt: skip
    return Applied.ANOMALY


def settle_refund(
    tx: Stores,
    refund: Refund,
    *,
    succeeded: bool,
    now: float,
    refund_id: str | None = None,
    error_code: str | None = None,
) -> Applied:
    """WeChat says ``refund`` succeeded (or finally failed): move it, and the order's balances, once.

    It may come from ``processing`` or from ``abnormal`` (WeChat's SUCCESS after an abnormal-refund
    application, or an operator's record of how a v2 abnormal refund ended): both hold a reservation.
    """
    event = RefundEvent.SUCCEED if succeeded else RefundEvent.FAIL
    sources = sources_of(REFUND_TRANSITIONS, event)
    target = REFUND_TRANSITIONS[(sources[0], event)]
    changes: dict[str, object] = {"status": target, "updated_at": now}
    if refund_id:
        changes["refund_id"] = refund_id
    if succeeded:
        changes["succeeded_at"] = now
    if error_code:
        changes["error_code"] = error_code
    if not tx.refunds.compare_and_set(refund.id, sources, **changes):
        current = tx.refunds.get(refund.id)
        return Applied.ALREADY if current is not None and current.status == target else Applied.IGNORED
    if refund.kind == RefundKind.DUPLICATE_PAYMENT:
        return Applied.APPLIED  # a double-payment refund returns money the order never counted
    if not succeeded:
        tx.orders.release_refund(refund.order_id, refund.amount_fen, now)
        emit_refund_event(tx, "refund.failed", refund.id, now=now)
        return Applied.APPLIED
    order = tx.orders.get(refund.order_id, for_update=True)
    assert order is not None
    full = order.refunded_fen + refund.amount_fen == order.paid_fen
    new_status = transition(ORDER_TRANSITIONS, order.status, OrderEvent.REFUND_ALL if full else OrderEvent.REFUND_PART)
    if not tx.orders.book_refund(order.id, refund.amount_fen, new_status, order.status, now):
        raise RuntimeError(f"order {order.id} changed under its row lock")  # cannot happen: the row is locked
    booked = tx.orders.get(order.id)
    current = tx.refunds.get(refund.id)
    assert booked is not None and current is not None
    # The refund, then what it did to the order: a receiver hears them in this order.
    events = [WebhookEvent("refund.succeeded", booked, f"refund.succeeded:{refund.id}", refund=current)]
    followed = order_refund_event(booked, current)
    if followed is not None:
        events.append(followed)
    emit_webhooks(tx, events, now=now)
    return Applied.APPLIED


def hold_refund(tx: Stores, refund: Refund, *, now: float, refund_id: str | None = None) -> Applied:
    """WeChat says ``refund`` is ABNORMAL: the money is held for manual handling, so it stays reserved.

    The merchant is told (``refund.abnormal``) and an anomaly alerts the operators; the refund leaves
    ``abnormal`` through an abnormal-refund application (v3) or an operator's record (v2).
    """
    target = transition(REFUND_TRANSITIONS, RefundStatus.PROCESSING, RefundEvent.HOLD)
    changes: dict[str, object] = {"status": target, "updated_at": now, "error_code": "ABNORMAL"}
    if refund_id:
        changes["refund_id"] = refund_id
    if not tx.refunds.compare_and_set(refund.id, sources_of(REFUND_TRANSITIONS, RefundEvent.HOLD), **changes):
        current = tx.refunds.get(refund.id)
        return Applied.ALREADY if current is not None and current.status == target else Applied.IGNORED
    add_anomaly(tx, "refund_abnormal", now, mchid=refund.mchid, order_id=refund.order_id, refund_id=refund.id)
    if refund.kind != RefundKind.DUPLICATE_PAYMENT:
        # A redirected refund can be held again: each hold is its own event, so the key names the moment.
        key = f"refund.abnormal:{refund.id}:{round(now * 1000)}"
        emit_refund_event(tx, "refund.abnormal", refund.id, now=now, key=key)
    return Applied.APPLIED

