"""Request and response bodies of the HTTP API, each with an OpenAPI example.

Amounts are integer fen (``StrictInt``: floats, strings and booleans are refused with ``invalid_amount``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from .options_schemas import OrderOptionsIn
from .shipping_schemas import ShippingOut
from .timeline_schemas import TimelineEventOut

__all__ = [
    "AbnormalRefundIn",
    "AmountFen",
    "AttemptOut",
    "CallLogEntry",
    "CallsOut",
    "CreateOrderIn",
    "CreateRefundIn",
    "ErrorBody",
    "ErrorOut",
    "EventsOut",
    "LoginIn",
    "LoginOut",
    "OrderOut",
    "PaymentIn",
    "PaymentOut",
    "RefundOut",
    "RejectRefundIn",
    "ResolveRefundIn",
]

MAX_AMOUNT_FEN = 10_000_000_000  # 100 million yuan: far above any single WeChat payment
AmountFen = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT_FEN, description="integer fen (1 yuan = 100)")]
Channel = Literal["jsapi", "miniprogram", "native", "app", "h5"]
ApiVersion = Literal["v2", "v3"]


def _example(**example: Any) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


class ErrorBody(BaseModel):
    """A machine-readable code and a human message."""

    code: str
    message: str
    detail: dict[str, Any] | None = Field(
        default=None, description="facts for a program, e.g. refundable_fen, earliest_close_at, retry_after_s"
    )


class ErrorOut(BaseModel):
    """Every 4xx answer: ``{"error": {"code", "message", "detail"?}}``."""

    model_config = _example(error={"code": "order_not_found", "message": "no order 01J9Z3..."})
    error: ErrorBody


class LoginIn(BaseModel):
    """A login code to exchange: a mini-program's (``wx.login``), an official account's (the ``code`` of the
    web-login redirect) or an app's (``SendAuth``); ``appid`` says which, and so which WeChat API is asked."""

    model_config = _example(appid="wx8888888888888888", code="0a3Xyz000aBcDe1FgH2iJk3LmN4oPq5r")
    appid: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=1, max_length=128)


