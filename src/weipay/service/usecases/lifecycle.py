"""Reading an order (syncing a late attempt first), closing it, and expiring it (flows, see ``flows``)."""

from __future__ import annotations

import datetime as dt
import logging

from weipay.service.domain import (
    ORDER_TRANSITIONS,
    Conflict,
    Order,
    OrderEvent,
    OrderStatus,
    PaymentAttempt,
    UpstreamError,
    sources_of,
    transition,
)

from .flows import blocking
from .orders import load_order
from .outbox import schedule_expiry
from .payments import CLOSE_MARGIN_S, WECHAT_CLOSE_AFTER_S, close_open_attempt_flow, sync_attempt_flow
from .ports import Calls, Clock, Gateway, UnitOfWork
from .webhook_events import emit_webhook

__all__ = [
    "close_order",
    "close_order_flow",
    "close_superseded",
    "due_for_sync",
    "expire_or_retry",
    "expire_order",
    "get_order",
    "get_order_flow",
]

logger = logging.getLogger("weipay.service.orders")

_MIN_SYNC_INTERVAL_S = 2.0
_EXPIRY_RETRY_S = 60.0


def due_for_sync(attempt: PaymentAttempt, now: float, sync_after_s: float) -> bool:
    """Whether reading the order should query WeChat about ``attempt`` first: it may still be paid, its
    notification is overdue, and it was not queried in the last few seconds."""
    return (
        (attempt.is_open or attempt.awaits_close)
        and now - attempt.created_at >= sync_after_s
        and (attempt.last_synced_at is None or now - attempt.last_synced_at >= _MIN_SYNC_INTERVAL_S)
    )


def get_order_flow(
    uow: UnitOfWork,
    gateway: Gateway,
    clock: Clock,
    order_id: str,
    mchid: str | None = None,
    *,
    sync_after_s: float = 10.0,
) -> Calls[Order]:
    """The order's current state. A pending attempt older than ``sync_after_s`` (its expected
    notification time) is queried at WeChat first and the answer applied, so the reply is fresh."""
    order = load_order(uow, order_id, mchid)
    if order.status != OrderStatus.PENDING:
        return order
    now = clock()
    with uow.read() as tx:
        stale = [a for a in tx.attempts.for_order(order.id) if due_for_sync(a, now, sync_after_s)]
    for attempt in stale:
        yield from sync_attempt_flow(uow, gateway, clock, attempt.id)
    return load_order(uow, order_id, mchid) if stale else order


def close_order_flow(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, order_id: str, mchid: str | None = None
) -> Calls[Order]:
    """Close an unpaid order: its open attempts at WeChat first, then locally. A paid order cannot be closed."""
    return (yield from _end(uow, gateway, clock, order_id, mchid, OrderEvent.CLOSE))


def _expire_order_flow(uow: UnitOfWork, gateway: Gateway, clock: Clock, order_id: str) -> Calls[Order]:
    """The expiry job: like ``close_order`` with the ``expire`` event; a no-op once the order left pending."""
    order = load_order(uow, order_id)
    if order.status != OrderStatus.PENDING:
        return order
    now = clock()
    if order.expires_at > now:  # the expiry moved (should not happen) or the clock is early: come back later
        with uow.write() as tx:
            schedule_expiry(tx, order.id, due_at=order.expires_at, now=now)
        return order
    yield from _wait_for_wechat_close_window(uow, gateway, clock, order)
    return (yield from _end(uow, gateway, clock, order_id, None, OrderEvent.EXPIRE))


def _wait_for_wechat_close_window(uow: UnitOfWork, gateway: Gateway, clock: Clock, order: Order) -> Calls[None]:
    """An open attempt younger than five minutes cannot be closed at WeChat yet: query it instead (past its
    time_expire WeChat may already report it CLOSED, or paid); if it is still open, come back later."""
    now = clock()
    with uow.read() as tx:
        young = [a for a in tx.attempts.for_order(order.id) if a.is_open and now - a.created_at < WECHAT_CLOSE_AFTER_S]
    for attempt in young:
        if (yield from sync_attempt_flow(uow, gateway, clock, attempt.id)).is_open:
            raise UpstreamError(
                "close_too_early",
                "WeChat refuses closes within five minutes of creation; retry later",
                attempt_id=attempt.id,
            )


