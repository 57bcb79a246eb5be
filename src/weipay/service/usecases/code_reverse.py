"""Reversing a payment-code charge (付款码): decide first, then ask WeChat until it confirms.

WeChat's rule for a charge that has not succeeded within ~30 s is to reverse it: the order is closed for good
and a payment that went through is returned to the payer. The decision commits before the reverse is sent
(attempt ``reversed``, trade_state ``REVERSING``, with the ``codepay_check`` job that sends it again), so a
payment landing between our last query and the reverse is returned, never applied: ``reversed`` has no way
back in the transition table. A crash after the decision leaves the job to send the reverse.
"""

from __future__ import annotations

import logging

from weipay.service.domain import AttemptEvent, AttemptStatus, PaymentAttempt

from .alerting import record_wechat_call
from .outbox import schedule_code_check
from .ports import Calls, Clock, Gateway, Outcome, UnitOfWork
from .settlement import add_anomaly, apply_attempt_event

__all__ = ["REVERSED_STATE", "REVERSE_RETRY_S", "REVERSING_STATE", "reverse_code_charge_flow", "send_reverse_flow"]

logger = logging.getLogger("weipay.service.codepay")

#: How soon an unanswered (or refused-for-now) reverse is sent again: WeChat says "call it again".
REVERSE_RETRY_S = 10.0
REVERSING_STATE = "REVERSING"  # decided here, not yet confirmed by WeChat
REVERSED_STATE = "REVOKED"  # WeChat's trade_state once reversed
# The answers after which there is nothing left to reverse at WeChat.
_NOTHING_TO_REVERSE = frozenset({"ORDERNOTEXIST", "ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS"})


def reverse_code_charge_flow(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, attempt: PaymentAttempt
) -> Calls[float | None]:
    """Decide to reverse ``attempt`` (if it is still open or failed), then send the reverse.

    Returns when to send it again (None once WeChat confirmed it or nothing is left to reverse). If the
    decision loses its race (the attempt was paid meanwhile), nothing is reversed.
    """
    now = clock()
    with uow.write() as tx:
        won = apply_attempt_event(tx, attempt.id, AttemptEvent.REVERSED, now, trade_state=REVERSING_STATE)
        if won:
            schedule_code_check(tx, attempt.id, attempt.order_id, due_at=now + REVERSE_RETRY_S, now=now)
        current = tx.attempts.get(attempt.id)
    assert current is not None
    if current.status != AttemptStatus.REVERSED:
        return None
    return (yield from send_reverse_flow(uow, gateway, clock, current))


def send_reverse_flow(uow: UnitOfWork, gateway: Gateway, clock: Clock, attempt: PaymentAttempt) -> Calls[float | None]:
    """Send the decided reverse of ``attempt`` once; when to send it again, or None when it is done."""
    if attempt.status != AttemptStatus.REVERSED or attempt.trade_state == REVERSED_STATE:
        return None
    answer = yield from gateway.reverse_payment(attempt)
    now = clock()
    with uow.write() as tx:
        record_wechat_call(tx, answer.call, now, order_id=attempt.order_id, attempt_id=attempt.id)
        if answer.outcome == Outcome.SUCCEEDED or answer.error_code in _NOTHING_TO_REVERSE:
            tx.attempts.touch(attempt.id, trade_state=REVERSED_STATE, updated_at=now)
            return None
        if answer.outcome == Outcome.FAILED:
            # WeChat will not reverse it (too late, refunded, not a code order): any money it holds needs a person.
            tx.attempts.touch(attempt.id, error_code=answer.error_code, updated_at=now)
            add_anomaly(tx, "reverse_refused", now, mchid=attempt.mchid, order_id=attempt.order_id,
                        attempt_id=attempt.id, wechat_code=answer.error_code)  # fmt: skip
            logger.error("reverse of attempt %s refused by WeChat: %s", attempt.id, answer.error_code)
            return None
    logger.warning("reverse of attempt %s unanswered (%s); sending it again", attempt.id, answer.error_code)
    return now + REVERSE_RETRY_S
