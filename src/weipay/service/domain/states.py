"""The four state machines, each as ONE transition table, and the one function that applies them.

The database applies the same tables by compare-and-set (``UPDATE … WHERE status = :from``), so a
duplicate event that lost the race changes nothing. ``transition`` is the pure check used before
every such update; it raises ``invalid_transition`` for anything the table does not list.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from .errors import Conflict

__all__ = [
    "ATTEMPT_TRANSITIONS",
    "ORDER_TRANSITIONS",
    "REFUND_TRANSITIONS",
    "SHIPPING_TRANSITIONS",
    "AttemptEvent",
    "AttemptStatus",
    "OrderEvent",
    "OrderStatus",
    "RefundEvent",
    "RefundStatus",
    "ShippingEvent",
    "ShippingStatus",
    "can_transition",
    "sources_of",
    "transition",
]


class OrderStatus(StrEnum):
    """The business order: what the merchant sees."""

    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CLOSED = "closed"
    EXPIRED = "expired"


class OrderEvent(StrEnum):
    """What can happen to an order."""

    PAY = "pay"
    CLOSE = "close"
    EXPIRE = "expire"
    REFUND_PART = "refund_part"
    REFUND_ALL = "refund_all"


class AttemptStatus(StrEnum):
    """One WeChat order (one ``out_trade_no``) made for a business order."""

    CREATED = "created"  # row written, WeChat not yet answered
    PENDING = "pending"  # WeChat holds an unpaid order
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CLOSED = "closed"
    UNKNOWN = "unknown"  # timeout or unverifiable answer: resolved only by a query


class AttemptEvent(StrEnum):
    """What WeChat told us about an attempt (by answer, notification or query)."""

    PREPAID = "prepaid"  # create answered: an unpaid order exists
    REFUSED = "refused"  # create refused
    TIMED_OUT = "timed_out"  # create's outcome unknown
    OPEN = "open"  # a query found it unpaid (NOTPAY / USERPAYING)
    PAID = "paid"
    PAY_FAILED = "pay_failed"  # PAYERROR / REVOKED
    CLOSED = "closed"
    NOT_FOUND = "not_found"  # a query says WeChat never took it


class RefundStatus(StrEnum):
    """A refund of (part of) a payment."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # WeChat's ABNORMAL: the money could not reach the payer's account and is held for manual handling.
    # WeChat's refundable amount already excludes it, so ours keeps it reserved until it is resolved.
    ABNORMAL = "abnormal"


class RefundEvent(StrEnum):
    """What can happen to a refund."""

    APPROVE = "approve"
    REJECT = "reject"
    SUBMIT = "submit"
    SUCCEED = "succeed"
    FAIL = "fail"
    HOLD = "hold"  # WeChat says ABNORMAL (v2 refund_status CHANGE)
    REDIRECT = "redirect"  # an abnormal refund was sent again to a bank card (apply-abnormal-refund)


class ShippingStatus(StrEnum):
    """A paid mini-program order's shipping information (小程序发货信息管理), as the service knows it."""

    PENDING = "pending"  # accepted here, the upload to the mini-program platform is queued
    UPLOADED = "uploaded"  # the platform recorded it (已发货); the buyer's funds are still frozen
    FAILED = "failed"  # the platform refused it for good: correct it and submit again
    CONFIRMED = "confirmed"  # the buyer (or the platform, after its wait) confirmed receipt


class ShippingEvent(StrEnum):
    """What can happen to shipping information."""

    SUBMIT = "submit"  # the merchant submits (again: WeChat allows one change after shipping)
    UPLOAD_OK = "upload_ok"
    UPLOAD_REFUSED = "upload_refused"
    CONFIRM = "confirm"  # the platform reports receipt confirmed (order_state 3 or 4)


ORDER_TRANSITIONS: Mapping[tuple[OrderStatus, OrderEvent], OrderStatus] = {
    (OrderStatus.PENDING, OrderEvent.PAY): OrderStatus.PAID,
    (OrderStatus.PENDING, OrderEvent.CLOSE): OrderStatus.CLOSED,
    (OrderStatus.PENDING, OrderEvent.EXPIRE): OrderStatus.EXPIRED,
    (OrderStatus.PAID, OrderEvent.REFUND_PART): OrderStatus.PARTIALLY_REFUNDED,
    (OrderStatus.PAID, OrderEvent.REFUND_ALL): OrderStatus.REFUNDED,
    (OrderStatus.PARTIALLY_REFUNDED, OrderEvent.REFUND_PART): OrderStatus.PARTIALLY_REFUNDED,
    (OrderStatus.PARTIALLY_REFUNDED, OrderEvent.REFUND_ALL): OrderStatus.REFUNDED,
}

