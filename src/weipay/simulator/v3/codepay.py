"""API v3 payment code: ``POST /v3/pay/transactions/codepay`` and ``POST …/out-trade-no/{no}/reverse``.

The charge answers 200 with the Transaction (trade_state SUCCESS or USERPAYING). Refusals use the codes of
the v2 table in v3's spelling where v3 has one; WeChat does not publish the v3 codepay error table in the
material we read, so these codes and statuses are our best reading (see docs/simulator.md).
"""

from __future__ import annotations

from typing import Any

from ..codepay import AUTH_CODE_SHAPE, ChargeDraft, CodeRefusal, charge, reverse
from ..http_messages import SimRequest, SimResponse
from ..state import SimulatorState
from .errors import V3Error, param_error
from .fields import check_int, check_object, check_str, optional_str, read_json
from .orders import OUT_TRADE_NO
from .resources import transaction_resource

__all__ = ["codepay", "reverse_order"]

_CHARGE_ERRORS = {
    "code_invalid": (403, "AUTH_CODE_INVALID"),
    "code_used": (403, "AUTH_CODE_INVALID"),
    "code_expired": (403, "AUTHCODEEXPIRE"),
    "not_enough": (403, "NOT_ENOUGH"),
    "bank_error": (500, "BANK_ERROR"),
    "paid": (400, "ORDERPAID"),
    "closed": (400, "ORDER_CLOSED"),
    "reversed": (400, "ORDER_REVERSED"),
    "pay_failed": (403, "TRADE_ERROR"),
    "params_differ": (403, "OUT_TRADE_NO_USED"),
}
_REVERSE_ERRORS = {
    "not_found": (404, "ORDER_NOT_EXIST"),
    "not_codepay": (403, "TRADE_ERROR"),
    "reverse_expired": (403, "REVERSE_EXPIRE"),
    "refunded": (403, "TRADE_ERROR"),
}


def _draft(sim: SimulatorState, body: dict[str, Any]) -> ChargeDraft:
    if check_str(body, "mchid", max_bytes=32) != sim.mchid:
        raise V3Error(400, "MCH_NOT_EXISTS", "商户号不存在")
    appid = check_str(body, "appid", max_bytes=32)
    if appid not in sim.account["appids"].values():
        raise V3Error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
    payer = check_object(body, "payer", "/")
    assert payer is not None
    auth_code = check_str(payer, "auth_code", "/payer/", max_bytes=128)
    if not AUTH_CODE_SHAPE.fullmatch(auth_code):
        raise param_error("/payer/auth_code", "付款码应为18位以10-15开头的数字")
    amount = check_object(body, "amount", "/")
    assert amount is not None
    if amount.get("currency", "CNY") != "CNY":
        raise param_error("/amount/currency", "仅支持CNY", amount.get("currency"))
    scene = check_object(body, "scene_info", "/", required=False) or {}
    return ChargeDraft(
        api="v3", appid=appid, out_trade_no=check_str(body, "out_trade_no", max_bytes=32, min_bytes=6,
                                                      pattern=OUT_TRADE_NO),
        description=check_str(body, "description", max_bytes=127),
        amount_fen=check_int(amount, "total", "/amount/", minimum=1), auth_code=auth_code,
        attach=optional_str(body, "attach", max_bytes=128) or "",
        device_info=optional_str(scene, "device_id", "/scene_info/", max_bytes=32) or "",
        payer_client_ip=optional_str(scene, "device_ip", "/scene_info/", max_bytes=45) or "",
    )  # fmt: skip


def codepay(sim: SimulatorState, request: SimRequest, params: dict[str, str]) -> SimResponse:
    """``POST /v3/pay/transactions/codepay`` → 200 Transaction (SUCCESS or USERPAYING) or a refusal."""
    draft = _draft(sim, read_json(request))
    try:
        order = charge(sim, draft)
    except CodeRefusal as refusal:
        status, code = _CHARGE_ERRORS.get(refusal.reason, (403, "TRADE_ERROR"))
        raise V3Error(status, code, refusal.message) from None
    return SimResponse.json(200, transaction_resource(order))


def reverse_order(sim: SimulatorState, request: SimRequest, params: dict[str, str]) -> SimResponse:
    """``POST /v3/pay/transactions/out-trade-no/{out_trade_no}/reverse`` → 204 once REVOKED."""
    body = read_json(request)
    if check_str(body, "mchid", max_bytes=32) != sim.mchid:
        raise V3Error(400, "MCH_NOT_EXISTS", "商户号不存在")
    check_str(body, "appid", max_bytes=32)
    try:
        reverse(sim, params["id"])
    except CodeRefusal as refusal:
        status, code = _REVERSE_ERRORS.get(refusal.reason, (403, "TRADE_ERROR"))
        raise V3Error(status, code, refusal.message) from None
    return SimResponse(204)
