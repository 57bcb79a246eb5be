"""The notification intake: one delivery from WeChat in, WeChat's reply out, only after a durable commit.

``NotificationIntake.accept(mchid, api, headers, body)`` is the one way a notification (v2 or v3, payment or
refund) enters the service:

1. verify on the event loop: the SDK's offline calls (RSA signature, timestamp window, AES-GCM or the v2 key,
   ~50 µs of pure computation). A v3 serial the merchant does not hold yet (``UnknownSerial``) is the one case
   that may need I/O (the SDK downloads platform certificates once), so only that case goes to a thread;
2. hand the verified notification to the group-commit writer, which applies it with others in one transaction
   (``usecases.accept_notifications``) and answers once that transaction has committed: a crash before it
   makes WeChat deliver again instead of losing a payment;
3. reply 204 / ``SUCCESS`` after the commit; every refusal comes from the one mapping below (``refusal``).

Unverifiable messages are refused, logged and stored as anomalies (a sample of a flood: ``WindowSampler``);
they never reach the use cases.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import anyio
import anyio.to_thread

from weipay.sdk.errors import ConfigurationError, ProtocolError, SignatureError, SignTestProbe, WeChatPayError
from weipay.sdk.v2 import notify as v2_notify
from weipay.sdk.v3 import notify as v3_notify
from weipay.sdk.v3.verifier import UnknownSerial

from .. import usecases
from ..db import SerializedWrites
from ..db.group_commit import BatchUnitOfWork, GroupCommitWriter
from ..domain import ApiVersion
from ..gateway import WeChatGateway, verify_v2, verify_v3, verify_v3_offline
from .body_limit import BodyTooLarge
from .sampling import WindowSampler

__all__ = ["NotificationIntake", "NotificationReply", "UnknownMerchant", "refusal"]

log = logging.getLogger("weipay.service.notification")

Verified = usecases.PaymentNotification | usecases.RefundNotification

# Threads for the rare off-loop work: certificate downloads for unknown serials, storing anomalies.
_THREADS = 8
# PostgreSQL writer threads: two overlap one batch's round trips with the other's work. More is worse: an
# idle writer takes the next notification alone, so batches shrink to one and lose their point.
_PG_WRITERS = 2
_MAX_BATCH = 128


class UnknownMerchant(Exception):
    """The path names a merchant this service does not serve."""


@dataclass(frozen=True, slots=True)
class NotificationReply:
    """What to answer WeChat (status, body, content type), and a short outcome label for the metrics."""

    status: int
    body: bytes
    media_type: str | None
    outcome: str


# Why a notification was not acknowledged -> (HTTP status, message for WeChat, outcome label); first match wins.
# WeChat retries every one of them on its schedule, which is what "not applied" (the fallback) relies on.
_REFUSALS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (BodyTooLarge, 413, "body too large", "too_large"),
    (UnknownMerchant, 404, "unknown merchant", "rejected"),
    (SignTestProbe, 401, "signature did not verify", "probe"),
    (SignatureError, 401, "signature did not verify", "unverifiable"),
    (ProtocolError, 400, "malformed notification", "unverifiable"),
    (ConfigurationError, 400, "malformed notification", "unverifiable"),
)
_NOT_APPLIED = (500, "not applied, retry", "error")


def refusal(api: ApiVersion, exc: Exception) -> NotificationReply:
    """The FAIL reply for ``exc``, in ``api``'s format: the one place where errors become notification replies."""
    status, message, outcome = next(
        ((status, message, outcome) for kind, status, message, outcome in _REFUSALS if isinstance(exc, kind)),
        _NOT_APPLIED,
    )
    if api == ApiVersion.V3:
        status, body = v3_notify.failure_reply(message, status)
        return NotificationReply(status, body, "application/json", outcome)
    return NotificationReply(status, v2_notify.failure_reply(message), "application/xml", outcome)


def _success(api: ApiVersion, outcome: str) -> NotificationReply:
    if api == ApiVersion.V3:
        status, body = v3_notify.success_reply()
        return NotificationReply(status, body, None, outcome)
    return NotificationReply(200, v2_notify.success_reply(), "application/xml", outcome)


