"""The v2 payment-code endpoints: ``/pay/micropay`` and ``/secapi/pay/reverse`` (mutual TLS).

The rules live in :mod:`weipay.simulator.codepay`; this module reads v2 requests and words the answers:
``USERPAYING``, ``SYSTEMERROR``/``BANKERROR`` (outcome open), ``AUTHCODEEXPIRE``, ``AUTH_CODE_INVALID``,
``AUTH_CODE_ERROR``, ``NOTENOUGH``, ``ORDERPAID``, ``ORDERREVERSED``, ``ORDERCLOSED``, ``OUT_TRADE_NO_USED``;
a reverse answers ``recall`` (``N`` once done) and ``REVERSE_EXPIRE`` / ``TRADE_ERROR`` when it cannot be done.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..codepay import AUTH_CODE_SHAPE, ChargeDraft, CodeRefusal, charge, reverse
from ..state import SimulatorState
from .notifications import payment_fields
from .validate import require
from .wire import BusinessError, V2Call

__all__ = ["micropay", "reverse_order"]

_FEN = re.compile(r"[1-9][0-9]{0,11}")
_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{1,32}")
# WeChat's err_code for each refusal of the shared rules (PENDING ones leave the charge undecided).
_CHARGE_CODES = {
    "code_invalid": "AUTH_CODE_INVALID",
    "code_used": "AUTH_CODE_INVALID",
    "code_expired": "AUTHCODEEXPIRE",
    "not_enough": "NOTENOUGH",
    "bank_error": "BANKERROR",
    "paid": "ORDERPAID",
    "closed": "ORDERCLOSED",
    "reversed": "ORDERREVERSED",
    "pay_failed": "TRADE_ERROR",
    "params_differ": "OUT_TRADE_NO_USED",
}
_REVERSE_CODES = {
    "not_found": "ORDERNOTEXIST",
    "not_codepay": "TRADE_ERROR",
    "reverse_expired": "REVERSE_EXPIRE",
    "refunded": "TRADE_ERROR",
}


def micropay(sim: SimulatorState, call: V2Call) -> Mapping[str, object]:
    """``/pay/micropay``: charge the code; SUCCESS answers the payment, USERPAYING answers a failure code."""
    require(call, ("body", "out_trade_no", "total_fee", "spbill_create_ip", "auth_code"))
    if not _OUT_TRADE_NO.fullmatch(call.get("out_trade_no")):
        raise BusinessError("PARAM_ERROR", "out_trade_no参数格式错误，最长32位，仅支持数字、字母和_-|*")
    if not _FEN.fullmatch(call.get("total_fee")):
        raise BusinessError("PARAM_ERROR", "total_fee参数错误，须为大于0的整数（单位分）")
    if not AUTH_CODE_SHAPE.fullmatch(call.get("auth_code")):
        raise BusinessError("AUTH_CODE_ERROR", "auth_code参数错误，请检查是否为18位以10-15开头的数字")
    if len(call.get("body")) > 127:
        raise BusinessError("PARAM_ERROR", "body参数长度有误，最长127位")
    draft = ChargeDraft(
        api="v2", appid=call.get("appid"), out_trade_no=call.get("out_trade_no"), description=call.get("body"),
        amount_fen=int(call.get("total_fee")), auth_code=call.get("auth_code"), attach=call.get("attach"),
        device_info=call.get("device_info"), payer_client_ip=call.get("spbill_create_ip"),
    )  # fmt: skip
    try:
        order = charge(sim, draft)
    except CodeRefusal as refusal:
        raise BusinessError(_CHARGE_CODES.get(refusal.reason, "TRADE_ERROR"), refusal.message) from None
    if order.state == "USERPAYING":
        raise BusinessError("USERPAYING", "需要用户输入支付密码")
    return payment_fields(order, mchid=sim.mchid)


def reverse_order(sim: SimulatorState, call: V2Call) -> Mapping[str, object]:
    """``/secapi/pay/reverse``: REVOKED (refunding a payment); ``recall=N`` once done, ``Y`` to ask again."""
    if not call.get("transaction_id") and not call.get("out_trade_no"):
        raise BusinessError("LACK_PARAMS", "缺少参数transaction_id或out_trade_no", {"recall": "N"})
    out_trade_no = call.get("out_trade_no")
    if call.get("transaction_id"):
        found = sim.ledger.order_by_transaction_id(call.get("transaction_id"), sim.mchid)
        if found is None:
            raise BusinessError("INVALID_TRANSACTIONID", "无效transaction_id", {"recall": "N"})
        out_trade_no = found.out_trade_no
    try:
        reverse(sim, out_trade_no)
    except CodeRefusal as refusal:
        raise BusinessError(_REVERSE_CODES.get(refusal.reason, "TRADE_ERROR"), refusal.message,
                            {"recall": "N"}) from None  # fmt: skip
    return {"recall": "N"}