class LoginOut(BaseModel):
    """The user's openid and a bearer token for the frontend; the session_key stays on the server."""

    model_config = _example(openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", token="u_4bG3...")  # noqa: S106 (an example, not a secret)
    openid: str
    token: str


class CreateOrderIn(BaseModel):
    """A business order to collect ``amount`` fen for."""

    model_config = _example(
        merchant_order_no="SO-20261123-0001",
        amount=1999,
        currency="CNY",
        description="Weipay mug",
        attach="shop=12",
        expire_in_s=1800,
        payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    )
    merchant_order_no: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")
    amount: AmountFen
    currency: Literal["CNY"] = "CNY"
    description: str = Field(min_length=1, max_length=127)
    attach: str | None = Field(default=None, max_length=127)
    expire_in_s: StrictInt = Field(
        default=7200, ge=300, le=7 * 24 * 3600, description="seconds until the order expires (WeChat: at least 300)"
    )
    payer_openid: str | None = Field(default=None, max_length=128)
    options: OrderOptionsIn | None = Field(
        default=None, description="goods, coupon tag, store, invoice entry… sent to WeChat with every payment attempt"
    )


class AttemptOut(BaseModel):
    """One payment attempt: its own WeChat out_trade_no on one channel and API version."""

    seq: int
    out_trade_no: str
    channel: str
    api: str
    status: str
    transaction_id: str | None = None
    created_at: str | None = None


class RefundOut(BaseModel):
    """A refund and where it stands (requested, approved, processing, succeeded, failed, rejected, abnormal).

    ``abnormal``: WeChat could not pay it back and holds the money (still reserved) until it is redirected
    (``POST /v1/refunds/{id}/abnormal-refund``, v3) or resolved (``POST /v1/refunds/{id}/resolve``, v2).
    ``kind`` is ``external`` for a refund made outside weipay that WeChat told us about."""

    model_config = _example(
        id="rf_01J9Z4",
        order_id="or_01J9Z3",
        merchant_refund_no="RF-0001",
        out_refund_no="rf_01J9Z4",
        amount=500,
        reason="damaged",
        status="processing",
        rejection_reason=None,
        refund_id=None,
        created_at="2026-11-23T01:20:00Z",
    )
    id: str
    order_id: str
    merchant_refund_no: str
    out_refund_no: str
    amount: int
    reason: str | None = None
    status: str
    rejection_reason: str | None = None
    refund_id: str | None = None
    created_at: str | None = None
    kind: str = "merchant"


class OrderOut(BaseModel):
    """An order with its attempts and refunds."""

    model_config = _example(
        id="or_01J9Z3",
        mchid="1230000109",
        merchant_order_no="SO-20261123-0001",
        amount=1999,
        currency="CNY",
        description="Weipay mug",
        attach="shop=12",
        status="paid",
        payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        paid_amount=1999,
        refunded_amount=0,
        created_at="2026-11-23T01:19:00Z",
        expires_at="2026-11-23T01:49:00Z",
        attempts=[
            {"seq": 1, "out_trade_no": "or01J9Z3-1", "channel": "miniprogram", "api": "v3", "status": "succeeded",
             "transaction_id": "4200000000202611230000000001", "created_at": "2026-11-23T01:19:05Z"}
        ],
        refunds=[],
    )
    id: str
    mchid: str
    merchant_order_no: str
    amount: int
    currency: str
    description: str
    attach: str | None = None
    status: str
    payer_openid: str | None = None
    paid_amount: int = 0
    refunded_amount: int = 0
    created_at: str | None = None
    expires_at: str | None = None
    options: dict[str, Any] | None = Field(default=None, description="the options sent to WeChat (see CreateOrderIn)")
    attempts: list[AttemptOut] = Field(default_factory=list)
    refunds: list[RefundOut] = Field(default_factory=list)
    shipping: ShippingOut | None = Field(default=None, description="mini-program shipping information, once submitted")


class PaymentIn(BaseModel):
    """Start a payment attempt on a channel; ``api`` defaults to the merchant's ``default_api``."""

    model_config = _example(channel="miniprogram", api="v3", payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    channel: Channel
    api: ApiVersion | None = None
    payer_openid: str | None = Field(default=None, max_length=128, description="jsapi/miniprogram; a user's own")
    client_ip: str | None = Field(default=None, max_length=45)
    appid: str | None = Field(
        default=None, max_length=32, description="one of the merchant's appids for the channel (default: the first)"
    )


class PaymentOut(BaseModel):
    """What the client needs to pay: exactly one of request_payment, app_payment, code_url, h5_url."""

    model_config = _example(
        order_id="or_01J9Z3",
        seq=1,
        out_trade_no="or01J9Z3-1",
        channel="miniprogram",
        api="v3",
        status="pending",
        request_payment={
            "timeStamp": "1795396740",
            "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            "package": "prepay_id=wx201410272009395522657a690389285100",
            "signType": "RSA",
            "paySign": "oR9d8PuhnIc+YZ8cBHFCwfgpaK9gd7vaRvkYD7rthRAZ...",
        },
    )
    order_id: str
    seq: int
    out_trade_no: str
    channel: str
    api: str
    status: str
    request_payment: dict[str, str] | None = Field(default=None, description="pass as-is to wx.requestPayment")
    app_payment: dict[str, str] | None = Field(default=None, description="the APP SDK's PayReq fields")
    code_url: str | None = None
    qr_url: str | None = Field(default=None, description="an SVG QR image of code_url")
    h5_url: str | None = None


class CreateRefundIn(BaseModel):
    """Refund part or all of a paid order."""

    model_config = _example(merchant_refund_no="RF-0001", amount=500, reason="damaged")
    merchant_refund_no: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-|*@]+$")
    amount: AmountFen
    reason: str | None = Field(default=None, max_length=80)


class AbnormalRefundIn(BaseModel):
    """Where an abnormal refund's money goes instead: the payer's debit card (``user_bank_card``: WeChat's
    bank code, card number and card holder's name, all required) or the merchant's bank account
    (``merchant_bank_card``: nothing else). The card number and name travel to WeChat encrypted."""

    model_config = _example(type="user_bank_card", bank_type="ICBC_DEBIT", bank_account="6222020200001234567",
                            real_name="张三")  # fmt: skip
    type: Literal["user_bank_card", "merchant_bank_card"]
    bank_type: str | None = Field(default=None, min_length=1, max_length=16, pattern=r"^[A-Z_]+$")
    bank_account: str | None = Field(default=None, min_length=10, max_length=30, pattern=r"^[0-9]+$")
    real_name: str | None = Field(default=None, min_length=1, max_length=64)


class ResolveRefundIn(BaseModel):
    """How an abnormal v2 refund was settled outside WeChat: the payer got the money (``succeeded``) or it
    stayed with the merchant (``failed``: refundable again)."""

    model_config = _example(outcome="succeeded", note="paid back by bank transfer, ticket 4711")
    outcome: Literal["succeeded", "failed"]
    note: str | None = Field(default=None, max_length=200)


class RejectRefundIn(BaseModel):
    """Why an operator rejected a refund request."""

    model_config = _example(reason="outside the return window")
    reason: str | None = Field(default=None, max_length=200)


class CallLogEntry(BaseModel):
    """One row of the raw call log: a WeChat call (outbound), a notification or an operator's action (inbound),
    bodies redacted (a v3 notification's body is WeChat's ciphertext)."""

    at: str | None = None
    direction: str
    api: str = Field(description="v2, v3, login or operator")
    endpoint: str
    outcome: str = Field(description="calls: ok, refused, unknown; notifications: what applying it did")
    http_status: int | None = None
    wechat_code: str | None = None
    latency_ms: int | None = None
    request_id: str | None = None
    body: str | None = None


class CallsOut(BaseModel):
    """The raw call log of an order, oldest first (the typed timeline is ``GET /v1/orders/{id}/events``)."""

    model_config = _example(
        order_id="ord_01J9Z3",
        calls=[
            {"at": "2026-11-23T01:19:05Z", "direction": "outbound", "api": "v3", "outcome": "ok",
             "endpoint": "POST /v3/pay/transactions/jsapi", "http_status": 200, "wechat_code": None,
             "latency_ms": 35, "request_id": "08F1...", "body": "{\"prepay_id\": \"wx2017...\"}"},
            {"at": "2026-11-23T01:19:40Z", "direction": "inbound", "api": "v3", "outcome": "applied",
             "endpoint": "notify/payment", "http_status": None, "wechat_code": None, "latency_ms": 0,
             "request_id": None, "body": "{\"id\": \"EV-2018...\", \"resource\": {\"ciphertext\": \"...\"}}"},
        ],
    )
    order_id: str
    calls: list[CallLogEntry]


class EventsOut(BaseModel):
    """The order's timeline, oldest first: typed events (``type`` says which fields follow)."""

    model_config = _example(
        order_id="ord_01J9Z3",
        events=[
            {"type": "order.created", "at": "2026-11-23T01:19:00Z", "merchant_order_no": "SO-1001", "amount": 1999,
             "currency": "CNY", "description": "mug"},
            {"type": "payment.started", "at": "2026-11-23T01:19:05Z", "seq": 1, "out_trade_no": "W1J9Z3A1",
             "channel": "miniprogram", "api": "v3"},
            {"type": "wechat.call", "at": "2026-11-23T01:19:05Z", "api": "v3",
             "endpoint": "POST /v3/pay/transactions/jsapi", "outcome": "ok", "http_status": 200,
             "wechat_code": None, "latency_ms": 35, "request_id": "08F1..."},
            {"type": "payment.succeeded", "at": "2026-11-23T01:19:39Z", "seq": 1, "out_trade_no": "W1J9Z3A1",
             "transaction_id": "4200001234202611230000000001", "amount": 1999},
            {"type": "notification.received", "at": "2026-11-23T01:19:40Z", "event_id": "v3:EV-2018...",
             "api": "v3", "kind": "payment",
             "facts": {"out_trade_no": "W1J9Z3A1", "transaction_id": "4200001234202611230000000001",
                       "trade_state": "SUCCESS", "trade_type": "JSAPI", "amount": 1999, "payer_amount": 1999,
                       "currency": "CNY", "bank_type": "CMC", "payer_openid": "oUpF…eS6o",
                       "success_time": "2026-11-23T01:19:39Z"}},
            {"type": "notification.applied", "at": "2026-11-23T01:19:40Z", "event_id": "v3:EV-2018..."},
            {"type": "webhook.delivered", "at": "2026-11-23T01:19:41Z", "event": "order.paid",
             "event_id": "evt_5f0c1a9e2b7d4c3f8a6e1d20", "delivery": 81, "attempts": 1, "http_status": 200,
             "last_error": None},
        ],
    )  # fmt: skip
    order_id: str
    events: list[TimelineEventOut]


class JobOut(BaseModel):
    """A follow-up job of the outbox (query, expiry, refund sync, webhook), as operators see it.

    ``dead``: it used up its attempts (a ``job_dead`` anomaly was raised); ``POST /v1/jobs/{id}/retry``
    makes it pending again with all its attempts back. The payload is not shown."""

    model_config = _example(
        id=42, kind="sync_refund", status="dead", order_id="or_01J9Z3", attempts=20, max_attempts=20,
        due_at="2026-11-23T01:20:00Z", updated_at="2026-11-24T09:00:00Z", last_error="WECHAT_UNREACHABLE",
    )  # fmt: skip
    id: int
    kind: str
    status: str
    order_id: str | None = None
    attempts: int
    max_attempts: int
    due_at: str | None = None
    updated_at: str | None = None
    last_error: str | None = None


class JobsOut(BaseModel):
    """Jobs, oldest first."""

    model_config = _example(jobs=[])
    jobs: list[JobOut]
