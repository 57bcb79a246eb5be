"""Typed answers of API v3: frozen values built from WeChat's JSON with ``from_json``.

Each field names its JSON key (``wire``); ``_json_model`` makes the readers from that one declaration.
Unknown fields are ignored (WeChat adds fields without notice); a missing required field or a field
of the wrong type is a :class:`~weipay.sdk.errors.ProtocolError`. Amounts are integer fen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ..errors import ProtocolError
from ._json_model import JsonModel, read_json, wire

__all__ = [
    "BillLocation",
    "PrepayResult",
    "PromotionDetail",
    "Refund",
    "RefundAmount",
    "RefundNotification",
    "RefundResult",
    "Transaction",
    "TransactionAmount",
    "TransactionNotification",
    "read_envelope",
]


@dataclass(frozen=True, slots=True)
class PrepayResult(JsonModel):
    """The answer of a prepay call: one of the three is set, depending on the channel."""

    json_name: ClassVar[str] = "prepay answer"
    prepay_id: str | None = wire("prepay_id", None)
    code_url: str | None = wire("code_url", None)
    h5_url: str | None = wire("h5_url", None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PrepayResult:
        """Read ``{"prepay_id"}`` (jsapi/app), ``{"code_url"}`` (native) or ``{"h5_url"}`` (h5)."""
        result = read_json(cls, data)
        if not (result.prepay_id or result.code_url or result.h5_url):
            raise ProtocolError("prepay answer has none of prepay_id, code_url, h5_url")
        return result


@dataclass(frozen=True, slots=True)
class TransactionAmount(JsonModel):
    """``amount`` of a transaction; ``payer_*`` appear once the payer has paid."""

    json_name: ClassVar[str] = "amount"
    total_fen: int = wire("total")
    payer_total_fen: int | None = wire("payer_total", None)
    currency: str = wire("currency", "CNY", blank_as_default=True)
    payer_currency: str | None = wire("payer_currency", None)


@dataclass(frozen=True, slots=True)
class PromotionDetail(JsonModel):
    """One coupon or discount applied to a payment (``promotion_detail[]``); amounts in fen.

    ``scope`` is ``GLOBAL`` (the whole order) or ``SINGLE`` (single items); ``type`` ``CASH`` (pre-funded, the
    merchant's settlement includes it) or ``NOCASH`` (not pre-funded). The contributions say who paid for it.
    """

    json_name: ClassVar[str] = "promotion_detail"
    coupon_id: str = wire("coupon_id")
    amount_fen: int = wire("amount")
    name: str | None = wire("name", None)
    scope: str | None = wire("scope", None)
    type: str | None = wire("type", None)
    stock_id: str | None = wire("stock_id", None)
    wechatpay_contribute_fen: int | None = wire("wechatpay_contribute", None)
    merchant_contribute_fen: int | None = wire("merchant_contribute", None)
    other_contribute_fen: int | None = wire("other_contribute", None)
    currency: str | None = wire("currency", None)


@dataclass(frozen=True, slots=True)
class Transaction(JsonModel):
    """A payment order as WeChat sees it (query answer and decrypted ``TRANSACTION.*`` resource).

    Unpaid orders lack transaction_id, payer, bank_type and success_time. ``promotion_detail`` lists the
    coupons that paid part of it (``amount.payer_total_fen`` is then below ``total_fen``); ``raw`` is the
    object WeChat sent, whole, for the fields not typed here (``scene_info``, goods of a coupon…).
    """

    json_name: ClassVar[str] = "transaction"
    appid: str = wire("appid")
    mchid: str = wire("mchid")
    out_trade_no: str = wire("out_trade_no")
    trade_state: str = wire("trade_state")
    amount: TransactionAmount = wire("amount")
    transaction_id: str | None = wire("transaction_id", None, blank_as_default=True)
    trade_type: str | None = wire("trade_type", None, blank_as_default=True)
    trade_state_desc: str = wire("trade_state_desc", "")
    bank_type: str | None = wire("bank_type", None, blank_as_default=True)
    attach: str | None = wire("attach", None)
    success_time: datetime | None = wire("success_time", None)
    payer_openid: str | None = wire("payer.openid", None)
    promotion_detail: tuple[PromotionDetail, ...] = ()
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transaction:
        """Read the transaction, its coupons, and keep ``data`` as ``raw``."""
        transaction = read_json(cls, data)
        promotions = data.get("promotion_detail")
        if promotions is not None:
            if not isinstance(promotions, list):
                raise ProtocolError("transaction.promotion_detail should be a list")
            # Frozen: set once here, before anyone sees the value (as the readers themselves do).
            object.__setattr__(transaction, "promotion_detail", tuple(map(PromotionDetail.from_json, promotions)))
        object.__setattr__(transaction, "raw", data)
        return transaction


@dataclass(frozen=True, slots=True)
class RefundAmount(JsonModel):
    """``amount`` of a refund, in fen. Notifications carry only the first four."""

    json_name: ClassVar[str] = "refund amount"
    total_fen: int = wire("total")
    refund_fen: int = wire("refund")
    payer_total_fen: int | None = wire("payer_total", None)
    payer_refund_fen: int | None = wire("payer_refund", None)
    settlement_total_fen: int | None = wire("settlement_total", None)
    settlement_refund_fen: int | None = wire("settlement_refund", None)
    discount_refund_fen: int | None = wire("discount_refund", None)
    currency: str = wire("currency", "CNY", blank_as_default=True)


@dataclass(frozen=True, slots=True)
class Refund(JsonModel):
    """A refund as answered by create/query (``status``: SUCCESS, CLOSED, PROCESSING, ABNORMAL)."""

    json_name: ClassVar[str] = "refund"
    refund_id: str = wire("refund_id")
    out_refund_no: str = wire("out_refund_no")
    transaction_id: str = wire("transaction_id")
    out_trade_no: str = wire("out_trade_no")
    status: str = wire("status")
    create_time: datetime = wire("create_time")
    amount: RefundAmount = wire("amount")
    channel: str | None = wire("channel", None)
    user_received_account: str | None = wire("user_received_account", None)
    success_time: datetime | None = wire("success_time", None)
    funds_account: str | None = wire("funds_account", None)


@dataclass(frozen=True, slots=True)
class BillLocation(JsonModel):
    """Where to fetch a bill, and the digest of its uncompressed bytes (the tradebill / fundflowbill answer)."""

    json_name: ClassVar[str] = "bill answer"
    hash_type: str = wire("hash_type")
    hash_value: str = wire("hash_value")
    download_url: str = wire("download_url")


@dataclass(frozen=True, slots=True)
class RefundResult(JsonModel):
    """The decrypted resource of a ``REFUND.*`` notification (note ``refund_status``, not ``status``)."""

    json_name: ClassVar[str] = "refund resource"
    mchid: str = wire("mchid")
    out_trade_no: str = wire("out_trade_no")
    transaction_id: str = wire("transaction_id")
    out_refund_no: str = wire("out_refund_no")
    refund_id: str = wire("refund_id")
    refund_status: str = wire("refund_status")
    amount: RefundAmount = wire("amount")
    success_time: datetime | None = wire("success_time", None)
    user_received_account: str | None = wire("user_received_account", None)


@dataclass(frozen=True, slots=True)
class TransactionNotification:
    """A verified, decrypted ``TRANSACTION.*`` notification."""

    id: str
    event_type: str
    create_time: datetime
    summary: str
    transaction: Transaction


@dataclass(frozen=True, slots=True)
class RefundNotification:
    """A verified, decrypted ``REFUND.*`` notification."""

    id: str
    event_type: str
    create_time: datetime
    summary: str
    refund: RefundResult


@dataclass(frozen=True, slots=True)
class _Envelope(JsonModel):
    """The clear part of a notification around its encrypted resource."""

    json_name: ClassVar[str] = "notification"
    id: str = wire("id")
    event_type: str = wire("event_type")
    create_time: datetime = wire("create_time")
    summary: str = wire("summary", "")


def read_envelope(data: Mapping[str, Any]) -> tuple[str, str, datetime, str]:
    """``(id, event_type, create_time, summary)`` of a notification envelope."""
    envelope = read_json(_Envelope, data)
    return envelope.id, envelope.event_type, envelope.create_time, envelope.summary
