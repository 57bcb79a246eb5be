"""API v3 orders: prepay (JSAPI, APP, H5, Native), query by out_trade_no / transaction_id, close."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from typing import Any
from urllib.parse import urlencode

from ..clock import parse_rfc3339
from ..codepay import resolve
from ..http_messages import SimRequest, SimResponse
from ..ledger import LedgerRefusal, Order
from ..state import H5_PATH, SimulatorState
from .errors import V3Error, param_error
from .fields import check_int, check_notify_url, check_object, check_str, optional_str, read_json
from .options import check_options
from .resources import transaction_resource

__all__ = ["close", "prepay", "query_by_out_trade_no", "query_by_transaction_id"]

OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
_TRADE_TYPES = {"jsapi": "JSAPI", "app": "APP", "h5": "MWEB", "native": "NATIVE"}
DEFAULT_EXPIRY_S = 7 * 86400
_MIN_EXPIRY_S = 60
_MAX_EXPIRY_S = 90 * 86400
CLOSE_AFTER_S = 300


def fingerprint(body: dict[str, Any], channel: str) -> str:
    """What makes a re-entered order "the same": every business parameter, in a canonical form."""
    canonical = json.dumps({"channel": channel, **body}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _refusal(refusal: LedgerRefusal) -> V3Error:
    if refusal.reason == "paid":
        return V3Error(400, "ORDERPAID", "该订单已支付")
    if refusal.reason == "closed":
        return V3Error(400, "ORDER_CLOSED", "该订单已关闭")
    if refusal.reason == "params_differ":
        return V3Error(400, "INVALID_REQUEST", "201 商户订单号重复", {"issue": "订单重入参数校验失败"})
    return V3Error(400, "INVALID_REQUEST", refusal.message)


def _check_body(sim: SimulatorState, body: dict[str, Any], channel: str) -> dict[str, Any]:
    appid = check_str(body, "appid", max_bytes=32)
    mchid = check_str(body, "mchid", max_bytes=32)
    if mchid != sim.mchid:
        raise V3Error(400, "MCH_NOT_EXISTS", "商户号不存在")
    if appid not in sim.account["appids"].values():
        raise V3Error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
    checked: dict[str, Any] = {
        "appid": appid,
        "description": check_str(body, "description", max_bytes=127),
        "out_trade_no": check_str(body, "out_trade_no", max_bytes=32, min_bytes=6, pattern=OUT_TRADE_NO),
        "notify_url": check_str(body, "notify_url", max_bytes=255),
        "attach": optional_str(body, "attach", max_bytes=128) or "",
    }
    check_notify_url(checked["notify_url"], "/notify_url", strict=sim.strict)
    amount = check_object(body, "amount", "/")
    assert amount is not None
    checked["amount_fen"] = check_int(amount, "total", "/amount/", minimum=1)
    currency = amount.get("currency", "CNY")
    if currency != "CNY":
        raise param_error("/amount/currency", "仅支持CNY", currency)
    checked["currency"] = currency
    payer = check_object(body, "payer", "/", required=channel == "jsapi")
    checked["openid"] = check_str(payer, "openid", "/payer/", max_bytes=128) if payer is not None else ""
    scene_info = check_object(body, "scene_info", "/", required=channel == "h5")
    checked["payer_client_ip"] = ""
    if scene_info is not None:
        checked["payer_client_ip"] = check_str(scene_info, "payer_client_ip", "/scene_info/", max_bytes=45)
    checked["options"] = check_options(body, scene_info, channel)
    checked["time_expire"] = body.get("time_expire")
    return checked


def _expiry(sim: SimulatorState, time_expire: Any) -> float:
    now = sim.now()
    if time_expire is None:
        return now + DEFAULT_EXPIRY_S
    if not isinstance(time_expire, str):
        raise param_error("/time_expire", "应为rfc3339格式的字符串", time_expire)
    try:
        expire = parse_rfc3339(time_expire)
    except ValueError:
        raise param_error("/time_expire", "应为rfc3339格式，如2018-06-08T10:34:56+08:00", time_expire) from None
    # WeChat silently moves an expiry that is too early or too late to the nearest allowed value.
    return min(max(expire, now + _MIN_EXPIRY_S), now + _MAX_EXPIRY_S)


def _prepay_answer(sim: SimulatorState, order: Order) -> dict[str, Any]:
    if order.trade_type == "NATIVE":
        return {"code_url": order.code_url}
    if order.trade_type == "MWEB":
        return {"h5_url": order.h5_url}
    return {"prepay_id": order.prepay_id}


def _code_url() -> str:
    return "weixin://wxpay/bizpayurl?pr=" + "".join(
        secrets.choice(string.ascii_letters + string.digits) for _ in range(9)
    )


def prepay(sim: SimulatorState, request: SimRequest, params: dict[str, str]) -> SimResponse:
    """``POST /v3/pay/transactions/{jsapi|app|h5|native}``."""
    channel = params["channel"]
    body = read_json(request)
    checked = _check_body(sim, body, channel)
    trade_type = _TRADE_TYPES[channel]
    prepay_id = sim.new_prepay_id()
    package = "".join(secrets.choice(string.digits) for _ in range(10))
    h5_url = (
        f"{sim.base_url}{H5_PATH}?" + urlencode({"prepay_id": prepay_id, "package": package})
        if trade_type == "MWEB" else None
    )
    now = sim.now()
    order = Order(
        mchid=sim.mchid, out_trade_no=checked["out_trade_no"], api="v3", trade_type=trade_type,
        appid=checked["appid"], description=checked["description"], amount_fen=checked["amount_fen"],
        currency=checked["currency"], notify_url=checked["notify_url"], attach=checked["attach"],
        openid=checked["openid"], payer_client_ip=checked["payer_client_ip"],
        time_expire=_expiry(sim, checked["time_expire"]), prepay_id=prepay_id,
        code_url=_code_url() if trade_type == "NATIVE" else None, h5_url=h5_url, state="NOTPAY",
        trade_state_desc="订单未支付", transaction_id=None, bank_type=None, success_time=None, sign_type=None,
        fingerprint=fingerprint(body, channel), created_at=now, payer_openid=None,
        extra=json.dumps(checked["options"], ensure_ascii=False),
    )
    try:
        stored, _created = sim.ledger.create_order(order)
    except LedgerRefusal as refusal:
        raise _refusal(refusal) from None
    return SimResponse.json(200, _prepay_answer(sim, stored))


def _require_mchid(sim: SimulatorState, request: SimRequest) -> None:
    mchid = request.query_params().get("mchid")
    if not mchid:
        raise param_error("mchid", "缺少必填参数", location="query")
    if mchid != sim.mchid:
        raise V3Error(400, "MCH_NOT_EXISTS", "商户号不存在")


def _transaction(sim: SimulatorState, order: Order | None) -> SimResponse:
    if order is None:
        raise V3Error(404, "ORDER_NOT_EXIST", "订单不存在")
    return SimResponse.json(200, transaction_resource(resolve(sim, order)))  # a code payer may have decided


def query_by_out_trade_no(sim: SimulatorState, request: SimRequest, params: dict[str, str]) -> SimResponse:
    """``GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=``."""
    _require_mchid(sim, request)
    return _transaction(sim, sim.ledger.order(sim.mchid, params["id"]))


def query_by_transaction_id(sim: SimulatorState, request: SimRequest, params: dict[str, str]) -> SimResponse:
    """``GET /v3/pay/transactions/id/{transaction_id}?mchid=``."""
    _require_mchid(sim, request)
    return _transaction(sim, sim.ledger.order_by_transaction_id(params["id"], sim.mchid))


def close(sim: SimulatorState, request: SimRequest, params: dict[str, str]) -> SimResponse:
    """``POST …/out-trade-no/{out_trade_no}/close`` -> 204; closing twice or an unknown order is fine too."""
    body = read_json(request)
    if check_str(body, "mchid", max_bytes=32) != sim.mchid:
        raise V3Error(400, "MCH_NOT_EXISTS", "商户号不存在")
    if sim.strict:
        order = sim.ledger.order(sim.mchid, params["id"])
        if order is not None and sim.now() - order.created_at < CLOSE_AFTER_S:
            raise V3Error(400, "INVALID_REQUEST", "订单生成后不能马上调用关单接口，最短调用时间间隔为5分钟")
    try:
        sim.ledger.close_order(sim.mchid, params["id"])
    except LedgerRefusal as refusal:
        raise _refusal(refusal) from None
    return SimResponse(204)
