"""付款码 (payment code): charge the code a payer shows at a till, then see the charge through.

``charge_code_flow`` commits the attempt and its ``codepay_check`` job *before* the code is sent, so a crash
at any point leaves the worker to find out what WeChat did: a charged payer always ends with a paid order
(the query finds SUCCESS) or with the money returned (the reverse), and an order is marked paid only on
WeChat's SUCCESS. The answer is ``paid``, ``failed`` (a definite no, e.g. AUTHCODEEXPIRE: ask for a fresh
code) or ``pending``. A pending charge is queried every ~5 s (WeChat's advice) and reversed when it has not
succeeded ~30 s after it started (``check_code_charge_flow``, the job). The code is sent once and kept
nowhere: not in the attempt, the job, the call log or a log line.
"""

from __future__ import annotations

from dataclasses import dataclass

from weipay.service.domain import (
    ApiVersion,
    AttemptEvent,
    AttemptStatus,
    Channel,
    Conflict,
    NotFound,
    PaymentAttempt,
    check_auth_code,
    new_attempt_id,
    out_trade_no,
)

from .alerting import record_wechat_call
from .code_reverse import reverse_code_charge_flow, send_reverse_flow
from .flows import blocking
from .orders import order_in
from .outbox import schedule_code_check
from .payments import _apply_status, _close_or_defer, _parse, _payable, appid_for, sync_attempt_flow
from .ports import Calls, Clock, Gateway, MerchantConfig, Outcome, UnitOfWork
from .settlement import apply_attempt_event

__all__ = [
    "CHECK_EVERY_S",
    "REVERSE_AFTER_S",
    "CodeCharge",
    "charge_code",
    "charge_code_flow",
    "charge_may_be_in_flight",
    "check_code_charge",
    "check_code_charge_flow",
]

#: WeChat: query a USERPAYING or undecided charge every 5-10 s …
CHECK_EVERY_S = 5.0
#: … and reverse it when it has not succeeded within about 30 s.
REVERSE_AFTER_S = 30.0


def charge_may_be_in_flight(attempt: PaymentAttempt, now: float) -> bool:
    """A charge not yet answered (``created``) may still be on its way to WeChat until well past the client's
    deadline: a query then could find no order and end the attempt just before WeChat takes the charge. Such an
    attempt is queried only once ``REVERSE_AFTER_S`` has passed (a crash before the answer waits that long)."""
    return (
        attempt.channel == Channel.CODEPAY
        and attempt.status == AttemptStatus.CREATED
        and now - attempt.created_at < REVERSE_AFTER_S
    )


@dataclass(frozen=True, slots=True)
class CodeCharge:
    """The charge as the till needs it: ``status`` is ``paid``, ``failed`` or ``pending`` (check the order)."""

    attempt: PaymentAttempt
    status: str
    error_code: str | None = None
    error_message: str | None = None


