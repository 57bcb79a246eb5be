"""A request id for every HTTP request: on the response (``X-Request-Id``), on every log line, in every 500 body.

One pure ASGI middleware, outermost, so the notification lane's own answers carry the header too. A well-formed
``X-Request-Id`` from the reverse proxy (nginx's ``$request_id``) is kept, so the proxy's access log and ours
name the same id; anything else (missing, too long, characters a log line must not hold) is replaced by a fresh
one. While the request is handled the id is bound in structlog's context variables, which the log formatter
(:mod:`weipay.service.logs`) adds to every record, ours and uvicorn's alike; anyio's worker threads (the
database lanes) run in a copy of that context, so their lines carry it too.

The unexpected-error handler runs in Starlette's outermost middleware, after this one has unbound the id, so the
id is also kept in the scope (:func:`request_id_of`) for it to log and answer with.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from structlog.contextvars import bind_contextvars, reset_contextvars

__all__ = ["REQUEST_ID_HEADER", "RequestId", "request_id_of"]

REQUEST_ID_HEADER = "X-Request-Id"
_HEADER = REQUEST_ID_HEADER.lower().encode()
_SCOPE_KEY = "weipay.request_id"
# Ids from the proxy: nginx's $request_id (32 hex digits), UUIDs, and the like; nothing that could forge a log line.
_WELL_FORMED = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_id_of(scope: Scope) -> str | None:
    """The id this request was given, once :class:`RequestId` has seen it."""
    value = scope.get(_SCOPE_KEY)
    return value if isinstance(value, str) else None


class RequestId:
    """Give each HTTP request an id, bind it for logging while the request runs, and answer with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming(scope) or secrets.token_hex(16)
        scope[_SCOPE_KEY] = request_id
        header = (_HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A new list: the response's own header list may be shared (a prebuilt reply).
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        tokens = bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            reset_contextvars(**tokens)


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER:
            return value.decode("ascii") if _WELL_FORMED.fullmatch(value) else None
    return None