class NotificationIntake:
    """Verifies deliveries, applies them in group-committed batches and chooses the replies; owns the writer."""

    def __init__(
        self,
        gateway: WeChatGateway,
        merchants: Mapping[str, usecases.MerchantConfig],
        uow: SerializedWrites,
        clock: Callable[[], float],
        *,
        junk_sampler: WindowSampler | None = None,
    ) -> None:
        self._gateway = gateway
        self._merchants = dict(merchants)
        self._uow = uow
        self._clock = clock
        self._junk = junk_sampler or WindowSampler()
        self._limiter = anyio.CapacityLimiter(_THREADS)
        self._writer: GroupCommitWriter[tuple[str, Verified], str] = _writer_for(uow, self._apply)

    def close(self) -> None:
        """Stop the writer threads (queued notifications are finished first)."""
        self._writer.close()

    async def accept(
        self, mchid: str, api: ApiVersion, headers: Mapping[str, str], body: bytes
    ) -> NotificationReply:
        """One delivery: success only once applied and committed; otherwise ``refusal``'s FAIL (WeChat retries)."""
        try:
            notification = await self._verify(mchid, api, headers, body)
            outcome = await self._writer.submit((mchid, notification))
        except Exception as exc:
            reply = refusal(api, exc)
            await self._report(mchid, api, exc, reply.outcome, body)
            return reply
        return _success(api, outcome)

    async def _verify(self, mchid: str, api: ApiVersion, headers: Mapping[str, str], body: bytes) -> Verified:
        if mchid not in self._merchants:
            raise UnknownMerchant
        if api == ApiVersion.V2:
            return verify_v2(self._gateway, mchid, body)
        try:
            return verify_v3_offline(self._gateway, mchid, headers, body)
        except UnknownSerial:  # the SDK decides whether a certificate download (I/O) may help: off the loop
            return await anyio.to_thread.run_sync(
                verify_v3, self._gateway, mchid, headers, body, limiter=self._limiter
            )

    def _apply(self, uow: BatchUnitOfWork, deliveries: list[tuple[str, Verified]]) -> list[str]:
        """The writer's batch: every (mchid, notification) applied in ``uow``'s one transaction."""
        applied = usecases.accept_notifications(uow, self._merchants, deliveries, self._clock)
        return [outcome.value for outcome in applied]

    async def _report(self, mchid: str, api: ApiVersion, exc: Exception, outcome: str, body: bytes) -> None:
        """Log a refusal as it deserves; store a sample of unverifiable messages as anomalies."""
        if outcome == "probe":
            log.info("%s signature probe from WeChat for %s answered FAIL", api, mchid)
        elif outcome == "unverifiable" and self._junk.take((mchid, api)):
            await anyio.to_thread.run_sync(self._record_unverifiable, mchid, api, exc, body, limiter=self._limiter)
        elif outcome == "error" and isinstance(exc, WeChatPayError):  # e.g. the certificate download failed
            log.warning("%s notification for %s not applied: %s", api, mchid, type(exc).__name__)
        elif outcome == "error":  # the database is down, or a bug: nothing was acknowledged that was not committed
            log.error("%s notification for %s not applied", api, mchid, exc_info=exc)

    def _record_unverifiable(self, mchid: str, api: ApiVersion, exc: Exception, body: bytes) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        log.warning("unverifiable %s notification for %s: %s (%d more not stored since start)", api, mchid, reason,
                    self._junk.skipped)  # fmt: skip
        try:
            usecases.record_anomaly(
                self._uow, self._clock, f"unverifiable_{api}_notification", mchid=mchid, reason=reason,
                size_bytes=len(body), sha256=hashlib.sha256(body).hexdigest()[:16],
            )  # fmt: skip
        except Exception:  # storing the anomaly failed: the message is still refused, and the log has it
            log.exception("could not store the anomaly for an unverifiable %s notification", api)


def _writer_for(
    uow: SerializedWrites, apply: Callable[[BatchUnitOfWork, list[tuple[str, Verified]]], list[str]]
) -> GroupCommitWriter[tuple[str, Verified], str]:
    """SQLite: one writer thread that shares the write lock (so API writers queue behind a batch, not in
    SQLite's busy handler); PostgreSQL: ``_PG_WRITERS`` threads on pooled connections."""
    if uow.dialect == "sqlite":
        return GroupCommitWriter(uow.engine, uow.write_lock, apply, threads=1, max_batch=_MAX_BATCH)
    return GroupCommitWriter(uow.engine, contextlib.nullcontext(), apply, threads=_PG_WRITERS, max_batch=_MAX_BATCH)
