"""The v3 notification path on the event loop: verify there, write in one hop, answer after the commit.

Verification (RSA signature, timestamp window, AES-GCM decryption, ~50 µs) is pure computation and runs
on the event loop with the merchant's verifier and API v3 key; it cannot do I/O here: a notification
signed with a serial we do not hold (``UnknownSerial``, which may need a certificate download) takes the
general thread path of :class:`NotificationInbox` instead. The write then happens in one hop:

- SQLite: the :class:`GroupCommitWriter`'s one thread (several notifications per transaction, one fsync);
- PostgreSQL: the same with two threads on pooled connections, so that round trips overlap (duplicates
  meet on the unique event id and the compare-and-set).

Either way the batch goes to the use cases together (``accept_payment_notifications``: a few statements per
batch, whatever its size), and each reply is chosen only after its batch's transaction committed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.to_thread
from starlette.datastructures import Headers

from weipay.sdk.errors import ConfigurationError, ProtocolError, SignatureError, SignTestProbe
from weipay.sdk.v3.notify import Notification, parse_notification
from weipay.sdk.v3.verifier import UnknownSerial

from ..db.group_commit import BatchUnitOfWork, GroupCommitWriter
from ..gateway import verify_v3
from .inbox import NotifyReply, not_applied, v2_failure, v2_success, v3_failure, v3_success
from .state import ApiState as Runtime

__all__ = ["FastNotifyPath", "NotifyFastLane"]

log = logging.getLogger("weipay.service.notify")

# Threads for the general (off-loop) path: unknown serials and unverifiable messages.
_THREADS = 8
# PostgreSQL writer threads: two overlap one batch's round trips with the other's work. More is worse: an
# idle writer takes the next notification alone, so batches shrink to one and lose their point.
_PG_WRITERS = 2


class _OfflineClient:
    def __init__(self, client: Any) -> None:
        self._client = client

    def v3_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        return parse_notification(self._client.verifier, self._client.credentials.require_v3_key(), headers, body)


class _OfflineVerification:
    """Stands in for the gateway in ``verify_v3``: the SDK's parser with the client's verifier and key, no I/O."""

    def __init__(self, runtime: Runtime) -> None:
        self._clients = {mchid: _OfflineClient(merchant.client) for mchid, merchant in runtime.merchants.items()}

    def client(self, mchid: str) -> _OfflineClient:
        return self._clients[mchid]

    def notice(self, mchid: str, headers: Mapping[str, str], body: bytes) -> Any:
        """The use cases' notice; raises what the SDK raises (``UnknownSerial`` included)."""
        return verify_v3(self, mchid, headers, body)  # type: ignore[arg-type]


