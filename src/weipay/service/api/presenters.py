"""Domain records to response bodies. Times are ISO 8601 UTC; amounts stay integer fen (timeline events and
call-log rows: ``timeline_out``)."""

from __future__ import annotations

from collections.abc import Iterable

from ..db import JobRow
from ..domain import Channel, Order, PaymentAttempt, Refund, Shipment
from ..usecases import OrderDetails, PaymentStart
from .options_schemas import options_out
from .schemas import AttemptOut, JobOut, OrderOut, PaymentOut, RefundOut
from .shipping_schemas import ShippingError, ShippingOut
from .timeline_out import event_out
from .times import iso

__all__ = [
    "attempt_out",
    "details_out",
    "event_out",
    "iso",
    "job_out",
    "order_out",
    "payment_out",
    "refund_out",
    "shipping_out",
]


def attempt_out(attempt: PaymentAttempt) -> AttemptOut:
    """One attempt, without prepay ids or URLs (those go only to whoever started it)."""
    return AttemptOut(
        seq=attempt.seq,
        out_trade_no=attempt.out_trade_no,
        channel=str(attempt.channel),
        api=str(attempt.api),
        status=str(attempt.status),
        transaction_id=attempt.transaction_id,
        created_at=iso(attempt.created_at),
    )


def refund_out(refund: Refund) -> RefundOut:
    """A refund as the merchant sees it."""
    return RefundOut(
        id=refund.id,
        order_id=refund.order_id,
        merchant_refund_no=refund.merchant_refund_no or refund.out_refund_no,
        out_refund_no=refund.out_refund_no,
        amount=refund.amount_fen,
        reason=refund.reason,
        status=str(refund.status),
        rejection_reason=refund.rejection_reason,
        refund_id=refund.refund_id,
        created_at=iso(refund.created_at),
        kind=str(refund.kind),
    )


def shipping_out(shipment: Shipment) -> ShippingOut:
    """An order's shipping information (contacts and the payer stay out)."""
    error = shipment.last_error_code
    return ShippingOut(
        state=shipment.status.value, logistics_type=shipment.logistics_name,
        delivery_mode="split" if shipment.delivery_mode == 2 else "unified", packages=len(shipment.items),
        automatic=shipment.automatic, submitted_at=iso(shipment.submitted_at) or "",
        uploaded_at=iso(shipment.uploaded_at) if shipment.uploaded_at else None,
        confirmed_at=iso(shipment.confirmed_at) if shipment.confirmed_at else None,
        last_error=ShippingError(code=error, message=shipment.last_error_message) if error else None,
    )  # fmt: skip


def order_out(
    order: Order, attempts: Iterable[PaymentAttempt] = (), refunds: Iterable[Refund] = (),
    shipment: Shipment | None = None,
) -> OrderOut:
    """An order with its attempts, refunds and shipping information."""
    return OrderOut(
        id=order.id,
        mchid=order.mchid,
        merchant_order_no=order.merchant_order_no,
        amount=order.amount_fen,
        currency=order.currency,
        description=order.description,
        attach=order.attach,
        status=str(order.status),
        payer_openid=order.payer_openid,
        paid_amount=order.paid_fen,
        refunded_amount=order.refunded_fen,
        created_at=iso(order.created_at),
        expires_at=iso(order.expires_at),
        options=options_out(order.options),
        attempts=[attempt_out(a) for a in sorted(attempts, key=lambda a: a.seq)],
        refunds=[refund_out(r) for r in sorted(refunds, key=lambda r: r.seq)],
        shipping=shipping_out(shipment) if shipment is not None else None,
    )


def details_out(details: OrderDetails) -> OrderOut:
    """An order as read with its attempts, refunds and shipping information."""
    return order_out(details.order, details.attempts, details.refunds, details.shipment)


def payment_out(start: PaymentStart, qr_url: str) -> PaymentOut:
    """What the client needs to pay on the attempt's channel (``qr_url``: the signed QR image, native only)."""
    attempt = start.attempt
    params = dict(start.client_params)
    out = PaymentOut(
        order_id=attempt.order_id, seq=attempt.seq, out_trade_no=attempt.out_trade_no, channel=str(attempt.channel),
        api=str(attempt.api), status=str(attempt.status),
    )  # fmt: skip
    if attempt.channel in (Channel.JSAPI, Channel.MINIPROGRAM):
        out.request_payment = params
    elif attempt.channel == Channel.APP:
        out.app_payment = params
    elif attempt.channel == Channel.NATIVE:
        out.code_url = start.code_url or params.get("code_url")
        out.qr_url = qr_url
    else:
        out.h5_url = start.h5_url or params.get("h5_url")
    return out


def job_out(job: JobRow) -> JobOut:
    """A stored job (without its payload)."""
    return JobOut(
        id=job.id, kind=job.kind, status=job.status, order_id=job.order_id, attempts=job.attempts,
        max_attempts=job.max_attempts, due_at=iso(job.due_at), updated_at=iso(job.updated_at or None),
        last_error=job.last_error,
    )  # fmt: skip