ATTEMPT_TRANSITIONS: Mapping[tuple[AttemptStatus, AttemptEvent], AttemptStatus] = {
    (AttemptStatus.CREATED, AttemptEvent.PREPAID): AttemptStatus.PENDING,
    (AttemptStatus.CREATED, AttemptEvent.REFUSED): AttemptStatus.FAILED,
    (AttemptStatus.CREATED, AttemptEvent.TIMED_OUT): AttemptStatus.UNKNOWN,
    # A crash between "row written" and "answer stored" leaves CREATED; WeChat may still have it.
    (AttemptStatus.CREATED, AttemptEvent.OPEN): AttemptStatus.PENDING,
    (AttemptStatus.CREATED, AttemptEvent.PAID): AttemptStatus.SUCCEEDED,
    (AttemptStatus.CREATED, AttemptEvent.CLOSED): AttemptStatus.CLOSED,
    (AttemptStatus.CREATED, AttemptEvent.NOT_FOUND): AttemptStatus.FAILED,
    (AttemptStatus.PENDING, AttemptEvent.PAID): AttemptStatus.SUCCEEDED,
    (AttemptStatus.PENDING, AttemptEvent.PAY_FAILED): AttemptStatus.FAILED,
    (AttemptStatus.PENDING, AttemptEvent.CLOSED): AttemptStatus.CLOSED,
    (AttemptStatus.UNKNOWN, AttemptEvent.PREPAID): AttemptStatus.PENDING,
    (AttemptStatus.UNKNOWN, AttemptEvent.OPEN): AttemptStatus.PENDING,
    (AttemptStatus.UNKNOWN, AttemptEvent.PAID): AttemptStatus.SUCCEEDED,
    (AttemptStatus.UNKNOWN, AttemptEvent.PAY_FAILED): AttemptStatus.FAILED,
    (AttemptStatus.UNKNOWN, AttemptEvent.CLOSED): AttemptStatus.CLOSED,
    (AttemptStatus.UNKNOWN, AttemptEvent.NOT_FOUND): AttemptStatus.FAILED,
    # WeChat's PAYERROR is not final there: the order stays payable (the payer retries, e.g. with another
    # card) until it is closed or expires, which is why WeChat asks merchants to close it. The close ends it.
    (AttemptStatus.FAILED, AttemptEvent.CLOSED): AttemptStatus.CLOSED,
    # WeChat's SUCCESS is a fact whatever we concluded before: a payment after PAYERROR (before the close
    # reached WeChat), or one that crossed our close. The money is applied or refunded, never ignored.
    (AttemptStatus.FAILED, AttemptEvent.PAID): AttemptStatus.SUCCEEDED,
    (AttemptStatus.CLOSED, AttemptEvent.PAID): AttemptStatus.SUCCEEDED,
}

REFUND_TRANSITIONS: Mapping[tuple[RefundStatus, RefundEvent], RefundStatus] = {
    (RefundStatus.REQUESTED, RefundEvent.APPROVE): RefundStatus.APPROVED,
    (RefundStatus.REQUESTED, RefundEvent.REJECT): RefundStatus.REJECTED,
    (RefundStatus.REQUESTED, RefundEvent.SUBMIT): RefundStatus.PROCESSING,  # approval switched off
    (RefundStatus.APPROVED, RefundEvent.SUBMIT): RefundStatus.PROCESSING,
    (RefundStatus.PROCESSING, RefundEvent.SUCCEED): RefundStatus.SUCCEEDED,
    (RefundStatus.PROCESSING, RefundEvent.FAIL): RefundStatus.FAILED,
    (RefundStatus.PROCESSING, RefundEvent.HOLD): RefundStatus.ABNORMAL,
    # WeChat took the abnormal-refund application: the refund is processing again until WeChat ends it.
    (RefundStatus.ABNORMAL, RefundEvent.REDIRECT): RefundStatus.PROCESSING,
    # WeChat reports SUCCESS (after an application, or one made in the merchant portal), or an operator
    # records the outcome of a v2 refund resolved by hand: succeeded, or failed (the money stayed with us).
    (RefundStatus.ABNORMAL, RefundEvent.SUCCEED): RefundStatus.SUCCEEDED,
    (RefundStatus.ABNORMAL, RefundEvent.FAIL): RefundStatus.FAILED,
}

SHIPPING_TRANSITIONS: Mapping[tuple[ShippingStatus, ShippingEvent], ShippingStatus] = {
    (ShippingStatus.PENDING, ShippingEvent.UPLOAD_OK): ShippingStatus.UPLOADED,
    (ShippingStatus.PENDING, ShippingEvent.UPLOAD_REFUSED): ShippingStatus.FAILED,
    (ShippingStatus.FAILED, ShippingEvent.SUBMIT): ShippingStatus.PENDING,
    # A change of what was shipped: the platform takes one, and refuses a second (RESHIPPING_USED → failed).
    (ShippingStatus.UPLOADED, ShippingEvent.SUBMIT): ShippingStatus.PENDING,
    (ShippingStatus.UPLOADED, ShippingEvent.CONFIRM): ShippingStatus.CONFIRMED,
    # Receipt confirmed while a change was queued: the platform's word ends it (the change cannot land any more).
    (ShippingStatus.PENDING, ShippingEvent.CONFIRM): ShippingStatus.CONFIRMED,
}

S = TypeVar("S", OrderStatus, AttemptStatus, RefundStatus, ShippingStatus)
E = TypeVar("E", OrderEvent, AttemptEvent, RefundEvent, ShippingEvent)


def transition(table: Mapping[tuple[S, E], S], state: S, event: E) -> S:
    """The state after ``event``, or ``Conflict("invalid_transition")`` if the table has no such edge."""
    try:
        return table[(state, event)]
    except KeyError:
        raise Conflict(
            "invalid_transition", f"cannot {event.value} when {state.value}", state=state.value, event=event.value
        ) from None


def can_transition(table: Mapping[tuple[S, E], S], state: S, event: E) -> bool:
    """Whether ``event`` is allowed in ``state``."""
    return (state, event) in table


def sources_of(table: Mapping[tuple[S, E], S], event: E) -> tuple[S, ...]:
    """Every state from which ``event`` is allowed: the ``WHERE status IN (...)`` of a compare-and-set."""
    return tuple(sorted((s for (s, e) in table if e == event), key=lambda s: s.value))
