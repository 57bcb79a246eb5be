"""Bill files in WeChat's format, built from the ledger for one Beijing day.

Each detail and summary value is prefixed with a backtick; amounts are yuan with two decimals.
Shared by the v3 bill endpoints and v2 ``downloadbill``.
"""

from __future__ import annotations

from .clock import beijing_day, dashed
from .ledger import Order, Refund
from .state import SimulatorState

__all__ = ["FEE_RATE_TEXT", "TRADE_BILL_TYPES", "fee_fen", "fundflow_bill", "trade_bill", "yuan"]

TRADE_BILL_TYPES = ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND", "ALL_SPECIAL", "SUC_SPECIAL", "REF_SPECIAL")
FEE_RATE_TEXT = "0.60%"
TRADE_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
)
TRADE_SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
FUNDFLOW_HEADER = (
    "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号"
)
FUNDFLOW_SUMMARY_HEADER = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"


def yuan(fen: int) -> str:
    """Integer fen as yuan text, ``123`` -> ``1.23`` (``-5`` -> ``-0.05``)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def fee_fen(amount_fen: int) -> int:
    """WeChat's 0.6% fee, rounded half up to the fen."""
    return (amount_fen * 6 + 500) // 1000


def _line(values: list[str]) -> str:
    return ",".join("`" + value.replace(",", " ") for value in values)


def _order_columns(order: Order, at: float | None, state: str) -> list[str]:
    return [
        dashed(at or 0), order.appid, order.mchid, "0", "", order.transaction_id or "", order.out_trade_no,
        order.payer_openid or order.openid, order.trade_type, state, order.bank_type or "OTHERS", order.currency,
    ]


def _payment_row(order: Order) -> list[str]:
    amount = yuan(order.amount_fen)
    return [
        *_order_columns(order, order.success_time, "SUCCESS"),
        amount, "0.00", "0", "0", "0.00", "0.00", "", "", order.description, order.attach,
        yuan(fee_fen(order.amount_fen)), FEE_RATE_TEXT, amount, "0.00", "",
    ]


def _refund_row(refund: Refund, order: Order) -> list[str]:
    amount = yuan(refund.amount_fen)
    return [
        *_order_columns(order, refund.success_time, "REFUND"),
        "0.00", "0.00", refund.refund_id, refund.out_refund_no, amount, "0.00", "ORIGINAL", refund.status,
        order.description, order.attach, yuan(-fee_fen(refund.amount_fen)), FEE_RATE_TEXT, "0.00", amount, "",
    ]


def _day(sim: SimulatorState, date_text: str) -> tuple[list[Order], list[tuple[Refund, Order]]]:
    start, end = beijing_day(date_text)
    orders = [o for o in sim.ledger.paid_between(start, end) if o.mchid == sim.mchid]
    refunds = []
    for refund in sim.ledger.refunds_between(start, end):
        order = sim.ledger.order(refund.mchid, refund.out_trade_no)
        if order is not None and refund.mchid == sim.mchid:
            refunds.append((refund, order))
    return orders, refunds


def trade_bill(sim: SimulatorState, date_text: str, bill_type: str = "ALL") -> str:
    """The trade bill (交易账单) text of a Beijing day (``YYYY-MM-DD`` or ``YYYYMMDD``)."""
    orders, refunds = _day(sim, date_text)
    if bill_type in ("REFUND", "REF_SPECIAL", "RECHARGE_REFUND"):
        orders = []
    if bill_type in ("SUCCESS", "SUC_SPECIAL"):
        refunds = []
    lines = [TRADE_HEADER]
    lines += [_line(_payment_row(order)) for order in orders]
    lines += [_line(_refund_row(refund, order)) for refund, order in refunds]
    paid = sum(o.amount_fen for o in orders)
    refunded = sum(r.amount_fen for r, _ in refunds)
    fees = sum(fee_fen(o.amount_fen) for o in orders) - sum(fee_fen(r.amount_fen) for r, _ in refunds)
    lines.append(TRADE_SUMMARY_HEADER)
    lines.append(_line([str(len(orders) + len(refunds)), yuan(paid), yuan(refunded), "0.00", yuan(fees), yuan(paid),
                        yuan(refunded)]))
    return "\r\n".join(lines) + "\r\n"


def fundflow_bill(sim: SimulatorState, date_text: str, account_type: str = "BASIC") -> str:
    """The fund-flow bill (资金账单) of a Beijing day: income per payment, expense per fee and refund."""
    orders, refunds = _day(sim, date_text)
    entries: list[tuple[float, str, str, str, str, int]] = []
    if account_type == "BASIC":
        for order in orders:
            paid_at, business_no = order.success_time or 0, order.transaction_id or ""
            entries.append((paid_at, business_no, "交易", "交易", "收入", order.amount_fen))
            entries.append((order.success_time or 0, order.transaction_id or "", "扣除交易手续费", "扣除交易手续费",
                            "支出", fee_fen(order.amount_fen)))
        for refund, order in refunds:
            entries.append((refund.success_time or 0, order.transaction_id or "", "退款", "退款", "支出",
                            refund.amount_fen))
    entries.sort(key=lambda entry: entry[0])
    balance = 0
    lines = [FUNDFLOW_HEADER]
    for index, (at, business_no, name, kind, direction, amount) in enumerate(entries, start=1):
        balance += amount if direction == "收入" else -amount
        flow_no = f"{int(at)}{index:06d}"
        lines.append(_line([dashed(at), business_no, flow_no, name, kind, direction, yuan(amount), yuan(balance),
                            "system", "", business_no]))
    income = [e for e in entries if e[4] == "收入"]
    expense = [e for e in entries if e[4] == "支出"]
    lines.append(FUNDFLOW_SUMMARY_HEADER)
    lines.append(_line([str(len(entries)), str(len(income)), yuan(sum(e[5] for e in income)), str(len(expense)),
                        yuan(sum(e[5] for e in expense))]))
    return "\r\n".join(lines) + "\r\n"
