"""Job kinds and the helpers that write them in the caller's transaction (the outbox).

The worker (``weipay.service.jobs``) maps each kind to a use case. Keys make follow-ups unique:
one webhook per order event (written with its stored event by ``webhook_events.emit_webhook``), one
automatic refund per double-paid attempt.
"""

from __future__ import annotations

from .ports import Stores
from .stores import NewJob

__all__ = [
    "AUTO_REFUND",
    "DELIVER_WEBHOOK",
    "EXPIRE_ORDER",
    "QUERY_ATTEMPT",
    "SYNC_REFUND",
    "schedule_auto_refund",
    "schedule_expiry",
    "schedule_query",
    "schedule_refund_sync",
    "schedule_superseded_close",
    "shipping_after_payment_job",
    "webhook_job",
]

QUERY_ATTEMPT = "query_attempt"
EXPIRE_ORDER = "expire_order"
SYNC_REFUND = "sync_refund"
DELIVER_WEBHOOK = "deliver_webhook"
AUTO_REFUND = "auto_refund"


def schedule_query(tx: Stores, attempt_id: str, order_id: str, *, due_at: float, now: float) -> None:
    """Query the attempt at ``due_at`` (or sooner if a query is already due earlier)."""
    tx.jobs.enqueue(
        QUERY_ATTEMPT,
        {"attempt_id": attempt_id},
        due_at=due_at,
        now=now,
        dedupe_key=f"{QUERY_ATTEMPT}:{attempt_id}",
        order_id=order_id,
        rearm=True,
    )


def schedule_expiry(tx: Stores, order_id: str, *, due_at: float, now: float) -> None:
    """Close the order at WeChat and locally when it expires unpaid."""
    tx.jobs.enqueue(
        EXPIRE_ORDER,
        {"order_id": order_id},
        due_at=due_at,
        now=now,
        dedupe_key=f"{EXPIRE_ORDER}:{order_id}",
        order_id=order_id,
        rearm=True,
    )


def schedule_superseded_close(tx: Stores, attempt_id: str, order_id: str, *, due_at: float, now: float) -> None:
    """Close a superseded attempt once WeChat allows it (an expiry/close job of its own, keyed by attempt,
    so it neither moves nor is moved by the order's expiry)."""
    tx.jobs.enqueue(
        EXPIRE_ORDER,
        {"order_id": order_id, "attempt_id": attempt_id},
        due_at=due_at,
        now=now,
        dedupe_key=f"{EXPIRE_ORDER}:{order_id}:close:{attempt_id}",
        order_id=order_id,
        rearm=True,
    )


def schedule_refund_sync(tx: Stores, refund_id: str, order_id: str, *, due_at: float, now: float) -> None:
    """Submit (if never acknowledged) or query the refund at ``due_at``."""
    tx.jobs.enqueue(
        SYNC_REFUND,
        {"refund_id": refund_id},
        due_at=due_at,
        now=now,
        dedupe_key=f"{SYNC_REFUND}:{refund_id}",
        order_id=order_id,
        rearm=True,
    )


def webhook_job(mchid: str, order_id: str, event: str, *, now: float, key: str) -> NewJob:
    """The job delivering the stored event of the fact ``key`` (see ``webhook_events``: write events with
    ``emit_webhook``, which writes this job too)."""
    return NewJob(
        DELIVER_WEBHOOK,
        {"mchid": mchid, "order_id": order_id, "event": event, "key": key, "stored_event": True},
        due_at=now,
        created_at=now,
        dedupe_key=f"{DELIVER_WEBHOOK}:{key}",
        order_id=order_id,
    )


def shipping_after_payment_job(order_id: str, *, now: float) -> NewJob:
    """The follow-up of a paid mini-program order: automatic virtual upload, deadline check (``usecases.shipping``)."""
    kind = "shipping_after_payment"
    return NewJob(kind, {"order_id": order_id}, due_at=now, created_at=now, dedupe_key=f"{kind}:{order_id}",
                  order_id=order_id)


def schedule_auto_refund(tx: Stores, attempt_id: str, order_id: str, *, now: float) -> bool:
    """Refund a second successful attempt of an already paid order (once per attempt)."""
    return tx.jobs.enqueue(
        AUTO_REFUND,
        {"attempt_id": attempt_id},
        due_at=now,
        now=now,
        dedupe_key=f"{AUTO_REFUND}:{attempt_id}",
        order_id=order_id,
    )
