"""Ending an ABNORMAL refund: WeChat could not pay the money back, and holds it until the merchant acts.

v3 merchants apply for an abnormal refund (WeChat's apply-abnormal-refund): the money goes to the
payer's bank card or to the merchant's bank account, the refund is ``processing`` again and WeChat's
SUCCESS ends it like any refund (notification, or the sync job's query). API v2 has no such call: the
merchant settles it outside WeChat (merchant portal, cash, transfer) and an operator records how it
ended: ``succeeded`` (the payer has the money: counted as refunded) or ``failed`` (the money stayed
with the merchant: it becomes refundable again). Both keep the amount reserved until then.
"""

from __future__ import annotations

import json
import re

from weipay.service.domain import (
    REFUND_TRANSITIONS,
    ApiVersion,
    CallRecord,
    Conflict,
    InvalidInput,
    Refund,
    RefundEvent,
    RefundStatus,
    UpstreamError,
    sources_of,
)

from .alerting import record_wechat_call
from .flows import blocking
from .outbox import schedule_refund_sync
from .ports import AbnormalRefundApplication, Calls, Clock, Gateway, Outcome, RefundAnswer, UnitOfWork
from .refunds import get_refund
from .settlement import settle_refund

__all__ = [
    "ABNORMAL_REFUND_TYPES",
    "RESOLUTIONS",
    "apply_abnormal_refund",
    "apply_abnormal_refund_flow",
    "resolve_abnormal_refund",
]

ABNORMAL_REFUND_TYPES = {"user_bank_card": "USER_BANK_CARD", "merchant_bank_card": "MERCHANT_BANK_CARD"}
RESOLUTIONS = ("succeeded", "failed")
_QUERY_DELAY_S = 30.0
_NOTE_MAX_CHARS = 200
_BANK_TYPE = re.compile(r"[A-Z_]{1,16}")
_BANK_ACCOUNT = re.compile(r"[0-9]{10,30}")


def apply_abnormal_refund_flow(
    uow: UnitOfWork,
    gateway: Gateway,
    clock: Clock,
    refund_id: str,
    mchid: str | None,
    *,
    type: str,
    bank_type: str | None = None,
    bank_account: str | None = None,
    real_name: str | None = None,
) -> Calls[Refund]:
    """Send an ABNORMAL v3 refund again (``type``: ``user_bank_card`` or ``merchant_bank_card``).

    WeChat took it (or its answer was lost): ``processing``, queried until WeChat ends it. WeChat refused
    it: ``abnormal_refund_refused`` with WeChat's code, and the refund stays ``abnormal``.
    """
    refund = _abnormal(uow, refund_id, mchid)
    if refund.api != ApiVersion.V3:
        raise Conflict("abnormal_refund_unavailable", "API v2 has no abnormal-refund call: settle it outside "
                       "WeChat, then POST .../resolve")  # fmt: skip
    application = _application(type, bank_type, bank_account, real_name)
    if refund.refund_id is None:
        raise Conflict("abnormal_refund_unavailable", "WeChat's refund_id of this refund is not known yet")
    answer = yield from gateway.apply_abnormal_refund(refund, application)
    now = clock()
    with uow.write() as tx:
        record_wechat_call(tx, answer.call, now, order_id=refund.order_id, refund_id=refund.id)
        if answer.outcome != Outcome.FAILED:
            # Taken, or the answer lost: processing either way; the sync job's query tells which (a query
            # still answering ABNORMAL holds it again), so nothing waits on an operator's retry.
            redirected = REFUND_TRANSITIONS[(RefundStatus.ABNORMAL, RefundEvent.REDIRECT)]
            sources = sources_of(REFUND_TRANSITIONS, RefundEvent.REDIRECT)
            if tx.refunds.compare_and_set(refund.id, sources, status=redirected, updated_at=now):
                schedule_refund_sync(tx, refund.id, refund.order_id, due_at=now + _QUERY_DELAY_S, now=now)
                if answer.outcome == Outcome.SUCCEEDED and answer.status == "SUCCESS":
                    settle_refund(tx, refund, succeeded=True, now=now, refund_id=answer.refund_id)
    if answer.outcome == Outcome.FAILED:
        raise _refused(answer)
    return get_refund(uow, refund.id)


