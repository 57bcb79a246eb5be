"""The service's records as plain dataclasses: what a repository returns and a use case reasons about."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .states import AttemptStatus, OrderStatus, RefundStatus

__all__ = ["ApiVersion", "Channel", "Order", "PaymentAttempt", "Refund", "RefundKind"]


class Channel(StrEnum):
    """How the payer pays. ``jsapi`` runs in an official-account page, ``miniprogram`` in a mini program."""

    JSAPI = "jsapi"
    MINIPROGRAM = "miniprogram"
    NATIVE = "native"
    APP = "app"
    H5 = "h5"

    @property
    def trade_type(self) -> str:
        """WeChat's ``trade_type`` for this channel, as notifications and queries report it."""
        return _TRADE_TYPES[self]


# Both in-WeChat channels pay through JSAPI: WeChat does not tell a mini program from an official account.
_TRADE_TYPES = {
    Channel.JSAPI: "JSAPI",
    Channel.MINIPROGRAM: "JSAPI",
    Channel.NATIVE: "NATIVE",
    Channel.APP: "APP",
    Channel.H5: "MWEB",
}


class ApiVersion(StrEnum):
    """Which WeChat Pay API an attempt speaks."""

    V2 = "v2"
    V3 = "v3"


class RefundKind(StrEnum):
    """A refund the merchant asked for, the automatic refund of a second successful attempt, or a refund
    made outside weipay (merchant portal, complaint handling) that WeChat told us about."""

    MERCHANT = "merchant"
    DUPLICATE_PAYMENT = "duplicate_payment"
    EXTERNAL = "external"


@dataclass(frozen=True, slots=True)
class Order:
    """A business order. ``paid_fen``/``refunded_fen``/``reserved_fen`` keep Σ refunds ≤ paid.

    ``reserved_fen`` is money promised to refunds in flight; it moves to ``refunded_fen`` when a
    refund succeeds and back to refundable when one fails.
    """

    id: str
    mchid: str
    merchant_order_no: str
    amount_fen: int
    currency: str
    description: str
    attach: str | None
    payer_openid: str | None
    status: OrderStatus
    paid_fen: int
    refunded_fen: int
    reserved_fen: int
    paid_attempt_id: str | None
    created_at: float
    updated_at: float
    expires_at: float
    paid_at: float | None = None
    idempotency_key: str | None = None
    request_hash: str = ""
    options: str | None = None  # OrderOptions as JSON: what WeChat gets besides amount and description

    @property
    def refundable_fen(self) -> int:
        """What may still be refunded."""
        return self.paid_fen - self.refunded_fen - self.reserved_fen


@dataclass(frozen=True, slots=True)
class PaymentAttempt:
    """One WeChat order (one ``out_trade_no``) for a business order, on one channel and API version."""

    id: str
    order_id: str
    seq: int
    mchid: str
    appid: str
    out_trade_no: str
    api: ApiVersion
    channel: Channel
    status: AttemptStatus
    amount_fen: int
    currency: str
    description: str
    notify_url: str
    time_expire: float
    created_at: float
    updated_at: float
    payer_openid: str | None = None
    client_ip: str | None = None
    attach: str | None = None
    prepay_id: str | None = None
    code_url: str | None = None
    h5_url: str | None = None
    transaction_id: str | None = None
    trade_state: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    paid_at: float | None = None
    last_synced_at: float | None = None
    options: str | None = None  # the order's OrderOptions JSON, as this attempt sent them

    @property
    def is_open(self) -> bool:
        """Whether WeChat may still take money for this attempt."""
        return self.status in (AttemptStatus.CREATED, AttemptStatus.PENDING, AttemptStatus.UNKNOWN)

    @property
    def awaits_close(self) -> bool:
        """Failed here, yet still payable at WeChat until closed there: WeChat's PAYERROR is not final."""
        return self.status == AttemptStatus.FAILED and self.trade_state == "PAYERROR"


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund of (part of) one attempt's payment."""

    id: str
    order_id: str
    attempt_id: str
    seq: int
    kind: RefundKind
    mchid: str
    out_refund_no: str
    out_trade_no: str
    api: ApiVersion
    amount_fen: int
    total_fen: int
    status: RefundStatus
    created_at: float
    updated_at: float
    reason: str | None = None
    merchant_refund_no: str | None = None
    refund_id: str | None = None
    funds_source: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    submitted_at: float | None = None
    succeeded_at: float | None = None
    request_hash: str = ""
    rejection_reason: str | None = None
