"""The typed events of ``GET /v1/orders/{id}/events``: one schema per ``type``, told apart by ``type``.

Times are ISO 8601 UTC (``at``), amounts integer fen, ids as elsewhere in the API: ``refund`` is our refund id
(``rfd_…``), ``refund_id`` WeChat's. Notification facts are what WeChat's verified (and, for v3, decrypted)
message said, redacted: the payer's openid is masked; ``facts`` is null for notifications stored before weipay
kept them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PaymentFacts", "RefundFacts", "TimelineEventOut"]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: str = Field(description="when, ISO 8601 UTC")


class OrderCreated(_Event):
    """The order was created."""

    type: Literal["order.created"]
    merchant_order_no: str
    amount: int
    currency: str
    description: str


class OrderEnded(_Event):
    """The order was closed (by the merchant) or expired unpaid."""

    type: Literal["order.closed", "order.expired"]


class PaymentStarted(_Event):
    """A payment attempt (one WeChat order, ``out_trade_no``) was started on a channel."""

    type: Literal["payment.started"]
    seq: int
    out_trade_no: str
    channel: str
    api: str


class PaymentSucceeded(_Event):
    """The attempt was paid (WeChat's ``transaction_id``)."""

    type: Literal["payment.succeeded"]
    seq: int
    out_trade_no: str
    transaction_id: str | None = None
    amount: int


class PaymentEnded(_Event):
    """The attempt failed or was closed at WeChat."""

    type: Literal["payment.failed", "payment.closed"]
    seq: int
    out_trade_no: str
    trade_state: str | None = None
    error_code: str | None = None


class WeChatCall(_Event):
    """weipay called WeChat (bodies: ``GET /v1/orders/{id}/calls``)."""

    type: Literal["wechat.call"]
    api: str
    endpoint: str
    outcome: str = Field(description="ok, refused or unknown")
    http_status: int | None = None
    wechat_code: str | None = None
    latency_ms: int | None = None
    request_id: str | None = None


class PaymentFacts(BaseModel):
    """What a verified payment notification said (payer masked)."""

    model_config = ConfigDict(extra="forbid")
    out_trade_no: str | None = None
    transaction_id: str | None = None
    trade_state: str | None = None
    trade_type: str | None = None
    amount: int | None = None
    payer_amount: int | None = Field(default=None, description="what the payer paid (less than amount with coupons)")
    currency: str | None = None
    bank_type: str | None = None
    payer_openid: str | None = Field(default=None, description="masked: first and last four characters")
    success_time: str | None = None


class RefundFacts(BaseModel):
    """What a verified refund notification said."""

    model_config = ConfigDict(extra="forbid")
    out_trade_no: str | None = None
    out_refund_no: str | None = None
    refund_id: str | None = None
    refund_status: str | None = None
    amount: int | None = None
    total: int | None = None
    success_time: str | None = None


class NotificationReceived(_Event):
    """WeChat's notification arrived and was verified (each WeChat event id once, however often delivered)."""

    type: Literal["notification.received"]
    event_id: str
    api: str
    kind: Literal["payment", "refund"]
    facts: PaymentFacts | RefundFacts | None = None


class NotificationOutcome(_Event):
    """What applying the notification did: applied; duplicate (the fact was already known, e.g. from a query);
    double_payment (a second attempt paid: refunded automatically); anomaly (it contradicts our records: stored,
    not applied); ignored (nothing final to apply)."""

    type: Literal["notification.applied", "notification.duplicate", "notification.double_payment",
                  "notification.anomaly", "notification.ignored"]  # fmt: skip
    event_id: str


class RefundRequested(_Event):
    """A refund was requested (``kind``: merchant, auto for a double payment, external for one made elsewhere)."""

    type: Literal["refund.requested"]
    refund: str
    out_refund_no: str
    merchant_refund_no: str | None = None
    amount: int
    reason: str | None = None
    kind: str


class RefundSubmitted(_Event):
    """The refund was sent to WeChat."""

    type: Literal["refund.submitted"]
    refund: str
    out_refund_no: str


class RefundSucceeded(_Event):
    """The money went back to the payer."""

    type: Literal["refund.succeeded"]
    refund: str
    out_refund_no: str
    refund_id: str | None = None
    amount: int


class RefundFailed(_Event):
    """The refund failed (its amount is refundable again)."""

    type: Literal["refund.failed"]
    refund: str
    out_refund_no: str
    error_code: str | None = None


class RefundRejected(_Event):
    """An operator rejected the refund request."""

    type: Literal["refund.rejected"]
    refund: str
    out_refund_no: str
    rejection_reason: str | None = None


class RefundAbnormal(_Event):
    """WeChat could not pay the refund into the payer's account: it needs manual handling."""

    type: Literal["refund.abnormal"]
    refund: str
    out_refund_no: str
    refund_id: str | None = None


class RefundResolved(_Event):
    """An operator recorded how an abnormal v2 refund was settled outside WeChat."""

    type: Literal["refund.resolved"]
    refund: str | None = None
    outcome: str
    note: str | None = None
    by: str | None = None


class ShippingSubmitted(_Event):
    """Mini-program shipping information was submitted (by the merchant, or ``automatic`` for virtual goods)."""

    type: Literal["shipping.submitted"]
    logistics_type: str
    packages: int
    automatic: bool


class ShippingUploaded(_Event):
    """The mini-program platform recorded the shipping information (``uploads``: 2 after one change)."""

    type: Literal["shipping.uploaded"]
    uploads: int


class ShippingFailed(_Event):
    """The platform refused the shipping information for good (WeChat's ``error_code``)."""

    type: Literal["shipping.failed"]
    error_code: str | None = None
    message: str | None = None


class ShippingReceiptConfirmed(_Event):
    """The buyer (or the platform, after its wait) confirmed receipt; ``settled`` once the funds were released."""

    type: Literal["shipping.receipt_confirmed"]
    settled: bool


class AnomalyRecorded(_Event):
    """Something that must be seen and was not applied (a mismatching notification, a double payment...)."""

    type: Literal["anomaly.recorded"]
    anomaly: int | None = None
    kind: str
    occurrences: int
    resolved: bool
    detail: dict[str, Any]


class WebhookEvent(_Event):
    """A webhook to the merchant's business system (``GET /v1/orders/{id}/webhooks`` has its attempts): scheduled
    (waiting or retrying), delivered (answered 2xx), failed (its schedule ran out: redeliver it), skipped (no
    ``webhook_url`` was configured)."""

    type: Literal["webhook.scheduled", "webhook.delivered", "webhook.failed", "webhook.skipped"]
    event: str
    event_id: str | None = None
    delivery: int | None = None
    attempts: int
    http_status: int | None = None
    last_error: str | None = None


class AlertSentOut(_Event):
    """An alert about this order reached a sink (a storm is one message with a count: ``messages`` so far)."""

    type: Literal["alert.sent"]
    kind: str
    severity: str
    title: str
    sink: str
    messages: int


TimelineEventOut = Annotated[
    OrderCreated | OrderEnded | PaymentStarted | PaymentSucceeded | PaymentEnded | WeChatCall
    | NotificationReceived | NotificationOutcome | RefundRequested | RefundSubmitted | RefundSucceeded
    | RefundFailed | RefundRejected | RefundAbnormal | RefundResolved | ShippingSubmitted | ShippingUploaded
    | ShippingFailed | ShippingReceiptConfirmed | AnomalyRecorded | WebhookEvent | AlertSentOut,
    Field(discriminator="type"),
]
