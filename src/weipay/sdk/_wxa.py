"""The mini-program server API (``api.weixin.qq.com``) on the wire: JSON in, JSON with ``errcode`` out.

These APIs are not WeChat Pay: nothing is signed. A call is authenticated by the ``access_token`` in
its query string (which is why :class:`~weipay.sdk.operation.Api.LOGIN` requests never have their query
logged), and every answer, success or not, is usually HTTP 200 with ``errcode``/``errmsg``. Codes we know
get a readable name; any other becomes ``ERRCODE_<n>`` with the number kept in ``detail``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from .errors import AccessTokenRejected, ProtocolError, WeChatRefused
from .operation import Api, HttpRequest, HttpResponse

__all__ = ["TOKEN_ERRCODES", "WXA_ERRCODE_NAMES", "json_object", "post_json", "successful_answer"]

#: errcodes of the mini-program server API, named. Names reuse the SDK's retryable vocabulary
#: (``SYSTEM_BUSY``, ``FREQUENCY_LIMITED``) so :class:`WeChatRefused.retryable` knows them.
WXA_ERRCODE_NAMES = {
    -1: "SYSTEM_BUSY",
    40001: "INVALID_CREDENTIAL",  # access_token invalid or not the latest
    40013: "INVALID_APPID",
    40014: "INVALID_ACCESS_TOKEN",
    40097: "INVALID_ARGS",
    40125: "INVALID_APPSECRET",
    40164: "IP_NOT_WHITELISTED",
    42001: "ACCESS_TOKEN_EXPIRED",
    44990: "FREQUENCY_LIMITED",
    45009: "DAILY_LIMIT_REACHED",
    45011: "FREQUENCY_LIMITED",
    47001: "DATA_FORMAT_ERROR",
    48001: "API_UNAUTHORIZED",
    # 小程序发货信息管理 (shipping information)
    10060001: "PAYMENT_NOT_FOUND",  # also seen for a few seconds right after payment, before WeChat files it
    10060003: "RESHIPPING_USED",  # the one change allowed after shipping was already used
    10060004: "NOT_SHIPPABLE",  # refunded, completed, or otherwise past shipping
    10060023: "SHIPPING_INFO_UNCHANGED",  # the same information is already on record
    10060029: "RECEIVED_TIME_UNREASONABLE",
    10060031: "PAYER_MISMATCH",  # the payment does not belong to payer.openid
}

#: The errcodes that mean "this access_token will not do": refresh it and try once more.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})


def post_json(path: str, payload: Mapping[str, object], *, access_token: str | None, idempotent: bool) -> HttpRequest:
    """A JSON ``POST`` to the mini-program host, with the token (if any) in the query string."""
    query = "?" + urlencode({"access_token": access_token}) if access_token is not None else ""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HttpRequest(
        Api.LOGIN,
        "POST",
        path + query,
        body=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        idempotent=idempotent,
    )


def successful_answer(response: HttpResponse, what: str) -> dict[str, Any]:
    """The JSON object of a successful answer, or the refusal it carries.

    Token errcodes raise :class:`AccessTokenRejected`; other errcodes and non-200 statuses raise
    :class:`WeChatRefused`; an answer that is not a JSON object raises :class:`ProtocolError`.
    """
    if response.status != 200:
        raise WeChatRefused(
            f"HTTP_{response.status}",
            f"{what}: the mini-program API answered with an error status",
            status=response.status,
        )
    data = json_object(response.body, what)
    errcode = data.get("errcode", 0)
    if errcode in (0, None):
        return data
    if not isinstance(errcode, int) or isinstance(errcode, bool):
        raise ProtocolError(f"{what} answer carries a non-integer errcode")
    refusal = AccessTokenRejected if errcode in TOKEN_ERRCODES else WeChatRefused
    code = WXA_ERRCODE_NAMES.get(errcode, f"ERRCODE_{errcode}")
    raise refusal(code, str(data.get("errmsg", "")), status=200, detail={"errcode": errcode})


def json_object(body: bytes, what: str) -> dict[str, Any]:
    """``body`` as a JSON object, or :class:`ProtocolError` naming ``what``."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ProtocolError(f"{what} answer is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{what} answer is not a JSON object")
    return data
