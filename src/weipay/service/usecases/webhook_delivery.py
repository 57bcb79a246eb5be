"""Delivering merchant webhooks: one attempt at a time, on a schedule of at least three days, in order per order.

The ``deliver_webhook`` job runs :func:`deliver_webhook` with the event's key. An attempt is a signed POST of the
stored event body (``X-Weipay-Signature``, see ``domain.webhook_signature``); any 2xx delivers it. Every attempt
is logged (outcome, HTTP status, latency, an excerpt of the answer) in the same transaction that moves the
delivery. A failed attempt is retried after :data:`RETRY_DELAYS_S` (1 min growing to 30 h: the 12th and last
attempt comes 3 days 3 h after the first); when they are used up the delivery is ``failed``, a
``webhook_failed`` alert is raised in that transaction, and an operator may :func:`redeliver_webhook` it.

Order per order: a delivery waits while an earlier delivery of its order is still pending, so a receiver never
hears ``order.refunded`` before ``order.paid``. A delivery that ends (delivered, failed or skipped) wakes the next
one of its order at once. A job that waits is polling, not failing: the job queue counts nothing for it, and
the delivery row is the one place attempts are counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from weipay.service.domain import Conflict, NotFound
from weipay.service.domain.webhook_signature import sign_webhook

from .alerting import Severity, raise_alert
from .outbox import DELIVER_WEBHOOK, webhook_job
from .ports import Clock, MerchantConfig, UnitOfWork
from .stores import Stores
from .webhook_events import WebhookEvent, emit_webhooks
from .webhook_store import DELIVERED, FAILED, PENDING, SKIPPED, NewWebhookAttempt, WebhookAttempt, WebhookDelivery

__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_DELAYS_S",
    "DeliveryStep",
    "DeliveryWithAttempts",
    "WebhookReply",
    "WebhookSender",
    "deliver_webhook",
    "redeliver_webhook",
    "webhook_deliveries_for_order",
]

log = logging.getLogger("weipay.service.webhooks")

# The wait after each failed attempt: increasing, 11 waits for 12 attempts, 3 days 3 h 51 min in all.
RETRY_DELAYS_S: tuple[int, ...] = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 64800, 108000)
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1
_EXCERPT_CHARS = 256
_WAIT_FOR_EARLIER_S = 30.0  # a delivery waiting for an earlier one looks again at least this late (it is woken sooner)


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """What the merchant's system answered: its HTTP status and the start of its body."""

    status: int
    text: str = field(default="", repr=False)


#: (url, body, headers) -> the reply (a bare status code is a reply without a body); raises on transport failure.
WebhookSender = Callable[[str, bytes, dict[str, str]], "WebhookReply | int"]