def charge_code_flow(
    uow: UnitOfWork,
    gateway: Gateway,
    clock: Clock,
    merchant: MerchantConfig,
    order_id: str,
    auth_code: str | None,
    api: ApiVersion | str | None = None,
    client_ip: str | None = None,
) -> Calls[CodeCharge]:
    """Charge ``auth_code`` for ``order_id`` (a new attempt on channel ``codepay``).

    Another open attempt of the order (a QR code shown earlier) is closed first, as for any new payment.
    A payment-code charge already in progress is a 409 ``payment_in_progress``: one code at a time.
    """
    code = check_auth_code(auth_code)
    version = _parse(ApiVersion, api or merchant.default_api, "api")
    with uow.read() as tx:
        order = order_in(tx, order_id, merchant.mchid)
        attempts = tx.attempts.for_order(order.id)
    _payable(order, clock())
    if any(a.is_open and a.channel == Channel.CODEPAY for a in attempts):
        raise Conflict("payment_in_progress", "a payment-code charge of this order is in progress; check the order")
    appid = appid_for(merchant, Channel.CODEPAY)
    left_open = []
    for open_attempt in (a for a in attempts if a.is_open):
        if not (yield from _close_or_defer(uow, gateway, clock, open_attempt)):
            left_open.append(open_attempt.id)
    attempt = _new_code_attempt(uow, gateway, clock, order.id, version, appid, client_ip, left_open)
    answer = yield from gateway.charge_code(attempt, code)
    now = clock()
    with uow.write() as tx:
        record_wechat_call(tx, answer.call, now, order_id=attempt.order_id, attempt_id=attempt.id)
        if answer.outcome == Outcome.UNKNOWN:
            apply_attempt_event(tx, attempt.id, AttemptEvent.TIMED_OUT, now, error_code=answer.status.error_code)
        elif answer.outcome == Outcome.FAILED:
            apply_attempt_event(tx, attempt.id, AttemptEvent.REFUSED, now, error_code=answer.status.error_code,
                                error_message=(answer.error_message or "")[:250])  # fmt: skip
        else:
            _apply_status(tx, attempt, answer.status, now)
        current = tx.attempts.get(attempt.id)
    assert current is not None
    if current.status == AttemptStatus.SUCCEEDED:
        return CodeCharge(current, "paid")
    if current.status == AttemptStatus.FAILED:
        return CodeCharge(current, "failed", current.error_code, answer.error_message)
    return CodeCharge(current, "pending", answer.status.error_code or answer.status.trade_state)


charge_code = blocking(charge_code_flow)


def _new_code_attempt(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, order_id: str, api: ApiVersion, appid: str,
    client_ip: str | None, left_open: list[str],
) -> PaymentAttempt:  # fmt: skip
    """The attempt row and its check job, committed together before the code is sent."""
    now = clock()
    with uow.write() as tx:
        order = tx.orders.get(order_id, for_update=True)
        assert order is not None
        _payable(order, now)
        current = tx.attempts.for_order(order_id)
        if any(a.is_open and a.id not in left_open for a in current):
            raise Conflict("payment_in_progress", "another payment attempt was started concurrently; retry")
        seq = max((a.seq for a in current), default=0) + 1
        attempt = PaymentAttempt(
            id=new_attempt_id(), order_id=order_id, seq=seq, mchid=order.mchid, appid=appid,
            out_trade_no=out_trade_no(order_id, seq), api=api, channel=Channel.CODEPAY, status=AttemptStatus.CREATED,
            amount_fen=order.amount_fen, currency=order.currency, description=order.description,
            notify_url=gateway.notify_url(order.mchid, api), time_expire=order.expires_at, created_at=now,
            updated_at=now, client_ip=client_ip, attach=order.attach,
        )  # fmt: skip
        tx.attempts.add(attempt)
        schedule_code_check(tx, attempt.id, order_id, due_at=now + CHECK_EVERY_S, now=now)
    return attempt


def check_code_charge_flow(uow: UnitOfWork, gateway: Gateway, clock: Clock, attempt_id: str) -> Calls[float | None]:
    """The ``codepay_check`` job: when to check again, or None when the charge is settled one way or the other.

    Open: query it; still open before ``REVERSE_AFTER_S``: again in ``CHECK_EVERY_S``; after: reverse it.
    Reversed but not confirmed: send the reverse again.
    """
    with uow.read() as tx:
        attempt = tx.attempts.get(attempt_id)
    if attempt is None:
        raise NotFound("attempt_not_found", f"no payment attempt {attempt_id[:48]!r}")
    if attempt.status == AttemptStatus.REVERSED:
        return (yield from send_reverse_flow(uow, gateway, clock, attempt))
    if charge_may_be_in_flight(attempt, clock()):
        return attempt.created_at + REVERSE_AFTER_S
    if attempt.is_open:
        attempt = yield from sync_attempt_flow(uow, gateway, clock, attempt_id)
    if not attempt.is_open:
        return None  # paid, or failed (a PAYERROR one is reversed by its close job), or closed
    now = clock()
    reverse_at = attempt.created_at + REVERSE_AFTER_S
    if now < reverse_at:
        return min(now + CHECK_EVERY_S, reverse_at)
    return (yield from reverse_code_charge_flow(uow, gateway, clock, attempt))


check_code_charge = blocking(check_code_charge_flow)
