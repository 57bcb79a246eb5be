"""Field rules of the v2 order and refund requests, as WeChat enforces them (PROTOCOL.md §2.3).

Each check raises :class:`~weipay.simulator.v2.wire.BusinessError` with ``LACK_PARAMS`` or ``PARAM_ERROR``
and a message naming the field. ``strict`` adds the production-only rules (https notify_url without a port,
an expiry at least five minutes away).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .wire import BEIJING, BusinessError, V2Call

__all__ = [
    "DEFAULT_EXPIRY_S",
    "REFUND_ACCOUNTS",
    "TRADE_TYPES",
    "OrderDraft",
    "RefundDraft",
    "fingerprint",
    "require",
    "validate_notify_url",
    "validate_refund",
    "validate_unifiedorder",
]

TRADE_TYPES = frozenset({"JSAPI", "NATIVE", "APP", "MWEB"})
REFUND_ACCOUNTS = frozenset({"REFUND_SOURCE_UNSETTLED_FUNDS", "REFUND_SOURCE_RECHARGE_FUNDS"})
DEFAULT_EXPIRY_S = 2 * 3600  # a v2 prepay_id lives two hours unless time_expire says otherwise
_MIN_EXPIRY_S = 5 * 60
_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{1,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
_FEN = re.compile(r"[1-9][0-9]{0,11}")
_COMPACT_TIME = re.compile(r"[0-9]{14}")
# The business parameters that make two unifiedorder calls "the same order". wechatpy re-stamps
# time_start/time_expire and the client IP on every call, so those cannot count.
_ORDER_IDENTITY = (
    "appid", "attach", "body", "detail", "device_info", "fee_type", "goods_tag", "limit_pay",
    "notify_url", "openid", "out_trade_no", "product_id", "scene_info", "sub_openid", "total_fee", "trade_type",
)


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """A valid unifiedorder request, reduced to what the ledger stores."""

    appid: str
    out_trade_no: str
    trade_type: str
    description: str
    amount_fen: int
    notify_url: str
    attach: str | None
    openid: str | None
    payer_client_ip: str
    product_id: str | None
    time_expire_s: float
    fingerprint: str


@dataclass(frozen=True, slots=True)
class RefundDraft:
    """A valid refund request; the order is named by ``transaction_id`` or ``out_trade_no``."""

    transaction_id: str | None
    out_trade_no: str | None
    out_refund_no: str
    total_fee_fen: int
    refund_fee_fen: int
    refund_account: str
    reason: str | None
    notify_url: str | None
    fingerprint: str


def require(call: V2Call, names: Iterable[str]) -> None:
    """LACK_PARAMS naming the first missing field."""
    for name in names:
        if not call.get(name):
            raise BusinessError("LACK_PARAMS", f"缺少参数{name}")


def fingerprint(call: V2Call, names: Iterable[str]) -> str:
    """A stable hash of the named fields, for "same request again?" checks."""
    identity = {name: call.get(name) for name in names}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def validate_unifiedorder(call: V2Call, *, appids: Iterable[str], now_s: float, strict: bool) -> OrderDraft:
    """Check every unifiedorder rule and return the order to record."""
    require(call, ("appid", "body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url", "trade_type"))
    if call.get("appid") not in set(appids):
        raise BusinessError("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
    trade_type = call.get("trade_type")
    if trade_type not in TRADE_TYPES:
        raise BusinessError("PARAM_ERROR", "trade_type参数错误，可选JSAPI、NATIVE、APP、MWEB")
    out_trade_no = _out_trade_no(call.get("out_trade_no"), strict=strict)
    amount_fen = _fen(call.get("total_fee"), "total_fee")
    _max_length(call, "body", 128)
    _max_length(call, "attach", 127)
    if call.get("fee_type") not in ("", "CNY"):
        raise BusinessError("PARAM_ERROR", "fee_type参数错误，仅支持CNY")
    _options(call)
    _client_ip(call.get("spbill_create_ip"))
    validate_notify_url(call.get("notify_url"), strict=strict)
    _trade_type_fields(call, trade_type)
    return OrderDraft(
        appid=call.get("appid"),
        out_trade_no=out_trade_no,
        trade_type=trade_type,
        description=call.get("body"),
        amount_fen=amount_fen,
        notify_url=call.get("notify_url"),
        attach=call.get("attach") or None,
        openid=call.get("openid") or call.get("sub_openid") or None,
        payer_client_ip=call.get("spbill_create_ip"),
        product_id=call.get("product_id") or None,
        time_expire_s=_time_expire(call.get("time_expire"), now_s=now_s, strict=strict),
        fingerprint=fingerprint(call, _ORDER_IDENTITY),
    )


def validate_refund(call: V2Call, *, strict: bool) -> RefundDraft:
    """Check every refund rule (the order and balances are checked later, against the ledger)."""
    require(call, ("appid", "out_refund_no", "total_fee", "refund_fee"))
    if not call.get("transaction_id") and not call.get("out_trade_no"):
        raise BusinessError("LACK_PARAMS", "缺少参数transaction_id或out_trade_no")
    if not _OUT_REFUND_NO.fullmatch(call.get("out_refund_no")):
        raise BusinessError("PARAM_ERROR", "out_refund_no参数格式错误，最长64位，仅支持数字、字母和_-|*@")
    total_fee_fen = _fen(call.get("total_fee"), "total_fee")
    refund_fee_fen = _fen(call.get("refund_fee"), "refund_fee")
    if refund_fee_fen > total_fee_fen:
        raise BusinessError("PARAM_ERROR", "退款金额大于订单金额")
    refund_account = call.get("refund_account") or "REFUND_SOURCE_UNSETTLED_FUNDS"
    if refund_account not in REFUND_ACCOUNTS:
        raise BusinessError("PARAM_ERROR", "refund_account参数错误")
    if call.get("refund_fee_type") not in ("", "CNY"):
        raise BusinessError("PARAM_ERROR", "refund_fee_type参数错误，仅支持CNY")
    _max_length(call, "refund_desc", 80)
    if call.get("notify_url"):
        validate_notify_url(call.get("notify_url"), strict=strict)
    return RefundDraft(
        transaction_id=call.get("transaction_id") or None,
        out_trade_no=call.get("out_trade_no") or None,
        out_refund_no=call.get("out_refund_no"),
        total_fee_fen=total_fee_fen,
        refund_fee_fen=refund_fee_fen,
        refund_account=refund_account,
        reason=call.get("refund_desc") or None,
        notify_url=call.get("notify_url") or None,
        fingerprint=fingerprint(call, ("transaction_id", "out_trade_no", "total_fee", "refund_fee")),
    )


def validate_notify_url(url: str, *, strict: bool) -> None:
    """An absolute http(s) URL without a query string; strict mode wants https and no port."""
    if len(url) > 256:
        raise BusinessError("PARAM_ERROR", "notify_url参数长度有误，最长256位")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BusinessError("PARAM_ERROR", "notify_url参数格式错误") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BusinessError("PARAM_ERROR", "notify_url参数格式错误，须为完整的http或https地址")
    if parts.query or "?" in url:
        raise BusinessError("PARAM_ERROR", "notify_url不能携带参数")
    if strict and (parts.scheme != "https" or port is not None):
        raise BusinessError("PARAM_ERROR", "notify_url须为https地址且不能携带端口")


def _out_trade_no(value: str, *, strict: bool) -> str:
    # Newer docs ask for at least 6 characters; older ones only cap at 32, so only strict mode insists.
    if not _OUT_TRADE_NO.fullmatch(value) or (strict and len(value) < 6):
        raise BusinessError("PARAM_ERROR", "out_trade_no参数格式错误，6-32位，仅支持数字、字母和_-|*")
    return value


def _fen(value: str, name: str) -> int:
    if not _FEN.fullmatch(value):
        raise BusinessError("PARAM_ERROR", f"{name}参数错误，须为大于0的整数（单位分）")
    return int(value)


def _max_length(call: V2Call, name: str, limit: int) -> None:
    # WeChat counts UTF-8 bytes: 43 Chinese characters are 129 and too long for body.
    if len(call.get(name).encode("utf-8")) > limit:
        raise BusinessError("PARAM_ERROR", f"{name}参数长度有误，最长{limit}字节")


def _options(call: V2Call) -> None:
    """The optional fields: lengths, enumerations, and ``detail`` as WeChat's JSON shape."""
    for name, limit in (("goods_tag", 32), ("device_info", 32), ("product_id", 32), ("scene_info", 256),
                        ("detail", 6000)):
        _max_length(call, name, limit)
    if call.get("limit_pay") not in ("", "no_credit"):
        raise BusinessError("PARAM_ERROR", "limit_pay参数错误，仅支持no_credit")
    if call.get("receipt") not in ("", "Y"):
        raise BusinessError("PARAM_ERROR", "receipt参数错误，仅支持Y")
    if call.get("detail"):
        _detail(call.get("detail"))


