"""Timeline events and call-log rows to response bodies (times ISO 8601 UTC, amounts integer fen)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from ..usecases import CallEntry, TimelineEvent
from .schemas import CallLogEntry
from .timeline_schemas import PaymentFacts, RefundFacts, TimelineEventOut
from .times import iso

__all__ = ["call_out", "event_out"]

_EVENTS: TypeAdapter[TimelineEventOut] = TypeAdapter(TimelineEventOut)
_CALL_BODY_MAX_CHARS = 4000


def event_out(event: TimelineEvent) -> TimelineEventOut:
    """A typed event; a field the schema of its type lacks is a bug and fails here, not at the client."""
    fields = dict(event.fields)
    if event.type == "notification.received":
        fields["facts"] = _facts(str(fields["kind"]), fields.get("facts"))
    return _EVENTS.validate_python({"type": event.type, "at": iso(event.at), **fields})


def call_out(entry: CallEntry) -> CallLogEntry:
    """A raw call-log row (bodies already redacted by the gateway)."""
    return CallLogEntry(
        at=iso(entry.at), direction=entry.direction, api=entry.api, endpoint=entry.endpoint, outcome=entry.outcome,
        http_status=entry.http_status, wechat_code=entry.wechat_code, latency_ms=entry.latency_ms,
        request_id=entry.request_id, body=None if entry.body is None else entry.body[:_CALL_BODY_MAX_CHARS],
    )  # fmt: skip


def _facts(kind: str, stored: Mapping[str, Any] | None) -> PaymentFacts | RefundFacts | None:
    """Stored facts (``notification_facts``: WeChat's nouns, ``*_fen``, unix times) in the API's shape."""
    if not stored:
        return None
    when = stored.get("success_time")
    success_time = iso(when) if isinstance(when, int | float) else None
    if kind == "payment":
        return PaymentFacts(
            out_trade_no=stored.get("out_trade_no"), transaction_id=stored.get("transaction_id"),
            trade_state=stored.get("trade_state"), trade_type=stored.get("trade_type"),
            amount=stored.get("amount_fen"), payer_amount=stored.get("payer_amount_fen"),
            currency=stored.get("currency"), bank_type=stored.get("bank_type"),
            payer_openid=stored.get("payer_openid"), success_time=success_time,
        )  # fmt: skip
    return RefundFacts(
        out_trade_no=stored.get("out_trade_no"), out_refund_no=stored.get("out_refund_no"),
        refund_id=stored.get("refund_id"), refund_status=stored.get("refund_status"),
        amount=stored.get("refund_fen"), total=stored.get("total_fen"), success_time=success_time,
    )  # fmt: skip