class FastNotifyPath:
    """``accept_v3`` for the route; owns the group-commit writer."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._offline = _OfflineVerification(runtime)
        if runtime.uow.dialect == "sqlite":
            # Share SerializedWrites' lock, so API writers in other threads queue behind a batch.
            lock = getattr(runtime.uow, "write_lock", None) or contextlib.nullcontext()
            self._writer = GroupCommitWriter(runtime.uow.engine, lock, self._apply, threads=1, max_batch=128)
        else:
            self._writer = GroupCommitWriter(runtime.uow.engine, contextlib.nullcontext(), self._apply,
                                             threads=_PG_WRITERS, max_batch=128)
        self._limiter = anyio.CapacityLimiter(_THREADS)

    def _apply(self, uow: BatchUnitOfWork, deliveries: list[tuple[str, Any]]) -> list[str]:
        return self._runtime.accept_notifications(deliveries, uow)

    def close(self) -> None:
        """Stop the writer threads (queued notifications are finished first)."""
        self._writer.close()

    async def accept_v3(self, mchid: str, headers: Mapping[str, str], body: bytes) -> NotifyReply:
        """One v3 delivery: 204 after commit; 401 unverifiable; 404 unknown merchant; 500 retry later."""
        runtime = self._runtime
        if mchid not in runtime.merchants:
            return v3_failure(404, "unknown merchant")
        try:
            notice = self._offline.notice(mchid, headers, body)
        except SignTestProbe:
            log.info("v3 signature probe from WeChat for %s answered FAIL", mchid)
            return v3_failure(401, "signature did not verify", "probe")
        except UnknownSerial:  # may need a certificate download (I/O): the general path, off the loop
            return await anyio.to_thread.run_sync(runtime.inbox.accept_v3, mchid, headers, body, limiter=self._limiter)
        except (SignatureError, ProtocolError, ConfigurationError) as exc:
            return await anyio.to_thread.run_sync(
                runtime.inbox.unverifiable, mchid, "v3", exc, body, v3_failure, limiter=self._limiter
            )
        return await self._write(mchid, "v3", notice, v3_success, v3_failure)

    async def accept_v2(self, mchid: str, body: bytes) -> NotifyReply:
        """One v2 delivery: SUCCESS after commit; 401/400 unverifiable; 404 unknown merchant; 500 retry later.

        Verifying v2 needs only the merchant's API key (MD5/HMAC-SHA256 over the fields, or AES for a
        refund's ``req_info``): no I/O, so it runs on the loop, and the write joins the same batches as v3.
        """
        runtime = self._runtime
        if mchid not in runtime.merchants:
            return v2_failure(404, "unknown merchant")
        try:
            notice = runtime.verify_v2(mchid, body)
        except (SignatureError, ProtocolError, ConfigurationError) as exc:
            return await anyio.to_thread.run_sync(
                runtime.inbox.unverifiable, mchid, "v2", exc, body, v2_failure, limiter=self._limiter
            )
        return await self._write(mchid, "v2", notice, v2_success, v2_failure)

    async def _write(
        self,
        mchid: str,
        api: str,
        notice: Any,
        success: Callable[[str], NotifyReply],
        failure: Callable[[int, str, str], NotifyReply],
    ) -> NotifyReply:
        try:
            outcome = await self._writer.submit((mchid, notice))
        except Exception as exc:
            return not_applied(api, mchid, exc, failure)
        return success(outcome)


_PREFIXES = (("/notify/wechatpay/v3/", "v3"), ("/notify/wechatpay/v2/", "v2"))


def _notify_target(scope: Any) -> tuple[str, str]:
    """(api, mchid) for ``POST /notify/wechatpay/{v3,v2}/{mchid}``, else ("", "")."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return "", ""
    path: str = scope.get("path", "")
    for prefix, api in _PREFIXES:
        if path.startswith(prefix):
            mchid = path[len(prefix):]
            return (api, mchid) if mchid and "/" not in mchid else ("", "")
    return "", ""


class NotifyFastLane:
    """Plain ASGI in front of FastAPI for ``POST /notify/wechatpay/{v3,v2}/{mchid}``.

    The FastAPI routes stay (OpenAPI, and the same behaviour); this lane answers the same requests without
    routing, dependency solving and the exception middlewares, which cost more than verifying a signature.
    It sets ``scope["route"]`` to the matching route so the metrics middleware labels it the same way.
    """

    def __init__(
        self, app: Any, fast: FastNotifyPath, routes: Mapping[str, Any], counter: Any, limit_bytes: int
    ) -> None:
        self.app = app
        self._fast = fast
        self._routes = routes
        self._counter = counter
        self._limit_bytes = limit_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve a notification, or pass the request on."""
        api, mchid = _notify_target(scope)
        if not mchid:
            await self.app(scope, receive, send)
            return
        scope["route"] = self._routes[api]
        headers = Headers(scope=scope)
        body = await self._read(headers, receive)
        if body is None:
            reply = (v3_failure if api == "v3" else v2_failure)(413, "body too large", "too_large")
        elif api == "v3":
            reply = await self._fast.accept_v3(mchid, headers, body)
        else:
            reply = await self._fast.accept_v2(mchid, body)
        self._counter.labels(api, reply.outcome).inc()
        response_headers = [(b"content-length", str(len(reply.body)).encode())]
        if reply.media_type:
            response_headers.append((b"content-type", reply.media_type.encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": response_headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def _read(self, headers: Headers, receive: Any) -> bytes | None:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)
