"""The v2 order endpoints: ``/pay/unifiedorder``, ``/pay/orderquery``, ``/pay/closeorder``."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping

from ..codepay import resolve
from ..ledger import LedgerRefusal, Order
from ..state import H5_PATH, SimulatorState
from .notifications import payment_fields
from .validate import require, validate_unifiedorder
from .wire import BusinessError, V2Call

__all__ = ["PAID_STATES", "closeorder", "find_order", "orderquery", "trade_state", "unifiedorder"]

PAID_STATES = ("SUCCESS", "REFUND")
# The optional unifiedorder fields kept with the order, as sent (the control API shows them as "options").
_KEPT = ("product_id", "device_info", "scene_info", "detail", "goods_tag", "limit_pay", "receipt", "fee_type")
_ORDER_REFUSALS = {
    "paid": ("ORDERPAID", "该订单已支付"),
    "closed": ("ORDERCLOSED", "该订单已关闭"),
    "expired": ("ORDERCLOSED", "该订单已关闭"),
    "params_differ": ("INVALID_REQUEST", "201 商户订单号重复"),
}


def unifiedorder(sim: SimulatorState, call: V2Call) -> Mapping[str, object]:
    """``/pay/unifiedorder``: create the order, or re-enter it with the same parameters (same prepay_id)."""
    now = sim.now()
    draft = validate_unifiedorder(call, appids=sim.account["appids"].values(), now_s=now, strict=sim.strict)
    prepay_id = sim.new_prepay_id()
    extra = {name: call.get(name) for name in _KEPT if call.get(name)}
    order = Order(
        mchid=sim.mchid, out_trade_no=draft.out_trade_no, api="v2", trade_type=draft.trade_type, appid=draft.appid,
        description=draft.description, amount_fen=draft.amount_fen, currency="CNY", notify_url=draft.notify_url,
        attach=draft.attach or "", openid=draft.openid or "", payer_client_ip=draft.payer_client_ip,
        time_expire=draft.time_expire_s, prepay_id=prepay_id,
        code_url=f"weixin://wxpay/bizpayurl?pr={_token(9)}" if draft.trade_type == "NATIVE" else None,
        h5_url=f"{sim.base_url}{H5_PATH}?prepay_id={prepay_id}&package={_digits(10)}"
        if draft.trade_type == "MWEB" else None,
        state="NOTPAY", trade_state_desc="订单未支付", transaction_id=None, bank_type=None, success_time=None,
        sign_type=str(call.sign_type), fingerprint=draft.fingerprint, created_at=now, payer_openid=None,
        extra=json.dumps(extra, ensure_ascii=False),
    )
    try:
        stored, created = sim.ledger.create_order(order)
    except LedgerRefusal as refusal:
        raise BusinessError(*_ORDER_REFUSALS.get(refusal.reason, ("INVALID_REQUEST", refusal.message))) from None
    if not created and stored.time_expire <= now:
        raise BusinessError("ORDERCLOSED", "该订单已关闭")
    return {
        "trade_type": stored.trade_type,
        "prepay_id": stored.prepay_id,
        "code_url": stored.code_url,
        "mweb_url": stored.h5_url,
    }


def find_order(sim: SimulatorState, call: V2Call) -> Order:
    """The order named by ``transaction_id`` (preferred) or ``out_trade_no``; ORDERNOTEXIST otherwise."""
    if not call.get("transaction_id") and not call.get("out_trade_no"):
        raise BusinessError("LACK_PARAMS", "缺少参数transaction_id或out_trade_no")
    if call.get("transaction_id"):
        order = sim.ledger.order_by_transaction_id(call.get("transaction_id"), sim.mchid)
    else:
        order = sim.ledger.order(sim.mchid, call.get("out_trade_no"))
    if order is None:
        raise BusinessError("ORDERNOTEXIST", "订单不存在")
    return order


def trade_state(order: Order, now_s: float) -> tuple[str, str]:
    """``(trade_state, trade_state_desc)``, counting an unpaid order past its expiry as closed already."""
    if order.state in ("NOTPAY", "PAYERROR") and order.time_expire <= now_s:
        return "CLOSED", "订单已关闭"
    return order.state, order.trade_state_desc


def orderquery(sim: SimulatorState, call: V2Call) -> Mapping[str, object]:
    """``/pay/orderquery``: the order's trade_state, plus the payment fields once it is paid."""
    order = resolve(sim, find_order(sim, call))  # a payment-code payer may have decided by now
    state, desc = trade_state(order, sim.now())
    fields: dict[str, object] = {
        "out_trade_no": order.out_trade_no,
        "trade_type": order.trade_type,
        "total_fee": order.amount_fen,
        "fee_type": "CNY",
        "attach": order.attach,
        "device_info": order.extra_fields.get("device_info"),
    }
    if state in PAID_STATES:
        fields.update(payment_fields(order, mchid=sim.mchid))
    elif order.openid:
        fields["openid"] = order.openid
    fields.update(trade_state=state, trade_state_desc=desc)
    return fields


def closeorder(sim: SimulatorState, call: V2Call) -> Mapping[str, object]:
    """``/pay/closeorder``: NOTPAY -> CLOSED; ORDERPAID / ORDERCLOSED / ORDERNOTEXIST otherwise."""
    require(call, ("out_trade_no",))
    order = sim.ledger.order(sim.mchid, call.get("out_trade_no"))
    if order is None:
        raise BusinessError("ORDERNOTEXIST", "订单不存在")
    if sim.strict and sim.now() - order.created_at < 300:
        raise BusinessError("FREQUENCY_LIMITED", "订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟")
    if order.state in PAID_STATES:
        raise BusinessError("ORDERPAID", "订单已支付，不能发起关单")
    if order.state in ("CLOSED", "REVOKED"):
        raise BusinessError("ORDERCLOSED", "订单已关闭，无需重复关闭")
    try:
        sim.ledger.close_order(sim.mchid, order.out_trade_no)
    except LedgerRefusal:
        raise BusinessError("ORDERPAID", "订单已支付，不能发起关单") from None
    return {"result_msg": "OK"}


def _token(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def _digits(length: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))
