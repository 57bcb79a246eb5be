"""The payer's side of a payment: what happens when a user taps Pay (or Cancel) in WeChat."""

from __future__ import annotations

from typing import Any

from . import codepay
from .ledger import LedgerRefusal, Order
from .notifier import enqueue_payment
from .state import SimulatorState

__all__ = ["OUTCOMES", "pay"]

OUTCOMES = ("success", "cancel", "insufficient_balance", "bank_error")


def pay(sim: SimulatorState, order: Order, *, openid: str | None, outcome: str) -> dict[str, Any]:
    """Apply the payer's ``outcome`` to ``order``.

    ``success``: NOTPAY -> SUCCESS, the amount joins the unsettled balance, the payment notification is
    queued (same transaction semantics as WeChat: the order is paid even if the notification never arrives).
    ``cancel`` and ``insufficient_balance``: the order stays NOTPAY (the user may try again), as on WeChat.
    ``bank_error``: the bank refused the payment: the order is PAYERROR, yet stays payable (the payer may try
    again, e.g. with another card) until it is closed or expires; this is why WeChat asks merchants to close
    a failed order before paying with a new out_trade_no.
    A JSAPI order may only be paid by the openid it was created for.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    if order.state in ("SUCCESS", "REFUND"):
        raise LedgerRefusal("paid", "该订单已支付")
    if order.state in ("CLOSED", "REVOKED"):
        raise LedgerRefusal("closed", "该订单已关闭")
    if order.trade_type == "MICROPAY":
        return _decide_code_charge(sim, order, outcome)
    if order.trade_type == "JSAPI" and openid and order.openid and openid != order.openid:
        raise LedgerRefusal("openid_mismatch", "openid与下单时的openid不一致")
    if outcome == "bank_error":
        sim.ledger.fail_payment(order, "支付失败(其他原因，如银行返回失败)")
        return {"trade_state": "PAYERROR", "trade_state_desc": "支付失败(其他原因，如银行返回失败)"}
    if outcome != "success":
        desc = "用户取消支付" if outcome == "cancel" else "用户余额不足"
        sim.ledger.set_trade_state_desc(order, desc)
        return {"trade_state": "NOTPAY", "trade_state_desc": desc}
    payer_openid = order.openid or openid or sim.openid_for(order.appid, "payer")
    paid = sim.ledger.pay_order(
        order, transaction_id=sim.new_transaction_id(), payer_openid=payer_openid, bank_type="OTHERS", now=sim.now()
    )
    enqueue_payment(sim, paid)
    return {"transaction_id": paid.transaction_id, "trade_state": paid.state, "trade_state_desc": paid.trade_state_desc}


def _decide_code_charge(sim: SimulatorState, order: Order, outcome: str) -> dict[str, Any]:
    """A payment-code charge awaiting the payer: decide it now (no notification: codes have none)."""
    if order.state != "USERPAYING":
        raise LedgerRefusal("closed" if order.state in ("PAYERROR", "REVOKED", "CLOSED") else "paid",
                            f"该订单不在支付中: {order.state}")  # fmt: skip
    decided = codepay.decide(sim, order, outcome)
    result = {"trade_state": decided.state, "trade_state_desc": decided.trade_state_desc}
    if decided.transaction_id:
        result["transaction_id"] = decided.transaction_id
    return result
