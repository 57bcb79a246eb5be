"""The notification inbox: verify with the SDK, hand the verified object to the use case, choose the reply.

The general path, in a worker thread (sync SDK, sync database): v3 notifications signed with a serial the
merchant does not hold yet (the certificate download is I/O), and storing unverifiable messages; verified
v2 and v3 notifications take ``notify_fast``'s group-commit path. The reply is decided only after the use
case has committed: success means "durably applied or durably recorded as an anomaly"; any failure to
commit answers FAIL so WeChat delivers again. Unverifiable messages are stored as anomalies, logged, and never
reach the use case.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from weipay.sdk.errors import ConfigurationError, ProtocolError, SignatureError, SignTestProbe, WeChatPayError
from weipay.sdk.v2 import notify as v2_notify
from weipay.sdk.v3 import notify as v3_notify

from .sampling import WindowSampler

__all__ = ["NotificationInbox", "NotifyReply", "not_applied"]

log = logging.getLogger("weipay.service.notify")

_V2_XML = "application/xml"
_V3_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class NotifyReply:
    """What to answer WeChat, and a short outcome label for metrics."""

    status: int
    body: bytes
    media_type: str | None
    outcome: str


def v3_failure(status: int, message: str, outcome: str = "rejected") -> NotifyReply:
    """``{"code": "FAIL", "message": …}`` with a 4xx/5xx status (WeChat retries)."""
    code, body = v3_notify.failure_reply(message, status)
    return NotifyReply(code, body, _V3_JSON, outcome)


def v2_failure(status: int, message: str, outcome: str = "rejected") -> NotifyReply:
    """FAIL XML (WeChat retries)."""
    return NotifyReply(status, v2_notify.failure_reply(message), _V2_XML, outcome)


class NotificationInbox:
    """Turns raw deliveries into replies.

    ``verify_v3(mchid, headers, body)`` returns the use cases' notice or raises the SDK's ``SignatureError`` /
    ``ProtocolError``; ``accept(mchid, notice) -> outcome`` commits before it
    returns; ``record_unverifiable(mchid, api, reason, body)`` stores an anomaly.
    """

    def __init__(
        self,
        mchids: frozenset[str],
        verify_v3: Callable[[str, Mapping[str, str], bytes], Any],
        accept: Callable[[str, Any], str],
        record_unverifiable: Callable[[str, str, str, bytes], None],
        junk_sampler: WindowSampler | None = None,
    ) -> None:
        self._mchids = mchids
        self._verify_v3 = verify_v3
        self._accept = accept
        self._record_unverifiable = record_unverifiable
        self._junk = junk_sampler or WindowSampler()

    def accept_v3(self, mchid: str, headers: Mapping[str, str], body: bytes) -> NotifyReply:
        """One v3 delivery: 204 after commit; 401 unverifiable; 404 unknown merchant; 500 retry later."""
        if mchid not in self._mchids:
            return v3_failure(404, "unknown merchant")
        try:
            notice = self._verify_v3(mchid, headers, body)
        except SignTestProbe:
            log.info("v3 signature probe from WeChat for %s answered FAIL", mchid)
            return v3_failure(401, "signature did not verify", "probe")
        except (SignatureError, ProtocolError, ConfigurationError) as exc:
            return self.unverifiable(mchid, "v3", exc, body, v3_failure)
        return self._apply(mchid, "v3", notice, v3_success, v3_failure)

    def _apply(
        self,
        mchid: str,
        api: str,
        notice: Any,
        success: Callable[[str], NotifyReply],
        failure: Callable[[int, str, str], NotifyReply],
    ) -> NotifyReply:
        try:
            outcome = self._accept(mchid, notice)
        except Exception as exc:
            return not_applied(api, mchid, exc, failure)
        return success(outcome)

    def unverifiable(
        self, mchid: str, api: str, exc: Exception, body: bytes, failure: Callable[[int, str, str], NotifyReply]
    ) -> NotifyReply:
        """Log and store an anomaly for a message that did not verify (a sample of a flood: the first few per merchant
        and API each minute; the outcome counter counts them all); the FAIL reply (401, or 400 if malformed)."""
        if self._junk.take((mchid, api)):
            reason = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("unverifiable %s notification for %s: %s (%d more not stored since start)", api, mchid,
                        reason, self._junk.skipped)  # fmt: skip
            try:
                self._record_unverifiable(mchid, api, reason, body)
            except Exception:  # storing the anomaly failed: still refuse the message, the log has it
                log.exception("could not store the anomaly for an unverifiable %s notification", api)
        status = 401 if isinstance(exc, SignatureError) else 400
        message = "signature did not verify" if status == 401 else "malformed notification"
        return failure(status, message, "unverifiable")


def not_applied(
    api: str, mchid: str, exc: Exception, failure: Callable[[int, str, str], NotifyReply]
) -> NotifyReply:
    """The 500 FAIL for a notification that could not be applied (WeChat delivers again); logged.

    A ``WeChatPayError`` is expected trouble (a warning); anything else, the database being down or a bug,
    is logged with its traceback. Either way nothing is acknowledged that was not committed.
    """
    if isinstance(exc, WeChatPayError):
        log.warning("%s notification for %s not applied: %s", api, mchid, type(exc).__name__)
    else:
        log.error("%s notification for %s not applied", api, mchid, exc_info=exc)
    return failure(500, "not applied, retry", "error")


def v3_success(outcome: str) -> NotifyReply:
    """204, no body."""
    status, body = v3_notify.success_reply()
    return NotifyReply(status, body, None, outcome)


def v2_success(outcome: str) -> NotifyReply:
    """SUCCESS XML."""
    return NotifyReply(200, v2_notify.success_reply(), _V2_XML, outcome)
