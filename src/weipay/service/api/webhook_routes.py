"""``GET /v1/orders/{id}/webhooks`` and ``POST /v1/webhook-deliveries/{id}/redeliver``: the merchant webhooks of an
order, every attempt, and resending one.

A merchant key sees and redelivers its own orders' deliveries only (another merchant's are 404, ids do not leak);
an admin key any (the scope of ``/v1/jobs``). A user's login token is refused (403 ``merchant_only``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict

from .. import usecases
from ..usecases.webhook_store import WebhookAttempt, WebhookDelivery
from .schemas import ErrorOut
from .state import ApiState
from .times import iso

__all__ = ["WebhookAttemptOut", "WebhookDeliveriesOut", "WebhookDeliveryOut", "build_webhook_router"]

_MAX_ID = 2**31 - 1  # webhook_deliveries.id is a 32-bit INTEGER on PostgreSQL: a bigger id is a 422, not a 500

_ATTEMPT_EXAMPLE: dict[str, Any] = {
    "attempt": 1, "at": "2026-11-23T01:19:41Z", "outcome": "failed", "http_status": 503, "error": "http_503",
    "latency_ms": 212, "response_excerpt": "<html><body>502 Bad Gateway</body></html>", "manual": False,
}  # fmt: skip
_DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": 81, "event_id": "evt_5f0c1a9e2b7d4c3f8a6e1d20", "type": "order.paid",
    "order_id": "ord_0f3c9a1b2d4e5f60718293a4",
    "refund_id": None, "status": "pending", "attempts": 1, "next_attempt_at": "2026-11-23T01:20:41Z",
    "last_http_status": 503, "last_error": "http_503", "created_at": "2026-11-23T01:19:40Z", "finished_at": None,
    "history": [_ATTEMPT_EXAMPLE],
}  # fmt: skip


class WebhookAttemptOut(BaseModel):
    """One POST to the merchant's ``webhook_url``: ``outcome`` succeeded (any 2xx) or failed (``error``:
    ``http_<status>`` or the transport error, e.g. ``ConnectTimeout``); the start of the answer (256 characters)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_ATTEMPT_EXAMPLE]})
    attempt: int
    at: str
    outcome: str
    http_status: int | None
    error: str | None
    latency_ms: int
    response_excerpt: str | None
    manual: bool


class WebhookDeliveryOut(BaseModel):
    """One event and its delivery: ``pending`` (waiting for its next attempt, or for an earlier event of the order),
    ``delivered``, ``failed`` (12 attempts over 3 days all failed: redeliver it) or ``skipped`` (no
    ``webhook_url``). ``history`` lists the attempts, oldest first."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_DELIVERY_EXAMPLE]})
    id: int
    event_id: str
    type: str
    order_id: str
    refund_id: str | None
    status: str
    attempts: int
    next_attempt_at: str | None
    last_http_status: int | None
    last_error: str | None
    created_at: str
    finished_at: str | None
    history: list[WebhookAttemptOut]


class WebhookDeliveriesOut(BaseModel):
    """An order's webhook deliveries, in the order they are delivered."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"order_id": _DELIVERY_EXAMPLE["order_id"], "deliveries": [_DELIVERY_EXAMPLE]}]})  # fmt: skip
    order_id: str
    deliveries: list[WebhookDeliveryOut]


def _attempt_out(attempt: WebhookAttempt) -> WebhookAttemptOut:
    return WebhookAttemptOut(
        attempt=attempt.attempt, at=str(iso(attempt.created_at)), outcome=attempt.outcome,
        http_status=attempt.http_status, error=attempt.error, latency_ms=attempt.latency_ms,
        response_excerpt=attempt.response_excerpt, manual=attempt.manual,
    )  # fmt: skip


def delivery_out(found: usecases.DeliveryWithAttempts) -> WebhookDeliveryOut:
    """A delivery with its attempts."""
    delivery: WebhookDelivery = found.delivery
    return WebhookDeliveryOut(
        id=delivery.id, event_id=delivery.event_id, type=delivery.event_type, order_id=delivery.order_id,
        refund_id=delivery.refund_id, status=delivery.status, attempts=delivery.attempts,
        next_attempt_at=iso(delivery.next_attempt_at),
        last_http_status=delivery.last_http_status, last_error=delivery.last_error,
        created_at=str(iso(delivery.created_at)),
        finished_at=iso(delivery.finished_at),
        history=[_attempt_out(attempt) for attempt in found.attempts],
    )  # fmt: skip


def _scope(request: Request) -> str | None:
    """The caller's merchant (a merchant key), or None for an admin key (every merchant)."""
    state: ApiState = request.app.state.api
    scope = state.authenticator.job_scope(request)
    if scope is None:
        return None
    (mchid,) = scope
    return mchid


def build_webhook_router() -> APIRouter:
    """The two webhook routes under ``/v1``."""
    router = APIRouter(prefix="/v1", tags=["webhooks"],
                       responses={status: {"model": ErrorOut} for status in (401, 403, 404, 409, 422)})  # fmt: skip

    @router.get("/orders/{order_id}/webhooks", response_model=WebhookDeliveriesOut,
                summary="The order's webhook deliveries, each with every attempt (status, latency, answer excerpt)")
    def order_webhooks(order_id: str, request: Request) -> WebhookDeliveriesOut:
        state: ApiState = request.app.state.api
        found = usecases.webhook_deliveries_for_order(state.services.uow, order_id, _scope(request))
        return WebhookDeliveriesOut(order_id=order_id, deliveries=[delivery_out(item) for item in found])

    @router.post("/webhook-deliveries/{delivery_id}/redeliver", response_model=WebhookDeliveryOut,
                 summary="Send a webhook again now, with a fresh 3-day schedule (same event id and body)")
    def redeliver(delivery_id: Annotated[int, Path(ge=1, le=_MAX_ID)], request: Request) -> WebhookDeliveryOut:
        state: ApiState = request.app.state.api
        services = state.services
        found = usecases.redeliver_webhook(services.uow, services.clock, delivery_id, _scope(request), operator="api")
        return delivery_out(found)

    return router
