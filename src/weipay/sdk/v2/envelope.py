"""The v2 envelope: sign a request's fields, and check an answer before anything reads it.

An answer is trusted in this order (RELIABILITY T18): HTTP 200; well-formed flat XML;
``return_code`` (FAIL is a refusal and carries no signature); a valid ``sign`` over every received
field with the request's sign type; ``appid``/``mch_id`` equal to ours; only then ``result_code``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..errors import ConfigurationError, ProtocolError, UnverifiableResponse, WeChatRefused
from ..operation import Api, Context, HttpRequest, HttpResponse
from .signing import SignType, sign, verify
from .xmlcodec import from_xml, to_xml

__all__ = ["XML_HEADERS", "check_http", "check_response", "refusal_from_fail", "signed_request"]

XML_HEADERS: Mapping[str, str] = MappingProxyType({"content-type": "text/xml; charset=utf-8"})

# WeChat's wording for a bad signature in return_msg, old and new, Chinese and English.
_SIGN_ERROR_MARKERS = ("签名错误", "SIGN ERROR", "SIGNERROR", "签名失败")


def signed_request(
    ctx: Context,
    path: str,
    fields: Mapping[str, str | None],
    *,
    sign_type: SignType,
    idempotent: bool = False,
    mtls: bool = False,
) -> HttpRequest:
    """A POST of ``fields`` plus ``mch_id``, ``nonce_str``, (``sign_type``) and ``sign``."""
    key = ctx.credentials.require_v2_key()
    message: dict[str, str] = {name: value for name, value in fields.items() if value is not None}
    message["mch_id"] = ctx.credentials.mchid
    nonce = ctx.nonce()
    if not 1 <= len(nonce) <= 32 or not nonce.isascii() or not nonce.isalnum():
        raise ConfigurationError("the nonce source must return 1-32 ASCII letters or digits (nonce_str)")
    message["nonce_str"] = nonce
    if sign_type is SignType.HMAC_SHA256:
        message["sign_type"] = sign_type.value
    message["sign"] = sign(message, key, sign_type)
    return HttpRequest(
        api=Api.V2,
        method="POST",
        path=path,
        body=to_xml(message),
        headers=XML_HEADERS,
        idempotent=idempotent,
        mtls=mtls,
    )


def refusal_from_fail(fields: Mapping[str, str], response: HttpResponse) -> WeChatRefused:
    """The refusal for a ``return_code=FAIL`` answer (protocol level: signature, format, parameters)."""
    message = fields.get("return_msg") or "return_code FAIL"
    upper = message.upper()
    code = "SIGNERROR" if any(marker in upper for marker in _SIGN_ERROR_MARKERS) else "FAIL"
    detail = {name: value for name, value in fields.items() if name != "sign"}
    return WeChatRefused(code, message, status=response.status, detail=detail, request_id=response.request_id)


def check_http(response: HttpResponse) -> None:
    """Any status but 200 is a refusal carrying that status (5xx is retryable)."""
    if response.status != 200:
        raise WeChatRefused(
            "HTTP_ERROR",
            f"WeChat answered HTTP {response.status}",
            status=response.status,
            request_id=response.request_id,
        )


def check_response(response: HttpResponse, ctx: Context, *, appid: str, sign_type: SignType) -> dict[str, str]:
    """The fields of a verified, successful answer; raises for everything else.

    ``WeChatRefused`` for HTTP errors and FAIL envelopes, ``ProtocolError`` for malformed XML,
    ``UnverifiableResponse`` for a SUCCESS envelope that is unsigned, badly signed or not ours.
    """
    check_http(response)
    try:
        fields = from_xml(response.body, root="xml")
    except ProtocolError as exc:
        raise ProtocolError(f"unreadable v2 answer: {exc.message}", request_id=response.request_id) from exc
    return_code = fields.get("return_code")
    if return_code == "FAIL":
        raise refusal_from_fail(fields, response)
    if return_code != "SUCCESS":
        raise ProtocolError("v2 answer has no valid return_code", request_id=response.request_id)
    if not verify(fields, ctx.credentials.require_v2_key(), sign_type):
        raise UnverifiableResponse("v2 answer signature did not verify", request_id=response.request_id)
    if fields.get("mch_id") != ctx.credentials.mchid or fields.get("appid") != appid:
        raise UnverifiableResponse("v2 answer names another appid or mch_id", request_id=response.request_id)
    result_code = fields.get("result_code")
    if result_code is None:
        raise ProtocolError("v2 answer has no result_code", request_id=response.request_id)
    if result_code != "SUCCESS":
        code = fields.get("err_code") or "FAIL"
        message = fields.get("err_code_des") or fields.get("return_msg") or "result_code FAIL"
        detail = {name: value for name, value in fields.items() if name != "sign"}
        raise WeChatRefused(code, message, status=response.status, detail=detail, request_id=response.request_id)
    return fields
