"""Refuse request bodies above a size, before they are read: one pure ASGI middleware in front of everything.

Every ``/v1``, console and notify endpoint sits behind it, so nothing parses (or even buffers) more than the limit
before authentication: three 200 MB bodies once took the process from 104 MB to 1.3 GB. A ``Content-Length`` over
the limit is answered ``413`` at once, without reading a byte. A body without one (chunked) is read up to the limit
and then handed on from memory; one byte more and the answer is ``413`` and the rest is never read.

``read_body`` is the one body reader with those rules; the notification lane (which answers in WeChat's format,
in front of this middleware) reads its bodies with it too.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["DEFAULT_MAX_BODY_BYTES", "BodyLimit", "BodyTooLarge", "read_body"]

DEFAULT_MAX_BODY_BYTES = 64 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """The body is (or says it is) longer than the limit; what was read of it is dropped."""


async def read_body(scope: Scope, receive: Receive, limit_bytes: int) -> bytes:
    """The whole request body, or :class:`BodyTooLarge` without reading past ``limit_bytes``.

    A ``Content-Length`` above the limit is refused before a byte is read; otherwise chunks are read until the body
    ends (or the client goes away) and refused as soon as their total passes the limit.
    """
    declared = _content_length(scope)
    if declared is not None and declared > limit_bytes:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit_bytes:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class BodyLimit:
    """``413 {"error": {"code": "body_too_large", ...}}`` for bodies above ``limit_bytes``."""

    def __init__(self, app: ASGIApp, limit_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit_bytes = limit_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.limit_bytes:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)  # the server stops the body at Content-Length
            return
        if _chunked(scope):
            try:
                body = await read_body(scope, receive, self.limit_bytes)
            except BodyTooLarge:
                await self._refuse(send)
                return
            await self.app(scope, _replay(body, receive), send)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": {
            "code": "body_too_large", "message": f"request bodies are limited to {self.limit_bytes} bytes",
        }}).encode()  # fmt: skip
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the unread rest of the body must not be taken for the next request
        ]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _chunked(scope: Scope) -> bool:
    return any(name == b"transfer-encoding" and b"chunked" in value.lower() for name, value in scope.get("headers", ()))


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would report it

    return replay
