"""Domain records to response bodies. Times are ISO 8601 UTC; amounts stay integer fen."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..db.job_queue import JobRow
from ..domain import Order, PaymentAttempt, Refund
from .schemas import AttemptOut, CallLogEntry, JobOut, OrderOut, RefundOut

__all__ = ["attempt_out", "event_out", "iso", "order_out", "refund_out"]


def iso(unix_s: float | None) -> str | None:
    """``1795396740.5 -> "2026-11-23T01:19:00Z"`` (seconds precision)."""
    if unix_s is None:
        return None
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def order_out(order: Order, attempts: Iterable[PaymentAttempt] = (), refunds: Iterable[Refund] = ()) -> OrderOut:
    """An order with its attempts and refunds."""
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
        attempts=[attempt_out(a) for a in sorted(attempts, key=lambda a: a.seq)],
        refunds=[refund_out(r) for r in sorted(refunds, key=lambda r: r.seq)],
    )


def event_out(row: Mapping[str, Any]) -> CallLogEntry:
    """A call-log row (already redacted by the gateway) as an event."""
    body = row.get("response_body") or row.get("request_body") or row.get("body")
    return CallLogEntry(
        at=iso(row.get("created_at")),
        direction=str(row.get("direction", "")),
        endpoint=str(row.get("endpoint", "")),
        http_status=row.get("http_status"),
        wechat_code=row.get("wechat_code"),
        latency_ms=row.get("latency_ms"),
        request_id=row.get("request_id"),
        body=None if body is None else str(body)[:4000],
    )


def job_out(job: JobRow) -> JobOut:
    """A stored job (without its payload)."""
    return JobOut(
        id=job.id, kind=job.kind, status=job.status, order_id=job.order_id, attempts=job.attempts,
        max_attempts=job.max_attempts, due_at=iso(job.due_at), updated_at=iso(job.updated_at or None),
        last_error=job.last_error,
    )  # fmt: skip
