"""API v2 of the simulated WeChat Pay servers: ``handle(sim, request) -> SimResponse``.

Paths: ``/pay/unifiedorder``, ``/pay/orderquery``, ``/pay/closeorder``, ``/secapi/pay/refund`` (mutual TLS
only), ``/pay/refundquery``, ``/pay/downloadbill``. Every request is parsed with the SDK's hardened XML codec
and its signature checked (MD5 or HMAC-SHA256, per its ``sign_type``) before any business rule runs.
Orders and refunds live in the shared ledger with ``api='v2'``, so v2 and v3 see each other's orders.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .bills import trade_bill
from .clock import beijing_day
from .ledger import Order, Refund
from .v2_notify import payment_notification_message, refund_notification_message
from .v2_orders import closeorder, orderquery, unifiedorder
from .v2_refund import refund, refundquery
from .v2_validate import require
from .v2_wire import (
    XML_CONTENT_TYPE,
    BusinessError,
    ProtocolFailure,
    V2Call,
    business_failure_body,
    fail_body,
    parse_call,
    success_body,
)

if TYPE_CHECKING:
    from .core import SimRequest, SimResponse, Simulator

__all__ = ["fault_response", "handle", "payment_notification", "refund_notification"]

_BILL_DATE = re.compile(r"[0-9]{8}")
_BILL_TYPES = ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND")
_Handler = Callable[["Simulator", V2Call], "Mapping[str, object] | SimResponse"]


def handle(sim: Simulator, request: SimRequest) -> SimResponse:
    """Answer one v2 request; never raises."""
    handler = _ROUTES.get(request.path)
    if handler is None:
        return _response(404, fail_body("接口不存在"))
    if request.method.upper() != "POST":
        return _response(200, fail_body("请使用post方法"))
    if request.path.startswith("/secapi/") and not request.mtls:
        return _response(200, fail_body("证书验证失败：/secapi/接口须使用商户API证书（双向TLS）调用"))
    try:
        call = parse_call(request.body, mchid=sim.mchid, api_v2_key=sim.account["apiv2_key"])
    except ProtocolFailure as failure:
        return _response(200, fail_body(failure.return_msg))
    try:
        require(call, ("appid",))
        if call.get("appid") not in set(sim.account["appids"].values()):
            raise BusinessError("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        answer = handler(sim, call)
    except BusinessError as error:
        return _response(200, business_failure_body(call, call.get("appid"), sim.account["apiv2_key"], error))
    if not isinstance(answer, Mapping):
        return answer
    return _response(200, success_body(call, call.get("appid"), sim.account["apiv2_key"], answer))


def fault_response(sim: Simulator, request: SimRequest, error: str | None) -> SimResponse:
    """The fault plan's SYSTEMERROR / FREQUENCY_LIMITED, signed like any answer when the request verifies."""
    if error == "frequency_limited":
        failure = BusinessError("FREQUENCY_LIMITED", "你的操作过于频繁，请稍后再试。")
    else:
        failure = BusinessError("SYSTEMERROR", "系统超时，请使用相同参数重试")
    try:
        call = parse_call(request.body, mchid=sim.mchid, api_v2_key=sim.account["apiv2_key"])
    except ProtocolFailure as protocol_failure:
        return _response(200, fail_body(protocol_failure.return_msg))
    return _response(200, business_failure_body(call, call.get("appid"), sim.account["apiv2_key"], failure))


def payment_notification(sim: Simulator, order: Order) -> tuple[dict[str, str], bytes]:
    """The v2 payment result notification of a paid order: ``(headers, body)``."""
    by_order = sim.account.get("v2_notify_sign_type") == "order"
    return payment_notification_message(
        order, mchid=sim.mchid, api_v2_key=sim.account["apiv2_key"], sign_with_order_type=by_order
    )


def refund_notification(sim: Simulator, refund: Refund, order: Order) -> tuple[dict[str, str], bytes]:
    """The v2 refund result notification: ``(headers, body)`` with encrypted ``req_info``."""
    return refund_notification_message(refund, order, mchid=sim.mchid, api_v2_key=sim.account["apiv2_key"])


def _response(status: int, body: bytes, content_type: str = XML_CONTENT_TYPE) -> SimResponse:
    from .core import SimResponse

    return SimResponse(status, {"content-type": content_type}, body)


# -- bills -----------------------------------------------------------------------------------------------
def _downloadbill(sim: Simulator, call: V2Call) -> SimResponse:
    bill_date = call.get("bill_date")
    bill_type = call.get("bill_type") or "ALL"
    if not bill_date:
        return _bill_error("missing parameter", "20001")
    if not _BILL_DATE.fullmatch(bill_date):
        return _bill_error("data format error", "20001")
    if bill_type not in _BILL_TYPES:
        return _bill_error("invalid bill_type", "20001")
    if call.get("tar_type") not in ("", "GZIP"):
        return _bill_error("invalid tar_type", "20001")
    try:
        start, end = beijing_day(bill_date)
    except ValueError:
        return _bill_error("data format error", "20001")
    if not _has_bill_rows(sim, start, end, bill_type):
        return _bill_error("No Bill Exist", "20002")
    # One bill builder for v2 and v3, so both APIs reconcile to the same rows.
    text = trade_bill(sim, bill_date, bill_type)
    if call.get("tar_type") == "GZIP":
        return _response(200, gzip.compress(text.encode("utf-8")), "application/x-gzip")
    return _response(200, text.encode("utf-8"), "text/plain; charset=utf-8")


def _has_bill_rows(sim: Simulator, start: float, end: float, bill_type: str) -> bool:
    if bill_type != "REFUND" and any(order.mchid == sim.mchid for order in sim.ledger.paid_between(start, end)):
        return True
    return bill_type != "SUCCESS" and any(
        refund_record.mchid == sim.mchid for refund_record in sim.ledger.refunds_between(start, end)
    )


def _bill_error(return_msg: str, error_code: str) -> SimResponse:
    return _response(200, fail_body(return_msg, error_code=error_code))


_ROUTES: dict[str, _Handler] = {
    "/pay/unifiedorder": unifiedorder,
    "/pay/orderquery": orderquery,
    "/pay/closeorder": closeorder,
    "/secapi/pay/refund": refund,
    "/pay/refundquery": refundquery,
    "/pay/downloadbill": _downloadbill,
}