def _detail(text: str) -> None:
    try:
        detail = json.loads(text)
    except ValueError as exc:
        raise BusinessError("PARAM_ERROR", "detail参数格式错误，须为JSON") from exc
    if not isinstance(detail, dict):
        raise BusinessError("PARAM_ERROR", "detail须为JSON对象")
    goods = detail.get("goods_detail", [])
    if not isinstance(goods, list):
        raise BusinessError("PARAM_ERROR", "detail.goods_detail须为数组")
    for line in goods:
        if not isinstance(line, dict) or not isinstance(line.get("goods_id"), str) or not line["goods_id"]:
            raise BusinessError("PARAM_ERROR", "detail.goods_detail须包含goods_id")
        for name in ("quantity", "price"):
            if isinstance(line.get(name), bool) or not isinstance(line.get(name), int) or line[name] < 0:
                raise BusinessError("PARAM_ERROR", f"detail.goods_detail.{name}须为整数")


def _client_ip(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError as exc:
        raise BusinessError("PARAM_ERROR", "spbill_create_ip参数格式错误") from exc


def _trade_type_fields(call: V2Call, trade_type: str) -> None:
    if trade_type == "JSAPI" and not (call.get("openid") or call.get("sub_openid")):
        raise BusinessError("LACK_PARAMS", "trade_type=JSAPI时，openid为必传参数")
    if trade_type == "NATIVE" and not call.get("product_id"):
        raise BusinessError("LACK_PARAMS", "trade_type=NATIVE时，product_id为必传参数")
    if trade_type == "MWEB":
        if not call.get("scene_info"):
            raise BusinessError("LACK_PARAMS", "trade_type=MWEB时，scene_info为必传参数")
        try:
            scene = json.loads(call.get("scene_info"))
        except ValueError as exc:
            raise BusinessError("PARAM_ERROR", "scene_info参数格式错误，须为JSON") from exc
        if not isinstance(scene, dict) or not isinstance(scene.get("h5_info"), dict):
            raise BusinessError("PARAM_ERROR", "scene_info须包含h5_info")


def _time_expire(value: str, *, now_s: float, strict: bool) -> float:
    if not value:
        return now_s + DEFAULT_EXPIRY_S
    if not _COMPACT_TIME.fullmatch(value):
        raise BusinessError("PARAM_ERROR", "time_expire参数格式错误，须为yyyyMMddHHmmss")
    try:
        expire_s = dt.datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING).timestamp()
    except ValueError as exc:
        raise BusinessError("PARAM_ERROR", "time_expire参数格式错误，须为yyyyMMddHHmmss") from exc
    if expire_s <= now_s:
        raise BusinessError("PARAM_ERROR", "time_expire已过期，须晚于当前时间")
    if strict and expire_s - now_s < _MIN_EXPIRY_S:
        raise BusinessError("PARAM_ERROR", "time_expire时间过短，刷卡至少1分钟，其他5分钟")
    return expire_s
