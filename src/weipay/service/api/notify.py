"""``POST /notify/wechatpay/{v3,v2}/{mchid}``: the hot path, kept lean.

The handlers read the body with a hard 64 KiB cap (413 before reading more), verify it on the event loop
(pure computation) and hand the notice to the group-commit writer (``notify_fast``). No
authentication dependency, no body model, no ORM read-then-write: WeChat's signature is the auth and the
use case applies the transition by compare-and-set. The reply goes out only after the commit, so a
crash before it makes WeChat retry instead of losing the payment.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Request, Response

from .inbox import NotifyReply, v2_failure, v3_failure
from .notify_fast import FastNotifyPath, NotifyFastLane
from .state import ApiState as Runtime

__all__ = ["MAX_NOTIFY_BODY_BYTES", "build_notify_router", "install_fast_lane", "read_limited"]

MAX_NOTIFY_BODY_BYTES = 64 * 1024

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
_V3_DOC: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"example": _V3_EXAMPLE}}},
    "parameters": [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "example": example}
        for name, example in (
            ("Wechatpay-Timestamp", "1795396740"),
            ("Wechatpay-Nonce", "c5ac7061fccab6bf3e254dcf98995b8c"),
            ("Wechatpay-Signature", "CtcbzwtQjN8rnOXItEBJ5aQFSnIXESeV28Pr2YEmf9wsDQ8Nx25ytW6FXBCAFdrr..."),
            ("Wechatpay-Serial", "PUB_KEY_ID_0114232134912410000000000000"),
        )
    ],
    "responses": {
        "204": {"description": "received and durably applied (or recorded as an anomaly)"},
        "401": {"description": "unverifiable (signature, timestamp window, decryption); stored as an anomaly",
                "content": {"application/json": {"example": {"code": "FAIL", "message": "signature did not verify"}}}},
        "413": {"description": "body over 64 KiB",
                "content": {"application/json": {"example": {"code": "FAIL", "message": "body too large"}}}},
    },
}
_V2_DOC: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/xml": {"example": _V2_EXAMPLE}}},
    "responses": {
        "200": {"description": "received and durably applied",
                "content": {"application/xml": {"example": "<xml><return_code><![CDATA[SUCCESS]]></return_code>"
                                                           "<return_msg><![CDATA[OK]]></return_msg></xml>"}}},
        "401": {"description": "unverifiable; stored as an anomaly",
                "content": {"application/xml": {"example": "<xml><return_code>FAIL</return_code>"
                                                           "<return_msg>signature did not verify</return_msg></xml>"}}},
    },
}


class BodyTooLarge(Exception):
    """The body exceeded the cap."""


async def read_limited(request: Request, limit_bytes: int = MAX_NOTIFY_BODY_BYTES) -> bytes:
    """The whole body, or :class:`BodyTooLarge` as soon as it passes ``limit_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit_bytes:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _reply(reply: NotifyReply) -> Response:
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type)


def runtime_fast_path(runtime: Runtime) -> FastNotifyPath:
    """The runtime's one :class:`FastNotifyPath` (built on first use, closed with the runtime)."""
    fast = getattr(runtime, "_fast_notify", None)
    if fast is None:
        fast = FastNotifyPath(runtime)
        runtime.on_close.append(fast.close)
        runtime._fast_notify = fast  # type: ignore[attr-defined]
    return fast


def install_fast_lane(app: Any, runtime: Runtime) -> None:
    """Put :class:`NotifyFastLane` in front of the app's routing (call before the metrics middleware)."""
    # What the metrics middleware reads: the route templates, as for requests FastAPI routes.
    routes = {api: SimpleNamespace(path=f"/notify/wechatpay/{api}/{{mchid}}") for api in ("v3", "v2")}
    app.add_middleware(NotifyFastLane, fast=runtime_fast_path(runtime), routes=routes,
                       counter=runtime.metrics.notifications, limit_bytes=MAX_NOTIFY_BODY_BYTES)


def build_notify_router(runtime: Runtime) -> APIRouter:
    """Both notify endpoints, bound to ``runtime`` (no per-request dependency resolution)."""
    router = APIRouter(prefix="/notify/wechatpay", tags=["notifications"])
    counter = runtime.metrics.notifications
    fast = runtime_fast_path(runtime)

    @router.post("/v3/{mchid}", summary="WeChat Pay API v3 payment and refund notifications", openapi_extra=_V3_DOC,
                 status_code=204, response_class=Response)
    async def notify_v3(mchid: str, request: Request) -> Response:
        try:
            body = await read_limited(request)
        except BodyTooLarge:
            counter.labels("v3", "too_large").inc()
            return _reply(v3_failure(413, "body too large"))
        reply = await fast.accept_v3(mchid, request.headers, body)
        counter.labels("v3", reply.outcome).inc()
        return _reply(reply)

    @router.post("/v2/{mchid}", summary="WeChat Pay API v2 payment and refund notifications", openapi_extra=_V2_DOC,
                 response_class=Response)
    async def notify_v2(mchid: str, request: Request) -> Response:
        try:
            body = await read_limited(request)
        except BodyTooLarge:
            counter.labels("v2", "too_large").inc()
            return _reply(v2_failure(413, "body too large"))
        reply = await fast.accept_v2(mchid, body)
        counter.labels("v2", reply.outcome).inc()
        return _reply(reply)

    return router
