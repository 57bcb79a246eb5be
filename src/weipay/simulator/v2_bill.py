"""The v2 trade bill (``/pay/downloadbill``) in WeChat's format: CSV whose every value starts with a backtick.

Amounts are yuan with two decimals, the handling fee has five (it can be a fraction of a fen). A paid
order is one ``SUCCESS`` row dated at payment; each successful refund is one more ``REFUND`` row dated
at the refund. The file ends with a summary header and a summary row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .v2_wire import dashed_time

__all__ = ["BILL_TYPES", "FEE_RATE", "HEADERS", "BillEntry", "belongs_to_bill", "render_bill"]

BILL_TYPES = frozenset({"ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND"})
FEE_RATE = Decimal("0.006")  # the standard 0.60 % merchant rate
_FEE_RATE_TEXT = "0.60%"

_COMMON = ("交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识",
           "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额")
_REFUND = ("微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态")
_GOODS = ("商品名称", "商户数据包", "手续费", "费率")
HEADERS = {
    "ALL": (*_COMMON, *_REFUND, *_GOODS, "订单金额", "申请退款金额", "费率备注"),
    "SUCCESS": (*_COMMON, *_GOODS, "订单金额", "费率备注"),
    "REFUND": (*_COMMON, "退款申请时间", "退款成功时间", *_REFUND, *_GOODS, "订单金额", "申请退款金额", "费率备注"),
}
HEADERS["RECHARGE_REFUND"] = HEADERS["REFUND"]
_SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"


@dataclass(frozen=True, slots=True)
class BillEntry:
    """One bill row: a payment (``refund_id is None``) or a successful refund of that payment."""

    time_s: float
    appid: str
    mch_id: str
    transaction_id: str
    out_trade_no: str
    openid: str
    trade_type: str
    bank_type: str
    amount_fen: int
    description: str
    attach: str
    refund_id: str | None = None
    out_refund_no: str | None = None
    refund_fen: int = 0
    refund_created_s: float | None = None
    recharge_funds: bool = False

    @property
    def is_refund(self) -> bool:
        """True for a refund row."""
        return self.refund_id is not None


def render_bill(entries: Iterable[BillEntry], bill_type: str) -> str:
    """The bill text for ``bill_type`` (the caller has checked it is one of :data:`BILL_TYPES`)."""
    chosen = sorted((entry for entry in entries if belongs_to_bill(entry, bill_type)), key=lambda entry: entry.time_s)
    header = HEADERS[bill_type]
    lines = [",".join(header)]
    lines += [",".join(f"`{value}" for value in _row(entry, header)) for entry in chosen]
    lines.append(_SUMMARY_HEADER)
    lines.append(",".join(f"`{value}" for value in _summary(chosen)))
    return "\n".join(lines) + "\n"


def belongs_to_bill(entry: BillEntry, bill_type: str) -> bool:
    """Whether ``entry`` is a row of a ``bill_type`` bill."""
    if bill_type == "SUCCESS":
        return not entry.is_refund
    if bill_type == "REFUND":
        return entry.is_refund
    if bill_type == "RECHARGE_REFUND":
        return entry.is_refund and entry.recharge_funds
    return True


def _row(entry: BillEntry, header: Sequence[str]) -> list[str]:
    settled_fen = 0 if entry.is_refund else entry.amount_fen
    values = {
        "交易时间": dashed_time(entry.time_s),
        "公众账号ID": entry.appid,
        "商户号": entry.mch_id,
        "特约商户号": "0",
        "设备号": "",
        "微信订单号": entry.transaction_id,
        "商户订单号": entry.out_trade_no,
        "用户标识": entry.openid,
        "交易类型": entry.trade_type,
        "交易状态": "REFUND" if entry.is_refund else "SUCCESS",
        "付款银行": entry.bank_type,
        "货币种类": "CNY",
        "应结订单金额": _yuan(settled_fen),
        "代金券金额": "0.00",
        "退款申请时间": dashed_time(entry.refund_created_s or entry.time_s),
        "退款成功时间": dashed_time(entry.time_s),
        "微信退款单号": entry.refund_id or "0",
        "商户退款单号": entry.out_refund_no or "0",
        "退款金额": _yuan(entry.refund_fen),
        "充值券退款金额": "0.00",
        "退款类型": "ORIGINAL" if entry.is_refund else "",
        "退款状态": "SUCCESS" if entry.is_refund else "",
        "商品名称": entry.description,
        "商户数据包": entry.attach,
        "手续费": f"{_fee_yuan(entry):.5f}",
        "费率": _FEE_RATE_TEXT,
        "订单金额": _yuan(settled_fen),
        "申请退款金额": _yuan(entry.refund_fen),
        "费率备注": "",
    }
    return [values[name] for name in header]


def _summary(entries: Sequence[BillEntry]) -> list[str]:
    paid_fen = sum(entry.amount_fen for entry in entries if not entry.is_refund)
    refunded_fen = sum(entry.refund_fen for entry in entries)
    fee_yuan = sum((_fee_yuan(entry) for entry in entries), Decimal(0))
    return [str(len(entries)), _yuan(paid_fen), _yuan(refunded_fen), "0.00", f"{fee_yuan:.2f}", _yuan(paid_fen),
            _yuan(refunded_fen)]


def _fee_yuan(entry: BillEntry) -> Decimal:
    # A refund gives the proportional fee back, so its fee is negative.
    fen = -entry.refund_fen if entry.is_refund else entry.amount_fen
    return (Decimal(fen) * FEE_RATE / 100).quantize(Decimal("0.00001"))


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"
