"""The v3 notification path on the event loop: verify there, write in one hop, answer after the commit.

Verification (RSA signature, timestamp window, AES-GCM decryption, ~50 µs) is pure computation and runs
on the event loop with the merchant's verifier and API v3 key; it cannot do I/O here: a notification
signed with a serial we do not hold (``UnknownSerial``, which may need a certificate download) takes the
general thread path of :class:`NotificationInbox` instead. The write then happens in one hop:

- SQLite: the :class:`GroupCommitWriter` thread (several notifications per transaction, one fsync);
- PostgreSQL: one short transaction on a pooled connection in a worker thread (writers run concurrently;
  duplicates meet on the unique event id and the compare-and-set).

Either way the use case is the same ``accept_payment_notification`` / ``accept_refund_notification``,
and the reply is chosen only after its transaction committed.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.to_thread

from weipay.sdk.errors import ConfigurationError, ProtocolError, SignatureError, SignTestProbe, WeChatPayError
from weipay.sdk.v3.notify import Notification, parse_notification
from weipay.sdk.v3.verifier import UnknownSerial

from ..gateway import verify_v3
from .group_commit import GroupCommitWriter
from .inbox import NotifyReply, v3_failure, v3_success
from .runtime import Runtime

__all__ = ["FastNotifyPath"]

log = logging.getLogger("weipay.service.notify")

# PostgreSQL: enough threads to overlap the round trips to the server, within the engine's pool.
_PG_THREADS = 16


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
    """``accept_v3`` for the route; owns the SQLite group-commit writer."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._offline = _OfflineVerification(runtime)
        self._writer: GroupCommitWriter | None = None
        if runtime.uow.dialect == "sqlite":
            # Share SerializedWrites' lock, so API writers in other threads queue behind a batch.
            lock = getattr(runtime.uow, "write_lock", None) or contextlib.nullcontext()
            self._writer = GroupCommitWriter(runtime.uow.engine, lock)
        self._limiter = anyio.CapacityLimiter(_PG_THREADS)

    def close(self) -> None:
        """Stop the writer thread (queued notifications are finished first)."""
        if self._writer is not None:
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
        apply = functools.partial(runtime.accept_notification, mchid, notice)
        try:
            if self._writer is not None:
                outcome = await self._writer.submit(apply)
            else:
                outcome = await anyio.to_thread.run_sync(apply, limiter=self._limiter)
        except WeChatPayError as exc:
            log.warning("v3 notification for %s not applied: %s", mchid, type(exc).__name__)
            return v3_failure(500, "not applied, retry", "error")
        except Exception:  # the database is down or a bug: never acknowledge what was not committed
            log.exception("v3 notification for %s not applied", mchid)
            return v3_failure(500, "not applied, retry", "error")
        return v3_success(outcome)