@dataclass(frozen=True, slots=True)
class DeliveryStep:
    """What one run of a delivery's job did: ``retry_at`` is when to run again (None: the delivery ended or is
    not this job's any more); ``failed_attempt`` and ``error`` name an attempt just made that failed."""

    retry_at: float | None = None
    failed_attempt: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryWithAttempts:
    """A delivery and its attempts, oldest first."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def deliver_webhook(
    uow: UnitOfWork,
    clock: Clock,
    merchant: MerchantConfig | None,
    sender: WebhookSender | None,
    key: str,
    *,
    legacy: Mapping[str, str] | None = None,
) -> DeliveryStep:
    """Make one attempt at the delivery of ``key`` if it is its turn, and say when to come back.

    ``legacy`` is the payload of a job written before deliveries were stored (``order_id``, ``event``): its event
    is written from the order as it stands now, then delivered like any other.
    """
    with uow.read() as tx:
        delivery = tx.webhooks.by_key(key)
    if delivery is None and legacy is not None:
        delivery = _adopt_legacy(uow, clock, key, legacy)
    if delivery is None or delivery.status != PENDING:
        return DeliveryStep()
    now = clock()
    if merchant is None or not merchant.webhook_url or sender is None:
        with uow.write() as tx:
            _end(tx, delivery, SKIPPED, now, last_error="no webhook_url configured")
        return DeliveryStep()
    with uow.read() as tx:
        earlier = tx.webhooks.pending_before(delivery)
    if earlier is not None:
        return DeliveryStep(max(now + _WAIT_FOR_EARLIER_S, earlier.next_attempt_at or now))
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
        return DeliveryStep(delivery.next_attempt_at)  # woken early (an earlier delivery ended): keep the schedule
    return _attempt(uow, clock, merchant, sender, delivery)


def _attempt(
    uow: UnitOfWork, clock: Clock, merchant: MerchantConfig, sender: WebhookSender, delivery: WebhookDelivery
) -> DeliveryStep:
    assert merchant.webhook_url is not None
    body = delivery.body.encode()
    headers = {
        "content-type": "application/json; charset=utf-8",
        "user-agent": "weipay-webhooks/1",
        "x-weipay-event-id": delivery.event_id,
        "x-weipay-event-type": delivery.event_type,
    }
    signature = None
    if merchant.webhook_secret:
        signature = sign_webhook(merchant.webhook_secret, int(clock()), body)
        headers["x-weipay-signature"] = signature
    started = time.perf_counter()
    status: int | None = None
    text = ""
    error: str | None = None
    try:
        reply = sender(merchant.webhook_url, body, headers)
        status, text = (reply.status, reply.text) if isinstance(reply, WebhookReply) else (int(reply), "")
    except Exception as failure:  # the merchant's system is down, slow or unreachable: an attempt that failed
        error = type(failure).__name__  # never the message: it may quote the URL and its query string
    latency_ms = round((time.perf_counter() - started) * 1000)
    succeeded = status is not None and 200 <= status < 300
    if status is not None and not succeeded:
        error = f"http_{status}"
    excerpt = _excerpt(text, (merchant.webhook_secret, signature))
    return _record(uow, clock, delivery, succeeded=succeeded, status=status, error=error, latency_ms=latency_ms,
                   excerpt=excerpt)  # fmt: skip


def _record(
    uow: UnitOfWork, clock: Clock, delivery: WebhookDelivery, *, succeeded: bool, status: int | None,
    error: str | None, latency_ms: int, excerpt: str | None,
) -> DeliveryStep:  # fmt: skip
    """Log the attempt and move the delivery: delivered, retried later, or failed (with its alert)."""
    now = clock()
    number = delivery.attempts + 1
    scheduled = delivery.scheduled_attempts + 1
    manual = delivery.scheduled_attempts == 0 and delivery.attempts > 0
    next_at: float | None = None
    with uow.write() as tx:
        tx.webhooks.add_attempt(NewWebhookAttempt(
            delivery_id=delivery.id, attempt=number, outcome="succeeded" if succeeded else "failed",
            latency_ms=latency_ms, created_at=now, http_status=status, error=error, response_excerpt=excerpt,
            manual=manual,
        ))  # fmt: skip
        expected = {"status": PENDING, "attempts": delivery.attempts, "scheduled_attempts": delivery.scheduled_attempts}
        counts = {"attempts": number, "scheduled_attempts": scheduled, "last_http_status": status}
        if succeeded:
            ended = _end(tx, delivery, DELIVERED, now, expected=expected, **counts)
        elif scheduled >= MAX_ATTEMPTS:
            ended = _end(tx, delivery, FAILED, now, expected=expected, last_error=error, **counts)
            if ended:
                _alert_failed(tx, delivery, now, attempts=number, error=error, status=status)
        else:
            next_at = now + RETRY_DELAYS_S[scheduled - 1]
            ended = tx.webhooks.update(delivery.id, expected, next_attempt_at=next_at, last_error=error,
                                       updated_at=now, **counts)  # fmt: skip
    if not ended:
        return DeliveryStep()  # an operator redelivered it meanwhile: the redelivery's job carries on
    if next_at is None and not succeeded:
        log.error("webhook %s (%s) of order %s failed for good after %s attempts (%s): an alert is raised; "
                  "redeliver it with POST /v1/webhook-deliveries/%s/redeliver", delivery.event_id,
                  delivery.event_type, delivery.order_id, number, error, delivery.id,
                  extra={"order_id": delivery.order_id, "attempt": number, "error": error})  # fmt: skip
    if next_at is None:
        return DeliveryStep()
    return DeliveryStep(next_at, failed_attempt=number, error=error)


def _end(
    tx: Stores, delivery: WebhookDelivery, status: str, now: float, *,
    expected: Mapping[str, object] | None = None, **changes: object,
) -> bool:  # fmt: skip
    """Move the delivery to ``status`` and wake the next delivery of its order; False if it changed meanwhile."""
    won = tx.webhooks.update(
        delivery.id, expected or {"status": PENDING}, status=status, next_attempt_at=None, finished_at=now,
        updated_at=now, **changes,
    )  # fmt: skip
    if won:
        after = tx.webhooks.pending_after(delivery)
        if after is not None:
            _wake(tx, after, now)
    return won


def _wake(tx: Stores, delivery: WebhookDelivery, now: float) -> None:
    """Make the delivery's job due now (its own schedule still decides whether it sends)."""
    job = webhook_job(delivery.mchid, delivery.order_id, delivery.event_type, now=now, key=delivery.dedupe_key)
    tx.jobs.enqueue(DELIVER_WEBHOOK, dict(job.payload), due_at=now, now=now, dedupe_key=job.dedupe_key,
                    order_id=delivery.order_id, rearm=True)  # fmt: skip


