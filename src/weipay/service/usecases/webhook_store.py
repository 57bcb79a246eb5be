"""What the merchant webhooks keep: one delivery per event (the event body as first written, its status and
schedule) and one row per attempt to send it, and the store holding them.

A delivery is ``pending`` (waiting for its next attempt, or for an earlier delivery of its order),
``delivered`` (answered 2xx), ``failed`` (its schedule ran out; an operator may redeliver it) or ``skipped``
(the merchant has no ``webhook_url``: nothing was sent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "DELIVERED",
    "FAILED",
    "PENDING",
    "SKIPPED",
    "NewWebhookAttempt",
    "NewWebhookDelivery",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookStore",
]

PENDING, DELIVERED, FAILED, SKIPPED = "pending", "delivered", "failed", "skipped"


@dataclass(frozen=True, slots=True)
class NewWebhookDelivery:
    """An event to deliver, written in the transaction of the state change it reports.

    ``dedupe_key`` names the fact (``order.paid:<order id>``): a fact applied twice makes one event.
    """

    event_id: str
    event_type: str
    mchid: str
    order_id: str
    dedupe_key: str
    body: str  # the event object as JSON text: sent byte for byte on every attempt
    created_at: float
    refund_id: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """A stored delivery. ``attempts`` counts every attempt logged; ``scheduled_attempts`` those since it was
    last (re)scheduled, which is what the retry schedule reads (a redelivery starts the schedule afresh)."""

    id: int
    event_id: str
    event_type: str
    mchid: str
    order_id: str
    refund_id: str | None
    dedupe_key: str
    body: str
    status: str
    attempts: int
    scheduled_attempts: int
    next_attempt_at: float | None
    last_error: str | None
    last_http_status: int | None
    created_at: float
    updated_at: float
    finished_at: float | None


@dataclass(frozen=True, slots=True)
class NewWebhookAttempt:
    """One POST to the merchant: its outcome, answer and time taken (never the signature or the secret)."""

    delivery_id: int
    attempt: int
    outcome: str  # succeeded | failed
    latency_ms: int
    created_at: float
    http_status: int | None = None
    error: str | None = None  # http_503, or the transport error's type (ConnectTimeout)
    response_excerpt: str | None = None
    manual: bool = False  # the first attempt after an operator's redelivery


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """A stored attempt."""

    id: int
    delivery_id: int
    attempt: int
    outcome: str
    http_status: int | None
    error: str | None
    latency_ms: int
    response_excerpt: str | None
    manual: bool
    created_at: float


class WebhookStore(Protocol):
    """Deliveries and their attempts."""

    def add_many(self, deliveries: Sequence[NewWebhookDelivery]) -> set[str]:
        """Store each delivery whose ``dedupe_key`` is new; the keys stored by this call."""
        ...

    def get(self, delivery_id: int) -> WebhookDelivery | None:
        """A delivery by id."""
        ...

    def by_key(self, dedupe_key: str) -> WebhookDelivery | None:
        """The delivery of the fact ``dedupe_key``."""
        ...

    def for_order(self, order_id: str) -> list[WebhookDelivery]:
        """An order's deliveries in the order they are delivered (oldest first)."""
        ...

    def pending_before(self, delivery: WebhookDelivery) -> WebhookDelivery | None:
        """The first still pending delivery of the same order that was written before ``delivery``."""
        ...

    def pending_after(self, delivery: WebhookDelivery) -> WebhookDelivery | None:
        """The first still pending delivery of the same order written after ``delivery``."""
        ...

    def update(self, delivery_id: int, expected: Mapping[str, Any], /, **changes: Any) -> bool:
        """Apply ``changes`` if the row still has the ``expected`` column values; True if this call won."""
        ...

    def add_attempt(self, attempt: NewWebhookAttempt) -> None:
        """Log one attempt."""
        ...

    def attempts_for(self, delivery_ids: Sequence[int]) -> dict[int, list[WebhookAttempt]]:
        """The attempts of these deliveries, oldest first, by delivery id."""
        ...
