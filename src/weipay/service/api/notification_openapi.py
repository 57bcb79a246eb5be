"""The OpenAPI description of the notification endpoints, which ``NotificationLane`` serves outside FastAPI's routing.

A fragment of ``paths`` merged into the app's generated document: no route stands behind it, so nothing documented
is unreachable and nothing reachable is undocumented. The replies are the ones WeChat expects (v3: ``204`` or
``{"code": "FAIL", "message"}`` with a 4xx/5xx; v2: ``SUCCESS`` or ``FAIL`` XML); any failure makes WeChat retry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

__all__ = ["NOTIFICATION_PATHS", "document_notifications"]

_V3_EXAMPLE = {
    "id": "EV-2018022511223320873",
    "create_time": "2026-11-23T09:20:00+08:00",
    "resource_type": "encrypt-resource",
    "event_type": "TRANSACTION.SUCCESS",
    "summary": "支付成功",
    "resource": {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": "...",
        "associated_data": "transaction",
        "nonce": "fdasflkja484w",
    },
}
_V2_EXAMPLE = (
    "<xml><appid>wx2421b1c4370ec43b</appid><mch_id>10000100</mch_id><nonce_str>5d2b6c2a8db53831f7eda20af46e531c"
    "</nonce_str><out_trade_no>1409811653</out_trade_no><result_code>SUCCESS</result_code><return_code>SUCCESS"
    "</return_code><total_fee>1</total_fee><transaction_id>1004400740201409030005092168</transaction_id>"
    "<sign>B552ED6B279343CB493C5DD0D78AB241</sign></xml>"
)
_V3_HEADERS = (
    ("Wechatpay-Timestamp", "1795396740"),
    ("Wechatpay-Nonce", "c5ac7061fccab6bf3e254dcf98995b8c"),
    ("Wechatpay-Signature", "CtcbzwtQjN8rnOXItEBJ5aQFSnIXESeV28Pr2YEmf9wsDQ8Nx25ytW6FXBCAFdrr..."),
    ("Wechatpay-Serial", "PUB_KEY_ID_0114232134912410000000000000"),
)
_FAILURES = {  # status -> (when, message sent to WeChat)
    "400": ("verified but malformed; stored as an anomaly", "malformed notification"),
    "401": ("unverifiable (signature, timestamp window, decryption, SIGNTEST probe); stored as an anomaly",
            "signature did not verify"),
    "404": ("no such merchant", "unknown merchant"),
    "413": ("body over 64 KiB (refused before reading it)", "body too large"),
    "500": ("could not be applied now (e.g. the database is down); WeChat delivers again", "not applied, retry"),
}  # fmt: skip
_V3_FAIL_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string", "enum": ["FAIL"]}, "message": {"type": "string"}},
}


def _v3_failure(message: str) -> dict[str, Any]:
    return {"application/json": {"schema": _V3_FAIL_SCHEMA, "example": {"code": "FAIL", "message": message}}}


def _v2_xml(return_code: str, message: str) -> dict[str, Any]:
    return {"application/xml": {"schema": {"type": "string"},
                                "example": f"<xml><return_code>{return_code}</return_code>"
                                           f"<return_msg>{message}</return_msg></xml>"}}  # fmt: skip


def _operation(api: str, body: dict[str, Any], headers: list[dict[str, Any]], success: dict[str, Any],
               failure: Callable[[str], dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    failures = _FAILURES.items()
    responses = {status: {"description": when, "content": failure(message)} for status, (when, message) in failures}
    mchid = {"name": "mchid", "in": "path", "required": True, "schema": {"type": "string"}, "example": "1230000109"}
    return {
        "tags": ["notifications"],
        "summary": f"WeChat Pay API {api} payment and refund notifications",
        "description": "Called by WeChat Pay, signed by WeChat Pay (no API key). Success is answered only after the "
                       "notification is durably applied (or recorded as an anomaly); any failure makes WeChat retry.",
        "operationId": f"notify_{api}",
        "parameters": [mchid, *headers],
        "requestBody": {"required": True, "content": body},
        "responses": {**success, **responses},
    }  # fmt: skip


NOTIFICATION_PATHS: dict[str, Any] = {
    "/notify/wechatpay/v3/{mchid}": {"post": _operation(
        "v3",
        {"application/json": {"schema": {"type": "object"}, "example": _V3_EXAMPLE}},
        [{"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "example": example}
         for name, example in _V3_HEADERS],
        {"204": {"description": "received and durably applied (or recorded as an anomaly)"}},
        _v3_failure,
    )},
    "/notify/wechatpay/v2/{mchid}": {"post": _operation(
        "v2",
        {"application/xml": {"schema": {"type": "string"}, "example": _V2_EXAMPLE}},
        [],
        {"200": {"description": "received and durably applied (or recorded as an anomaly)",
                 "content": {"application/xml": {"schema": {"type": "string"}, "example": (
                     "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
                 )}}}},
        lambda message: _v2_xml("FAIL", message),
    )},
}  # fmt: skip


def document_notifications(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document include ``NOTIFICATION_PATHS`` (FastAPI generates it once, then caches it)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        document = generate()
        if first:
            document["paths"].update(NOTIFICATION_PATHS)
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the document
