"""``POST /notify/wechatpay/{v3,v2}/{mchid}``: the one way in for a notification, plain ASGI in front of FastAPI.

The lane answers these paths itself, without routing, dependency solving and the exception middlewares (which
cost more than verifying a signature): it reads the body with ``read_body`` (413 before reading past 64 KiB),
calls ``NotificationIntake.accept`` and sends its reply. There is no FastAPI route behind it; the OpenAPI
document describes the paths from ``notification_openapi``. No authentication: WeChat's signature is the auth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..domain import ApiVersion
from .body_limit import BodyTooLarge, read_body
from .notification_intake import NotificationIntake, NotificationReply, refusal

__all__ = ["MAX_NOTIFICATION_BODY_BYTES", "NotificationLane"]

MAX_NOTIFICATION_BODY_BYTES = 64 * 1024
_PREFIXES = (("/notify/wechatpay/v3/", ApiVersion.V3), ("/notify/wechatpay/v2/", ApiVersion.V2))


@dataclass(frozen=True)
class _Route:
    """What the metrics middleware reads from ``scope["route"]``: the path template, as for FastAPI's routes."""

    path: str


_ROUTES = {api: _Route(f"{prefix}{{mchid}}") for prefix, api in _PREFIXES}
# Other methods on these paths: the answer FastAPI gave when routes stood here, in the service's error format.
_METHOD_NOT_ALLOWED = NotificationReply(
    405, b'{"error":{"code":"method_not_allowed","message":"Method Not Allowed"}}', "application/json", "rejected"
)


def _target(scope: Scope) -> tuple[ApiVersion, str] | None:
    """(api, mchid) for ``/notify/wechatpay/{v3,v2}/{mchid}``, else None."""
    if scope["type"] != "http":
        return None
    path: str = scope["path"]
    for prefix, api in _PREFIXES:
        if path.startswith(prefix):
            mchid = path[len(prefix):]
            return (api, mchid) if mchid and "/" not in mchid else None
    return None


class NotificationLane:
    """Serves notifications with ``intake``; passes every other request on to ``app``."""

    def __init__(
        self, app: ASGIApp, intake: NotificationIntake, counter: Any, limit_bytes: int = MAX_NOTIFICATION_BODY_BYTES
    ) -> None:
        self.app = app
        self._intake = intake
        self._counter = counter  # weipay_notifications{api, outcome}
        self._limit_bytes = limit_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a notification, or pass the request on."""
        target = _target(scope)
        if target is None:
            await self.app(scope, receive, send)
            return
        api, mchid = target
        scope["route"] = _ROUTES[api]
        if scope["method"] != "POST":
            await _send(send, _METHOD_NOT_ALLOWED, [(b"allow", b"POST")])
            return
        try:
            body = await read_body(scope, receive, self._limit_bytes)
        except BodyTooLarge as exc:
            # The unread rest of the body must not be taken for the next request on this connection.
            reply, extra = refusal(api, exc), [(b"connection", b"close")]
        else:
            reply, extra = await self._intake.accept(mchid, api, Headers(scope=scope), body), []
        self._counter.labels(api.value, reply.outcome).inc()
        await _send(send, reply, extra)


async def _send(send: Send, reply: NotificationReply, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-length", str(len(reply.body)).encode()), *extra]
    if reply.media_type:
        headers.append((b"content-type", reply.media_type.encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