apply_abnormal_refund = blocking(apply_abnormal_refund_flow)


def resolve_abnormal_refund(
    uow: UnitOfWork, clock: Clock, refund_id: str, mchid: str | None, *, outcome: str, note: str | None = None,
    operator: str = "api",
) -> Refund:
    """Record how an operator ended an ABNORMAL v2 refund outside WeChat: ``succeeded`` or ``failed``.

    v3 refunds end through WeChat (apply-abnormal-refund, then its SUCCESS), so they are refused here.
    """
    if outcome not in RESOLUTIONS:
        raise InvalidInput("invalid_outcome", "outcome must be 'succeeded' or 'failed'")
    if note is not None and len(note) > _NOTE_MAX_CHARS:
        raise InvalidInput("invalid_note", f"note must be at most {_NOTE_MAX_CHARS} characters")
    refund = _abnormal(uow, refund_id, mchid)
    if refund.api != ApiVersion.V2:
        raise Conflict("resolve_unavailable", "a v3 abnormal refund ends through WeChat: POST .../abnormal-refund")
    now = clock()
    with uow.write() as tx:
        settle_refund(tx, refund, succeeded=outcome == "succeeded", now=now, error_code=f"RESOLVED_{outcome.upper()}")
        tx.refunds.touch(refund.id, error_message=(note or "")[:_NOTE_MAX_CHARS] or None)
        # The operator's word goes into the order's timeline, next to WeChat's calls and notifications.
        tx.calls.add(
            CallRecord(
                direction="inbound", api="operator", endpoint="refunds/resolve", outcome=outcome, latency_ms=0,
                mchid=refund.mchid, request_body=json.dumps({"outcome": outcome, "note": note, "by": operator},
                                                            ensure_ascii=False)[:4000],
                created_at=now,
            ),
            order_id=refund.order_id, refund_id=refund.id,
        )  # fmt: skip
    return get_refund(uow, refund.id)


def _abnormal(uow: UnitOfWork, refund_id: str, mchid: str | None) -> Refund:
    refund = get_refund(uow, refund_id, mchid)
    if refund.status not in sources_of(REFUND_TRANSITIONS, RefundEvent.REDIRECT):
        raise Conflict("refund_not_abnormal", f"the refund is {refund.status.value}, not abnormal",
                       status=refund.status.value)  # fmt: skip
    return refund


def _application(
    kind: str, bank_type: str | None, bank_account: str | None, real_name: str | None
) -> AbnormalRefundApplication:
    """WeChat's rules, checked before the call: a card refund needs all three fields, an account one none."""
    wechat_type = ABNORMAL_REFUND_TYPES.get(kind)
    if wechat_type is None:
        raise InvalidInput("invalid_type", "type must be 'user_bank_card' or 'merchant_bank_card'")
    fields = (bank_type, bank_account, real_name)
    if wechat_type == "MERCHANT_BANK_CARD":
        if any(value is not None for value in fields):
            raise InvalidInput("invalid_abnormal_refund", "merchant_bank_card takes no bank fields")
        return AbnormalRefundApplication(wechat_type)
    if not (bank_type and bank_account and real_name):
        raise InvalidInput("invalid_abnormal_refund", "user_bank_card needs bank_type, bank_account and real_name")
    # WeChat's field rules, so that a malformed card never reaches WeChat (the API's schema says the same).
    if not (_BANK_TYPE.fullmatch(bank_type) and _BANK_ACCOUNT.fullmatch(bank_account) and len(real_name) <= 64):
        raise InvalidInput("invalid_abnormal_refund", "bank_type, bank_account or real_name is malformed")
    return AbnormalRefundApplication(wechat_type, bank_type, bank_account, real_name)


def _refused(answer: RefundAnswer) -> UpstreamError:
    return UpstreamError("abnormal_refund_refused", f"WeChat refused the application: {answer.error_message or ''}",
                         wechat_code=answer.error_code)  # fmt: skip