def _alert_failed(
    tx: Stores, delivery: WebhookDelivery, now: float, *, attempts: int, error: str | None, status: int | None
) -> None:
    """A final failure is never silent: the operators hear of it, with what to redeliver (no URL: it may hold a
    token)."""
    raise_alert(
        tx, f"webhook_failed:{delivery.mchid}", kind="webhook_failed", severity=Severity.ERROR,
        title="商户 webhook 投递失败(已停止重试,可手动重发)", now=now, mchid=delivery.mchid, order_id=delivery.order_id,
        detail={"delivery_id": delivery.id, "event_id": delivery.event_id, "event_type": delivery.event_type,
                "attempts": attempts, "last_error": error, "http_status": status},
    )  # fmt: skip


def _excerpt(text: str, secrets: tuple[str | None, ...]) -> str | None:
    """The start of the merchant's answer, for operators: cut short, and never our secret or signature, which a
    receiver might echo back in an error page."""
    if not text:
        return None
    excerpt = text[: _EXCERPT_CHARS * 4]
    for secret in secrets:
        if secret:
            excerpt = excerpt.replace(secret, "[redacted]")
    excerpt = "".join(char if char.isprintable() else " " for char in excerpt)
    return excerpt[:_EXCERPT_CHARS]


def _adopt_legacy(uow: UnitOfWork, clock: Clock, key: str, legacy: Mapping[str, str]) -> WebhookDelivery | None:
    """Write the event of a job queued before revision 0011 (it named only the event and the order)."""
    with uow.write() as tx:
        order = tx.orders.get(str(legacy.get("order_id", "")))
        if order is None or legacy.get("event") is None:
            return None
        try:
            # The running job delivers it: no second job (two jobs would send it twice).
            emit_webhooks(tx, [WebhookEvent(str(legacy["event"]), order, key)], now=clock(), with_jobs=False)
        except ValueError:
            return None  # an event type this version no longer sends
        return tx.webhooks.by_key(key)


def webhook_deliveries_for_order(
    uow: UnitOfWork, order_id: str, mchid: str | None = None
) -> list[DeliveryWithAttempts]:
    """The order's deliveries with their attempts, in delivery order (``order_not_found``, also for another
    merchant's order)."""
    with uow.read() as tx:
        order = tx.orders.get(order_id)
        if order is None or (mchid is not None and order.mchid != mchid):
            raise NotFound("order_not_found", f"no order {order_id[:48]!r}")
        deliveries = tx.webhooks.for_order(order.id)
        attempts = tx.webhooks.attempts_for([delivery.id for delivery in deliveries])
    return [DeliveryWithAttempts(delivery, attempts[delivery.id]) for delivery in deliveries]


def redeliver_webhook(
    uow: UnitOfWork, clock: Clock, delivery_id: int, mchid: str | None = None, *, operator: str
) -> DeliveryWithAttempts:
    """Send a delivery again now, with a fresh schedule (the same event: same id, same body).

    Any delivery may be redelivered: a failed one gets its three days again, a delivered one is sent once more
    (receivers deduplicate on the event id), a pending one is sent now. It still waits for an earlier pending
    delivery of its order. ``webhook_delivery_not_found`` also for another merchant's delivery.
    """
    now = clock()
    with uow.write() as tx:
        delivery = tx.webhooks.get(delivery_id)
        if delivery is None or (mchid is not None and delivery.mchid != mchid):
            raise NotFound("webhook_delivery_not_found", f"no webhook delivery {delivery_id}")
        expected = {"status": delivery.status, "attempts": delivery.attempts}
        if not tx.webhooks.update(delivery.id, expected, status=PENDING, scheduled_attempts=0, next_attempt_at=now,
                                  finished_at=None, updated_at=now):  # fmt: skip
            raise Conflict("webhook_delivery_busy", "the delivery is being attempted right now; retry in a moment")
        _wake(tx, delivery, now)
        current = tx.webhooks.get(delivery.id)
        attempts = tx.webhooks.attempts_for([delivery.id])[delivery.id]
    assert current is not None
    log.info("webhook delivery %s (%s) redelivered by %s", delivery.id, delivery.event_type, operator,
             extra={"order_id": delivery.order_id})  # fmt: skip
    return DeliveryWithAttempts(current, attempts)
