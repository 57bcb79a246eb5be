"""API v3 on WeChat's real paths: authenticate the merchant, route, answer, sign the answer.

Every answer except the bill file is signed (PROTOCOL.md §3.11), with the WeChat Pay public key when the
request carries ``Wechatpay-Serial: PUB_KEY_ID_…`` or the merchant is in public-key mode, else with the
platform certificate. A request without a valid ``Authorization`` gets ``401 SIGN_ERROR`` with WeChat's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from weipay.sdk.errors import SignatureError
from weipay.sdk.v3.signing import AuthorizationParams, parse_authorization, request_message
from weipay.sdk.v3.wechat_side import (
    MESSAGE_BAD_AUTHORIZATION,
    MESSAGE_BAD_SIGNATURE,
    encrypt_certificates_response,
    verify_request,
)

from ..http_messages import SimRequest, SimResponse
from ..state import SimulatorState
from ..wechat_keys import response_uses_public_key, signed_headers
from . import abnormal_refunds, bills, codepay, orders, refunds
from .errors import V3Error

__all__ = ["ROUTES", "fault_response", "handle"]

Handler = Callable[[SimulatorState, SimRequest, dict[str, str]], SimResponse]


def _certificates(sim: SimulatorState, request: SimRequest, _: dict[str, str]) -> SimResponse:
    if sim.account["verification"] == "public_key":
        raise V3Error(404, "RESOURCE_NOT_EXISTS",
                      "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。"
                      "可查看指引https://pay.weixin.qq.com/doc/v3/merchant/4012153196")
    algorithm = request.query_params().get("algorithm_type", "RSA")
    if algorithm not in ("RSA", "SM2", "ALL"):
        raise V3Error(400, "PARAM_ERROR", "algorithm_type 取值错误")
    certificates = [] if algorithm == "SM2" else [sim.account["platform_certificate"]]
    body = encrypt_certificates_response(sim.account["apiv3_key"].encode(), certificates)
    return SimResponse(200, {"content-type": "application/json; charset=utf-8"}, body)


_SEGMENT = r"(?P<id>[^/]+)"
# Every v3 path: (method, whole-path pattern, handler). Named groups become the handler's path parameters.
ROUTES: tuple[tuple[str, re.Pattern[str], Handler], ...] = (
    ("POST", re.compile(r"/v3/pay/transactions/(?P<channel>jsapi|app|h5|native)"), orders.prepay),
    ("POST", re.compile(r"/v3/pay/transactions/codepay"), codepay.codepay),
    ("POST", re.compile(rf"/v3/pay/transactions/out-trade-no/{_SEGMENT}/reverse"), codepay.reverse_order),
    ("GET", re.compile(rf"/v3/pay/transactions/out-trade-no/{_SEGMENT}"), orders.query_by_out_trade_no),
    ("GET", re.compile(rf"/v3/pay/transactions/id/{_SEGMENT}"), orders.query_by_transaction_id),
    ("POST", re.compile(rf"/v3/pay/transactions/out-trade-no/{_SEGMENT}/close"), orders.close),
    ("POST", re.compile(r"/v3/refund/domestic/refunds"), refunds.create),
    ("GET", re.compile(rf"/v3/refund/domestic/refunds/{_SEGMENT}"), refunds.query),
    ("POST", re.compile(rf"/v3/refund/domestic/refunds/{_SEGMENT}/apply-abnormal-refund"),
     abnormal_refunds.apply_abnormal_refund),
    ("GET", re.compile(r"/v3/certificates"), _certificates),
    ("GET", re.compile(r"/v3/bill/tradebill"), bills.trade_bill),
    ("GET", re.compile(r"/v3/bill/fundflowbill"), bills.fundflow_bill),
    ("GET", re.compile(r"/v3/billdownload/file"), bills.download),
)


def _match(request: SimRequest) -> tuple[Handler, dict[str, str]] | V3Error:
    path_matched = False
    for method, pattern, handler in ROUTES:
        match = pattern.fullmatch(request.path)
        if match is None:
            continue
        path_matched = True
        if method == request.method.upper():
            return handler, {name: unquote(value) for name, value in match.groupdict().items()}
    if path_matched:
        return V3Error(405, "METHOD_NOT_ALLOWED", f"不支持的请求方法 {request.method}")
    return V3Error(404, "NOT_FOUND", "请求的资源不存在")


def _authenticate(sim: SimulatorState, request: SimRequest) -> AuthorizationParams:
    header = request.header("authorization")
    try:
        params = parse_authorization(header)
    except SignatureError:
        raise V3Error(401, "SIGN_ERROR", MESSAGE_BAD_AUTHORIZATION) from None
    if params.mchid != sim.mchid:
        raise V3Error(400, "MCH_NOT_EXISTS", "商户号不存在")
    if params.serial_no.upper() != sim.account["merchant_serial_no"]:
        raise V3Error(401, "SIGN_ERROR", "商户证书序列号有误。请使用签名私钥匹配的证书序列号",
                      {"field": "serial_no", "location": "authorization", "value": params.serial_no})
    try:
        verify_request(sim.account["merchant_public_key"], request.method.upper(), request.canonical_url,
                       request.headers, request.body, sim.wall_now())
    except SignatureError as exc:
        message = str(exc)
        detail = None
        if message == MESSAGE_BAD_SIGNATURE:
            signed = request_message(request.method, request.canonical_url, params.timestamp, params.nonce_str,
                                     request.body).decode(errors="replace")
            detail = {
                "field": "signature", "location": "authorization", "detail": {"issue": "sign not match"},
                "sign_information": {"method": request.method.upper(), "url": request.canonical_url,
                                     "sign_message_length": len(signed),
                                     "truncated_sign_message": signed[:120]},
            }
        raise V3Error(401, "SIGN_ERROR", message, detail) from None
    return params


def _sign(sim: SimulatorState, request: SimRequest, response: SimResponse) -> SimResponse:
    use_public_key = response_uses_public_key(sim, request.header("wechatpay-serial"))
    response.headers.update(signed_headers(sim, response.body, public_key=use_public_key))
    return response


def handle(sim: SimulatorState, request: SimRequest) -> SimResponse:
    """Answer one ``/v3/…`` request."""
    routed = _match(request)
    try:
        if isinstance(routed, V3Error):
            raise routed
        handler, params = routed
        _authenticate(sim, request)
        response = handler(sim, request, params)
    except V3Error as error:
        response = SimResponse.json(error.status, error.payload())
    if response.headers.get("x-weipay-unsigned") == "1":
        response.headers.pop("x-weipay-unsigned")
        return response
    return _sign(sim, request, response)


_FAULTS = {
    "system_error": V3Error(500, "SYSTEM_ERROR", "系统异常，请稍后重试"),
    "frequency_limited": V3Error(429, "FREQUENCY_LIMITED", "请求频率超过限制，请稍后重试"),
}


def fault_response(sim: SimulatorState, request: SimRequest, kind: str) -> SimResponse:
    """An injected v3 error (``SYSTEM_ERROR`` 500, ``FREQUENCY_LIMITED`` 429), signed like any answer."""
    error = _FAULTS.get(kind, _FAULTS["system_error"])
    return _sign(sim, request, SimResponse.json(error.status, error.payload()))
