"""付款码 (payment code) on WeChat's side: codes the payer shows, the charge, the payer's decision, the reverse.

Both APIs (v2 ``/pay/micropay`` + ``/secapi/pay/reverse``, v3 ``…/codepay`` + ``…/reverse``) apply these
rules and only word the answers differently.

- A code is minted by the control API (the payer opens "付款码" in WeChat): 18 digits starting 10–15,
  valid for :data:`CODE_TTL_S` of WeChat's wall time, usable by one order only.
- The charge creates the order. Without a password (``confirm="none"``) the payer's outcome applies at once;
  with one, the order is USERPAYING and the payer decides ``confirm_s`` simulated seconds later (lazily, on
  the next query, control call or tick), or right now through the control API.
- Re-sending the same charge (same out_trade_no, same parameters) answers the order's current state.
- A reverse closes an unpaid order for good and refunds a paid one; a reversed order can never be paid.
  Reverses are refused after :data:`REVERSE_WINDOW_S` and for orders that were refunded.

There is no payment notification for payment codes: the answer and queries are all the merchant learns.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from .ledger import LedgerRefusal, Order, PaymentCode
from .state import SimulatorState

__all__ = [
    "AUTH_CODE_SHAPE",
    "CODE_TTL_S",
    "CONFIRMS",
    "OUTCOMES",
    "REVERSE_WINDOW_S",
    "ChargeDraft",
    "CodeRefusal",
    "charge",
    "code_json",
    "decide",
    "mint_code",
    "resolve",
    "resolve_due",
    "reverse",
]

#: WeChat's payment codes: 18 digits starting 10-15.
AUTH_CODE_SHAPE = re.compile(r"1[0-5][0-9]{16}")
#: A WeChat payment code refreshes every minute; an older one is refused as expired.
CODE_TTL_S = 60.0
#: WeChat reverses orders up to seven days old; later it asks for a refund instead.
REVERSE_WINDOW_S = 7 * 86400.0
OUTCOMES = ("success", "cancel", "insufficient_balance", "bank_error", "wait")
CONFIRMS = ("none", "password")
_FAILURE_DESC = {
    "cancel": "用户取消支付",
    "insufficient_balance": "用户余额不足",
    "bank_error": "银行系统异常，支付失败",
}


class CodeRefusal(Exception):
    """The charge or reverse is refused. ``reason``: ``code_invalid``, ``code_expired``, ``code_used``,
    ``not_enough``, ``bank_error`` (the payer's bank answered nothing clear), ``paid``, ``closed``, ``reversed``,
    ``pay_failed``, ``params_differ``, ``not_found``, ``not_codepay``, ``reverse_expired``, ``refunded``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class ChargeDraft:
    """A valid charge request of either API, reduced to what the ledger keeps."""

    api: str
    appid: str
    out_trade_no: str
    description: str
    amount_fen: int
    auth_code: str
    attach: str = ""
    device_info: str = ""
    payer_client_ip: str = ""

    @property
    def fingerprint(self) -> str:
        """What makes a re-sent charge "the same": every business field, the code included (as a digest)."""
        fields = [self.api, self.appid, self.out_trade_no, self.description, str(self.amount_fen),
                  hashlib.sha256(self.auth_code.encode()).hexdigest(), self.attach, self.device_info]  # fmt: skip
        return hashlib.sha256("\0".join(fields).encode()).hexdigest()


def mint_code(
    sim: SimulatorState, *, user: str = "payer", outcome: str = "success", confirm: str = "password",
    confirm_s: float | None = None,
) -> PaymentCode:
    """A fresh payment code for ``user`` and what the payer will do when it is charged."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    if confirm not in CONFIRMS:
        raise ValueError(f"confirm must be one of {', '.join(CONFIRMS)}")
    delay_s = sim.codepay_confirm_s if confirm_s is None else float(confirm_s)
    if not 0 <= delay_s <= 86400:
        raise ValueError("confirm_s must be between 0 and 86400 seconds")
    digits = str(secrets.choice(range(10, 16))) + "".join(str(secrets.randbelow(10)) for _ in range(16))
    now = sim.wall_now()
    code = PaymentCode(code=digits, user=user, outcome=outcome, confirm=confirm, confirm_s=delay_s,
                       created_at=now, expires_at=now + CODE_TTL_S, used_by=None)  # fmt: skip
    sim.ledger.add_payment_code(code)
    return code


def charge(sim: SimulatorState, draft: ChargeDraft) -> Order:
    """Charge the code: the order, SUCCESS or USERPAYING; :class:`CodeRefusal` for anything else."""
    existing = sim.ledger.order(sim.mchid, draft.out_trade_no)
    if existing is not None:
        return _recharge(sim, existing, draft)
    code = sim.ledger.payment_code(draft.auth_code)
    if code is None:
        raise CodeRefusal("code_invalid", "101 付款码无效，请重新扫码")
    if code.used_by is not None:
        raise CodeRefusal("code_used", "101 每个二维码仅限使用一次，请刷新再试")
    if code.expires_at <= sim.wall_now():
        raise CodeRefusal("code_expired", "二维码已过期，请用户在微信上刷新后再试")
    now = sim.now()
    confirm_at = now if code.confirm == "none" else now + code.confirm_s
    order = Order(
        mchid=sim.mchid, out_trade_no=draft.out_trade_no, api=draft.api, trade_type="MICROPAY", appid=draft.appid,
        description=draft.description, amount_fen=draft.amount_fen, currency="CNY", notify_url="",
        attach=draft.attach, openid="", payer_client_ip=draft.payer_client_ip, time_expire=now + REVERSE_WINDOW_S,
        prepay_id=sim.new_prepay_id(), code_url=None, h5_url=None, state="USERPAYING",
        trade_state_desc="需要用户输入支付密码", transaction_id=None, bank_type=None, success_time=None,
        sign_type=None, fingerprint=draft.fingerprint, created_at=now, payer_openid=None,
        extra=json.dumps({"payer": code.user, "payer_outcome": code.outcome, "confirm_at": confirm_at,
                          "device_info": draft.device_info}, ensure_ascii=False),
    )  # fmt: skip
    try:
        stored, created = sim.ledger.create_order(order)
    except LedgerRefusal as refusal:
        raise CodeRefusal(_ORDER_REFUSALS.get(refusal.reason, "params_differ"), refusal.message) from None
    if not created:  # a concurrent twin created it first
        return _recharge(sim, stored, draft)
    if not sim.ledger.use_payment_code(draft.auth_code, draft.out_trade_no):
        sim.ledger.close_order(sim.mchid, draft.out_trade_no)
        raise CodeRefusal("code_used", "101 每个二维码仅限使用一次，请刷新再试")
    decided = resolve(sim, stored)
    if decided.state == "PAYERROR":
        outcome = str(decided.extra_fields.get("payer_outcome"))
        if outcome == "insufficient_balance":
            raise CodeRefusal("not_enough", "用户余额不足，请用户更换支付方式")
        raise CodeRefusal("bank_error", "银行系统异常")
    return decided


_ORDER_REFUSALS = {"paid": "paid", "closed": "closed", "params_differ": "params_differ"}


def _recharge(sim: SimulatorState, order: Order, draft: ChargeDraft) -> Order:
    """The same charge again: the order's current state, as WeChat answers a re-entered out_trade_no."""
    if order.fingerprint != draft.fingerprint or order.trade_type != "MICROPAY":
        raise CodeRefusal("params_differ", "商户订单号重复")
    current = resolve(sim, order)
    if current.state in ("SUCCESS", "USERPAYING"):
        return current
    if current.state == "REFUND":
        raise CodeRefusal("paid", "订单已支付")
    if current.state == "REVOKED":
        raise CodeRefusal("reversed", "订单已撤销")
    if current.state == "CLOSED":
        raise CodeRefusal("closed", "订单已关闭")
    raise CodeRefusal("pay_failed", current.trade_state_desc or "支付失败")


def resolve(sim: SimulatorState, order: Order) -> Order:
    """Apply the payer's decision if it is due; the order as it stands afterwards."""
    extra = order.extra_fields
    if order.trade_type != "MICROPAY" or order.state != "USERPAYING":
        return order
    outcome = str(extra.get("payer_outcome", "wait"))
    if outcome == "wait" or float(extra.get("confirm_at", 0.0)) > sim.now():
        return order
    try:
        return decide(sim, order, outcome)
    except LedgerRefusal:  # reversed or decided by a concurrent call: what stands now is the answer
        current = sim.ledger.order(order.mchid, order.out_trade_no)
        assert current is not None
        return current


def decide(sim: SimulatorState, order: Order, outcome: str) -> Order:
    """The payer decides now: ``success`` pays, anything else fails the charge (PAYERROR).

    Raises :class:`LedgerRefusal` when the order can no longer be paid (reversed, closed, paid).
    """
    if outcome == "success":
        openid = sim.openid_for(order.appid, str(order.extra_fields.get("payer", "payer")))
        return sim.ledger.pay_order(order, transaction_id=sim.new_transaction_id(), payer_openid=openid,
                                    bank_type="OTHERS", now=sim.now())  # fmt: skip
    if order.state in ("SUCCESS", "REFUND"):
        raise LedgerRefusal("paid", "该订单已支付")
    if order.state in ("CLOSED", "REVOKED"):
        raise LedgerRefusal("closed", "该订单已撤销")
    sim.ledger.fail_payment(order, _FAILURE_DESC.get(outcome, "支付失败"))
    failed = sim.ledger.order(order.mchid, order.out_trade_no)
    assert failed is not None
    return failed


def resolve_due(sim: SimulatorState) -> int:
    """Apply every due payer decision (the background tick); returns how many orders moved."""
    moved = 0
    for order in sim.ledger.orders(state="USERPAYING", limit=1000):
        if resolve(sim, order).state != "USERPAYING":
            moved += 1
    return moved


def reverse(sim: SimulatorState, out_trade_no: str) -> Order:
    """Reverse a payment-code order (REVOKED; a paid one's money goes back to the payer)."""
    order = sim.ledger.order(sim.mchid, out_trade_no)
    if order is None:
        raise CodeRefusal("not_found", "订单不存在")
    if order.trade_type != "MICROPAY":
        raise CodeRefusal("not_codepay", "订单支付场景错误，拒绝请求")
    if sim.now() - order.created_at > REVERSE_WINDOW_S:
        raise CodeRefusal("reverse_expired", "订单已超过撤销期限，请使用退款接口")
    try:
        resolve(sim, order)
        revoked = sim.ledger.revoke_order(sim.mchid, out_trade_no)
    except LedgerRefusal as refusal:
        raise CodeRefusal("refunded", refusal.message) from None
    assert revoked is not None
    return revoked[0]


def code_json(code: PaymentCode) -> dict[str, Any]:
    """The control API's answer for a minted code."""
    return {"auth_code": code.code, "user": code.user, "outcome": code.outcome, "confirm": code.confirm,
            "confirm_s": code.confirm_s, "expires_at": code.expires_at}  # fmt: skip
