"""API v2 of the simulated WeChat Pay servers: ``handle(sim, request) -> SimResponse``.

Paths: ``/pay/unifiedorder``, ``/pay/orderquery``, ``/pay/closeorder``, ``/secapi/pay/refund`` (mutual TLS
only), ``/pay/refundquery``, ``/pay/downloadbill``, ``/pay/micropay``, ``/secapi/pay/reverse`` (mutual TLS).
Every request is parsed with the SDK's hardened XML codec
and its signature checked (MD5 or HMAC-SHA256, per its ``sign_type``) before any business rule runs.
Orders and refunds live in the shared ledger with ``api='v2'``, so v2 and v3 see each other's orders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..http_messages import SimRequest, SimResponse
from ..state import SimulatorState
from .bills import downloadbill
from .micropay import micropay, reverse_order
from .orders import closeorder, orderquery, unifiedorder
from .refunds import refund, refundquery
from .validate import require
from .wire import (
    XML_CONTENT_TYPE,
    BusinessError,
    ProtocolFailure,
    V2Call,
    business_failure_body,
    fail_body,
    parse_call,
    success_body,
)

__all__ = ["ROUTES", "fault_response", "handle"]

Handler = Callable[[SimulatorState, V2Call], "Mapping[str, object] | SimResponse"]

# Every v2 path and its handler. A handler returns the business fields (wrapped and signed here) or, for
# the bill file, the whole response.
ROUTES: dict[str, Handler] = {
    "/pay/unifiedorder": unifiedorder,
    "/pay/orderquery": orderquery,
    "/pay/closeorder": closeorder,
    "/secapi/pay/refund": refund,
    "/pay/refundquery": refundquery,
    "/pay/downloadbill": downloadbill,
    "/pay/micropay": micropay,
    "/secapi/pay/reverse": reverse_order,
}


def handle(sim: SimulatorState, request: SimRequest) -> SimResponse:
    """Answer one v2 request; never raises."""
    handler = ROUTES.get(request.path)
    if handler is None:
        return _response(404, fail_body("接口不存在"))
    if request.method.upper() != "POST":
        return _response(200, fail_body("请使用post方法"))
    # The route table refuses /secapi/ without a client certificate already; this keeps v2 safe on its own.
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


def fault_response(sim: SimulatorState, request: SimRequest, kind: str) -> SimResponse:
    """The fault plan's SYSTEMERROR / FREQUENCY_LIMITED, signed like any answer when the request verifies."""
    if kind == "frequency_limited":
        failure = BusinessError("FREQUENCY_LIMITED", "你的操作过于频繁，请稍后再试。")
    elif request.path == "/secapi/pay/reverse":  # a reverse that failed asks to be sent again
        failure = BusinessError("SYSTEMERROR", "系统超时，请调用撤销接口重试", {"recall": "Y"})
    else:
        failure = BusinessError("SYSTEMERROR", "系统超时，请使用相同参数重试")
    try:
        call = parse_call(request.body, mchid=sim.mchid, api_v2_key=sim.account["apiv2_key"])
    except ProtocolFailure as protocol_failure:
        return _response(200, fail_body(protocol_failure.return_msg))
    return _response(200, business_failure_body(call, call.get("appid"), sim.account["apiv2_key"], failure))


def _response(status: int, body: bytes) -> SimResponse:
    return SimResponse(status, {"content-type": XML_CONTENT_TYPE}, body)