def _end(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, order_id: str, mchid: str | None, event: OrderEvent
) -> Calls[Order]:
    order = load_order(uow, order_id, mchid)
    if order.status in (OrderStatus.CLOSED, OrderStatus.EXPIRED):
        return order
    if order.status != OrderStatus.PENDING:
        raise Conflict("order_already_paid", "a paid order cannot be closed; refund it instead")
    with uow.read() as tx:
        open_attempts = [a for a in tx.attempts.for_order(order.id) if a.is_open]
    for attempt in open_attempts:
        yield from _close_at_wechat(uow, gateway, clock, attempt, event)  # raises if WeChat says paid or cannot tell
    now = clock()
    target = transition(ORDER_TRANSITIONS, OrderStatus.PENDING, event)
    with uow.write() as tx:
        if any(a.is_open for a in tx.attempts.for_order(order.id)):
            raise Conflict("payment_in_progress", "a payment attempt was started concurrently; retry")
        won = tx.orders.compare_and_set(order.id, sources_of(ORDER_TRANSITIONS, event), status=target, updated_at=now)
        current = tx.orders.get(order.id)
        if won and current is not None:
            emit_webhook(tx, f"order.{target.value}", current, now=now, key=f"order.{target.value}:{order.id}")
    assert current is not None
    if not won and current.status not in (OrderStatus.CLOSED, OrderStatus.EXPIRED):
        raise Conflict("order_already_paid", "the order was paid meanwhile")
    return current


def _close_at_wechat(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, attempt: PaymentAttempt, event: OrderEvent
) -> Calls[None]:
    """Close one attempt at WeChat. A merchant's close refused under WeChat's five-minute rule becomes a 409
    ``close_not_yet_allowed`` naming the earliest time, instead of an opaque upstream failure.

    The merchant is told to come back rather than the close being scheduled: a scheduled close leaves the
    order open at WeChat meanwhile, and the merchant's answer would not say whether it will end closed or paid.
    WeChat applies the rule before looking at the order, so the attempt is queried first: paid or already
    closed at WeChat, the order ends accordingly (``_end`` reports a payment as ``order_already_paid``).
    """
    try:
        yield from close_open_attempt_flow(uow, gateway, clock, attempt)
    except UpstreamError as error:
        earliest_at = attempt.created_at + WECHAT_CLOSE_AFTER_S + CLOSE_MARGIN_S
        refused = error.detail.get("wechat_code") is not None  # a definite refusal, not a timeout
        if event != OrderEvent.CLOSE or not refused or clock() >= earliest_at:
            raise
        if not (yield from sync_attempt_flow(uow, gateway, clock, attempt.id)).is_open:
            return
        wait_s = max(1, int(earliest_at - clock() + 0.999))
        when = dt.datetime.fromtimestamp(earliest_at, tz=dt.UTC).isoformat(timespec="seconds")
        raise Conflict(
            "close_not_yet_allowed",
            f"WeChat accepts a close five minutes after the payment started: retry at {when} (in {wait_s} s)",
            earliest_close_at=earliest_at,
            retry_after_s=wait_s,
            attempt_id=attempt.id,
        ) from None


def _close_superseded_flow(uow: UnitOfWork, gateway: Gateway, clock: Clock, order_id: str) -> Calls[float | None]:
    """Close the attempts a newer one superseded while WeChat's five-minute rule kept them open (every
    open attempt but the newest; all of them once the order is no longer pending), and every attempt that
    failed with PAYERROR (still payable at WeChat until closed). Returns when to try again if one is still
    too young or its close is unresolved. A close that reveals a payment settles it (applied to a still
    payable order, else refunded like a double payment)."""
    order = load_order(uow, order_id)
    with uow.read() as tx:
        attempts = tx.attempts.for_order(order.id)
    latest = max(attempts, key=lambda a: a.seq, default=None)
    retry_at: float | None = None
    for attempt in attempts:
        if attempt.awaits_close:
            pass  # never resumed (a new payment makes a new attempt): close it even if it is the newest
        elif not attempt.is_open or (order.status == OrderStatus.PENDING and latest and attempt.id == latest.id):
            continue
        earliest_at = attempt.created_at + WECHAT_CLOSE_AFTER_S + CLOSE_MARGIN_S
        if clock() < earliest_at:
            retry_at = min(retry_at or earliest_at, earliest_at)
            continue
        try:
            yield from close_open_attempt_flow(uow, gateway, clock, attempt)
        except UpstreamError as error:
            logger.warning("close of superseded attempt %s postponed: %s", attempt.id, error.code)
            later = clock() + _EXPIRY_RETRY_S
            retry_at = min(retry_at or later, later)
        except Conflict as error:
            if error.code != "order_already_paid":
                raise
    return retry_at


def _expire_or_retry_flow(uow: UnitOfWork, gateway: Gateway, clock: Clock, order_id: str) -> Calls[float | None]:
    """The expiry/close job: close superseded attempts, then run expiry; on an unresolved close, return
    when to try again (jobs use this)."""
    retry_at = yield from _close_superseded_flow(uow, gateway, clock, order_id)
    try:
        yield from _expire_order_flow(uow, gateway, clock, order_id)
    except UpstreamError as error:
        logger.warning("expiry of %s postponed: %s", order_id, error.code)
        later = clock() + _EXPIRY_RETRY_S
        return min(retry_at or later, later)
    except Conflict as error:
        if error.code == "order_already_paid":
            return retry_at
        raise
    return retry_at


get_order = blocking(get_order_flow)
close_order = blocking(close_order_flow)
expire_order = blocking(_expire_order_flow)
close_superseded = blocking(_close_superseded_flow)
expire_or_retry = blocking(_expire_or_retry_flow)
