"""Typed results of API v2 calls and notifications. Amounts are integer fen; times are Beijing time.

Every model keeps the fields WeChat sent in ``raw`` (coupons, settlement amounts, partner fields…),
because v2 answers grow new fields and we must not lose what we did not type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "BEIJING",
    "V2Bill",
    "V2BillRow",
    "V2BillSummary",
    "V2Coupon",
    "V2Order",
    "V2PaymentNotification",
    "V2PrepayResult",
    "V2RefundAccepted",
    "V2RefundNotification",
    "V2RefundQueryResult",
    "V2RefundRecord",
]

# China has had no daylight saving time since 1991, so a fixed offset is exact and needs no tzdata.
BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class V2PrepayResult:
    """``/pay/unifiedorder`` accepted: the prepay id, plus ``code_url`` (NATIVE) or ``mweb_url`` (MWEB)."""

    trade_type: str
    prepay_id: str
    code_url: str | None = None
    mweb_url: str | None = None


@dataclass(frozen=True, slots=True)
class V2Coupon:
    """One coupon of a paid order (``coupon_id_$n``, ``coupon_type_$n``: ``CASH`` or ``NO_CASH``, ``coupon_fee_$n``)."""

    coupon_id: str
    coupon_fee_fen: int | None
    coupon_type: str | None = None


@dataclass(frozen=True, slots=True)
class V2Order:
    """``/pay/orderquery``: the order as WeChat sees it. Paid means ``trade_state == "SUCCESS"``."""

    out_trade_no: str
    transaction_id: str | None
    trade_state: str
    trade_state_desc: str | None
    total_fee_fen: int | None
    cash_fee_fen: int | None
    fee_type: str | None
    openid: str | None
    trade_type: str | None
    bank_type: str | None
    attach: str | None
    time_end: dt.datetime | None
    raw: Mapping[str, str] = field(default_factory=dict, compare=False)
    coupon_fee_fen: int | None = None
    coupon_count: int | None = None
    coupons: tuple[V2Coupon, ...] = ()


@dataclass(frozen=True, slots=True)
class V2RefundAccepted:
    """``/secapi/pay/refund`` accepted the request. Not yet refunded: query or await the notification."""

    out_refund_no: str
    refund_id: str
    refund_fee_fen: int
    total_fee_fen: int
    out_trade_no: str | None
    transaction_id: str | None
    settlement_refund_fee_fen: int | None
    cash_fee_fen: int | None
    raw: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class V2RefundRecord:
    """One refund of an order, from ``/pay/refundquery`` (the ``_$n`` fields)."""

    out_refund_no: str
    refund_id: str
    refund_fee_fen: int
    refund_status: str
    refund_account: str | None
    success_time: dt.datetime | None
    recv_account: str | None


@dataclass(frozen=True, slots=True)
class V2RefundQueryResult:
    """``/pay/refundquery``: the order and its refunds (one page; see ``total_refund_count`` in ``raw``)."""

    out_trade_no: str
    transaction_id: str | None
    total_fee_fen: int | None
    refunds: tuple[V2RefundRecord, ...]
    raw: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class V2PaymentNotification:
    """A verified payment result notification. Coupons are typed; partner fields stay in ``raw``."""

    appid: str
    mch_id: str
    out_trade_no: str
    transaction_id: str
    total_fee_fen: int
    cash_fee_fen: int | None
    fee_type: str | None
    result_code: str
    openid: str | None
    trade_type: str | None
    time_end: dt.datetime | None
    attach: str | None
    raw: Mapping[str, str] = field(default_factory=dict, compare=False)
    coupon_fee_fen: int | None = None
    coupon_count: int | None = None
    coupons: tuple[V2Coupon, ...] = ()


@dataclass(frozen=True, slots=True)
class V2RefundNotification:
    """A decrypted refund result notification (``req_info``). ``refund_status``: SUCCESS, CHANGE, REFUNDCLOSE."""

    appid: str
    mch_id: str
    transaction_id: str
    out_trade_no: str
    refund_id: str
    out_refund_no: str
    total_fee_fen: int
    refund_fee_fen: int
    settlement_refund_fee_fen: int | None
    refund_status: str
    success_time: dt.datetime | None
    refund_recv_accout: str | None
    refund_account: str | None
    refund_request_source: str | None
    raw: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class V2BillRow:
    """One detail row of a ``downloadbill`` file.

    Typed columns are ``None`` when the bill type lacks them. ``fee_yuan`` keeps WeChat's five
    decimals because handling fees can be fractions of a fen. ``columns`` maps every header to its value.
    """

    trade_time: dt.datetime
    appid: str
    mch_id: str
    transaction_id: str
    out_trade_no: str
    openid: str | None
    trade_type: str | None
    trade_state: str | None
    settlement_total_fee_fen: int | None
    coupon_fee_fen: int | None
    refund_id: str | None
    out_refund_no: str | None
    refund_fee_fen: int | None
    refund_status: str | None
    body: str | None
    attach: str | None
    fee_yuan: Decimal | None
    rate: str | None
    total_fee_fen: int | None
    applied_refund_fee_fen: int | None
    columns: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class V2BillSummary:
    """The summary line: 总交易单数, 应结订单总金额, 退款总金额, 充值券退款总金额, 手续费总金额, …"""

    trade_count: int
    settlement_total_fee_fen: int
    refund_fee_fen: int
    coupon_refund_fee_fen: int
    fee_fen: int
    total_fee_fen: int | None
    applied_refund_fee_fen: int | None


@dataclass(frozen=True, slots=True)
class V2Bill:
    """A parsed trade bill: the header, every row, and WeChat's own totals."""

    header: tuple[str, ...]
    rows: tuple[V2BillRow, ...]
    summary: V2BillSummary
