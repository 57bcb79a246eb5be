"""The v2 refund endpoints: ``/secapi/pay/refund`` (mutual TLS) and ``/pay/refundquery``.

A refund is accepted PROCESSING and finishes later (``sim.tick``). One ``out_refund_no`` refunds once:
re-sending it with the same parameters answers with the refund already accepted. The money comes from the
unsettled balance (``REFUND_SOURCE_UNSETTLED_FUNDS``, the default) or the available balance
(``REFUND_SOURCE_RECHARGE_FUNDS``); a short balance is ``NOTENOUGH``, which merchants answer by retrying
from the other source.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from ..ledger import LedgerRefusal, Order, Refund
from ..state import SimulatorState
from .notifications import REFUND_STATUS, USER_RECEIVED_ACCOUNT, v2_refund_account
from .orders import find_order
from .validate import validate_refund
from .wire import BusinessError, V2Call, dashed_time

__all__ = ["REFUNDS_PER_PAGE", "refund", "refundquery"]

REFUNDS_PER_PAGE = 10  # refundquery lists at most this many refunds; ``offset`` pages through the rest
_OFFSET = re.compile(r"[0-9]{1,4}")
_REFUSALS = {
    "params_differ": ("INVALID_REQUEST", "请求内容和上次请求不一致，商户退款单号已经被其他请求使用"),
    "not_found": ("ORDERNOTEXIST", "订单不存在"),
    "not_paid": ("ORDERNOTEXIST", "订单未支付，不能发起退款"),
    "total_mismatch": ("PARAM_ERROR", "订单金额与退款请求中的total_fee不一致"),
    "over_refund": ("ERROR", "累计退款金额大于支付金额"),
    "not_enough": ("NOTENOUGH", "基本账户余额不足，请充值后重新发起"),
}


def refund(sim: SimulatorState, call: V2Call) -> Mapping[str, object]:
    """``/secapi/pay/refund``: accept a refund, or repeat the answer for an out_refund_no already used."""
    draft = validate_refund(call, strict=sim.strict)
    order = find_order(sim, call)
    now = sim.now()
    identity = f"{order.out_trade_no}\0{draft.total_fee_fen}\0{draft.refund_fee_fen}"
    proposed = Refund(
        mchid=sim.mchid, out_refund_no=draft.out_refund_no, refund_id=sim.new_refund_id(),
        out_trade_no=order.out_trade_no, api="v2", amount_fen=draft.refund_fee_fen, total_fen=draft.total_fee_fen,
        status="PROCESSING",
        funds_account="AVAILABLE" if draft.refund_account == "REFUND_SOURCE_RECHARGE_FUNDS" else "UNSETTLED",
        reason=draft.reason or "", notify_url=draft.notify_url or "",
        fingerprint=hashlib.sha256(identity.encode()).hexdigest(), created_at=now, success_time=None,
        user_received_account=USER_RECEIVED_ACCOUNT, due_at=now + sim.refund_processing_s,
    )
    try:
        accepted, _created = sim.ledger.create_refund(proposed)
    except LedgerRefusal as refusal:
        raise BusinessError(*_REFUSALS.get(refusal.reason, ("ERROR", refusal.message))) from None
    return {
        "transaction_id": order.transaction_id,
        "out_trade_no": order.out_trade_no,
        "out_refund_no": accepted.out_refund_no,
        "refund_id": accepted.refund_id,
        "refund_fee": accepted.amount_fen,
        "settlement_refund_fee": accepted.amount_fen,
        "total_fee": order.amount_fen,
        "settlement_total_fee": order.amount_fen,
        "fee_type": "CNY",
        "cash_fee": order.amount_fen,
        "cash_refund_fee": accepted.amount_fen,
        "coupon_refund_fee": 0,
        "coupon_refund_count": 0,
        "refund_channel": "ORIGINAL",
    }


def refundquery(sim: SimulatorState, call: V2Call) -> Mapping[str, object]:
    """``/pay/refundquery`` by refund_id > out_refund_no > transaction_id > out_trade_no, WeChat's priority."""
    offset_text = call.get("offset")
    if offset_text and not _OFFSET.fullmatch(offset_text):
        raise BusinessError("PARAM_ERROR", "offset参数格式错误")
    order, refunds = _find_refunds(sim, call)
    if not refunds:
        raise BusinessError("REFUNDNOTEXIST", "退款订单查询失败")
    offset = int(offset_text or 0)
    page = refunds[offset:offset + REFUNDS_PER_PAGE]
    if not page:
        raise BusinessError("PARAM_ERROR", "offset超出退款记录数")
    fields: dict[str, object] = {
        "transaction_id": order.transaction_id,
        "out_trade_no": order.out_trade_no,
        "total_fee": order.amount_fen,
        "settlement_total_fee": order.amount_fen,
        "fee_type": "CNY",
        "cash_fee": order.amount_fen,
        "refund_count": len(page),
    }
    if offset_text:
        fields["total_refund_count"] = len(refunds)
    for n, record in enumerate(page):
        fields.update(_refund_fields(record, n))
    return fields


def _find_refunds(sim: SimulatorState, call: V2Call) -> tuple[Order, list[Refund]]:
    record: Refund | None = None
    if call.get("refund_id"):
        record = sim.ledger.refund_by_refund_id(call.get("refund_id"))
    elif call.get("out_refund_no"):
        record = sim.ledger.refund(sim.mchid, call.get("out_refund_no"))
    elif not call.get("transaction_id") and not call.get("out_trade_no"):
        raise BusinessError("LACK_PARAMS", "缺少参数refund_id、out_refund_no、transaction_id或out_trade_no")
    else:
        try:
            order = find_order(sim, call)
        except BusinessError:
            raise BusinessError("REFUNDNOTEXIST", "退款订单查询失败") from None
        return order, sim.ledger.refunds_for_order(sim.mchid, order.out_trade_no)
    if record is None or record.mchid != sim.mchid:
        raise BusinessError("REFUNDNOTEXIST", "退款订单查询失败")
    found = sim.ledger.order(sim.mchid, record.out_trade_no)
    if found is None:
        raise BusinessError("REFUNDNOTEXIST", "退款订单查询失败")
    return found, [record]


def _refund_fields(record: Refund, n: int) -> dict[str, object]:
    status = REFUND_STATUS.get(record.status, record.status)
    fields: dict[str, object] = {
        f"out_refund_no_{n}": record.out_refund_no,
        f"refund_id_{n}": record.refund_id,
        f"refund_channel_{n}": "ORIGINAL",
        f"refund_fee_{n}": record.amount_fen,
        f"settlement_refund_fee_{n}": record.amount_fen,
        f"coupon_refund_fee_{n}": 0,
        f"coupon_refund_count_{n}": 0,
        f"refund_status_{n}": status,
        f"refund_account_{n}": v2_refund_account(record),
        f"refund_recv_accout_{n}": record.user_received_account or USER_RECEIVED_ACCOUNT,
    }
    if status == "SUCCESS" and record.success_time:
        fields[f"refund_success_time_{n}"] = dashed_time(record.success_time)
    return fields
