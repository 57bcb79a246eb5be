"""Payment attempts: start (or resume) one, close the previous one first, and sync one by querying WeChat.

No transaction is held across a WeChat call: an attempt row is committed (with a query job as a
safety net) before WeChat is asked, and WeChat's answer is applied in a second transaction. If the
process dies in between, the query job finds out what WeChat did. The use cases that ask WeChat are
flows (``*_flow``, see ``flows``) with a blocking form of the same name without the suffix.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TypeVar

from weipay.service.domain import (
    ApiVersion,
    AttemptEvent,
    AttemptStatus,
    Channel,
    Conflict,
    InvalidInput,
    NotFound,
    Order,
    OrderStatus,
    PaymentAttempt,
    UpstreamError,
    check_openid,
    new_attempt_id,
    out_trade_no,
)

from .alerting import record_wechat_call
from .flows import blocking
from .orders import order_in
from .outbox import schedule_query, schedule_superseded_close
from .ports import (
    Calls,
    Clock,
    Gateway,
    MerchantConfig,
    Outcome,
    PaymentStatus,
    PrepayAnswer,
    Stores,
    UnitOfWork,
)
from .settlement import Applied, add_anomaly, apply_attempt_event, settle_paid
from .webhook_events import emit_webhook

__all__ = [
    "CLOSE_MARGIN_S",
    "WECHAT_CLOSE_AFTER_S",
    "WECHAT_MIN_V2_EXPIRY_S",
    "PaymentStart",
    "appid_for",
    "close_open_attempt",
    "close_open_attempt_flow",
    "query_delay_s",
    "start_payment",
    "start_payment_flow",
    "sync_attempt",
    "sync_attempt_flow",
]

logger = logging.getLogger("weipay.service.payments")
E = TypeVar("E", Channel, ApiVersion)

# When an open attempt is queried, counted from its creation, if no notification came. WeChat asks merchants to
# query within a minute when a notification is late and promises nothing about delivery, and a payer may pay
# at any moment until the order expires. So the queries never spread further apart than RELIABILITY.md's P9
# allows a missed payment to go unseen (p99 2 min, max 5 min): every minute for the first half hour, when
# nearly every payer pays, then every four minutes. An attempt abandoned for a 2-hour order costs ~55 queries.
QUERY_FIRST_AT_S = (10.0, 30.0, 60.0)
QUERY_EVERY_S = 60.0
QUERY_EVERY_S_UNTIL = 1800.0
QUERY_LATE_EVERY_S = 240.0
_UNKNOWN_QUERY_DELAY_S = 5.0
_APPID_KIND = {
    Channel.JSAPI: ("official_account",),
    Channel.MINIPROGRAM: ("miniprogram",),
    Channel.APP: ("app",),
    Channel.H5: ("official_account", "miniprogram"),
    Channel.NATIVE: ("official_account", "miniprogram", "app"),
}
_PAID_STATES = frozenset({"SUCCESS", "REFUND"})
# WeChat refuses to close one of its orders within five minutes of creating it.
WECHAT_CLOSE_AFTER_S = 300.0
# Our attempt's created_at precedes WeChat's creation of the order by the create call's latency.
CLOSE_MARGIN_S = 5.0
# v2 unifiedorder refuses a time_expire less than five minutes away (production rule).
WECHAT_MIN_V2_EXPIRY_S = 300.0
# time_expire travels in whole seconds and reaches WeChat after the call's latency: ask only with room to spare.
V2_EXPIRY_MARGIN_S = 5.0
_V2_TOO_EARLY_CODE = "FREQUENCY_LIMITED"


@dataclass(frozen=True, slots=True)
class PaymentStart:
    """What the client needs to pay: ``client_params`` is the ``wx.requestPayment`` object (jsapi,
    miniprogram), the APP ``PayReq`` object (app), ``{"code_url"}`` (native) or ``{"h5_url"}`` (h5)."""

    attempt: PaymentAttempt
    client_params: dict[str, str] = field(default_factory=dict)

    @property
    def code_url(self) -> str | None:
        """Native: the URL to show as a QR code."""
        return self.attempt.code_url

    @property
    def h5_url(self) -> str | None:
        """H5: where to send the browser."""
        return self.attempt.h5_url


def appid_for(merchant: MerchantConfig, channel: Channel, requested: str | None = None) -> str:
    """The appid a channel pays through: ``requested`` if it is one of the merchant's appids of a kind the
    channel takes (else ``appid_not_configured``), by default the first such; ``channel_not_configured`` if none."""
    usable = [appid for kind in _APPID_KIND[channel] for appid in merchant.appids_of(kind)]
    if requested is not None:
        if requested not in usable:
            raise InvalidInput("appid_not_configured",
                               f"appid {requested[:32]!r} is not one of merchant {merchant.mchid}'s for channel "
                               f"{channel.value}")  # fmt: skip
        return requested
    if usable:
        return usable[0]
    raise InvalidInput("channel_not_configured", f"merchant {merchant.mchid} has no appid for channel {channel.value}")


def query_delay_s(attempt_created_at: float, now: float) -> float:
    """Seconds from ``now`` to the next query of an attempt created at ``attempt_created_at``."""
    age_s = max(0.0, now - attempt_created_at)
    for at_s in QUERY_FIRST_AT_S:
        if at_s > age_s:
            return at_s - age_s
    if age_s < QUERY_EVERY_S_UNTIL:
        return (math.floor(age_s / QUERY_EVERY_S) + 1) * QUERY_EVERY_S - age_s
    late_s = age_s - QUERY_EVERY_S_UNTIL
    return (math.floor(late_s / QUERY_LATE_EVERY_S) + 1) * QUERY_LATE_EVERY_S - late_s


def _payable(order: Order, now: float) -> None:
    if order.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED):
        raise Conflict("order_already_paid", "the order is already paid")
    if order.status != OrderStatus.PENDING:
        raise Conflict("order_not_payable", f"the order is {order.status.value}")
    if order.expires_at <= now:
        raise Conflict("order_expired", "the order has expired")


def start_payment_flow(
    uow: UnitOfWork,
    gateway: Gateway,
    clock: Clock,
    merchant: MerchantConfig,
    order_id: str,
    channel: Channel | str,
    api: ApiVersion | str | None = None,
    payer_openid: str | None = None,
    client_ip: str | None = None,
    appid: str | None = None,
) -> Calls[PaymentStart]:
    """Start paying ``order_id`` on ``channel`` over ``api`` (default: the merchant's) and return client params.

    ``appid`` picks one of the merchant's appids of the channel's kind (default: its first).

    The same channel/api/payer again resumes the open attempt (same ``out_trade_no``, identical
    parameters: WeChat returns the same prepay). Anything else closes the open attempt at WeChat
    first, then makes a new attempt with the next ``out_trade_no``. A timeout leaves the attempt
    ``unknown`` (raises ``payment_outcome_unknown``) for a query to resolve; it is never guessed.
    """
    channel = _parse(Channel, channel, "channel")
    api = _parse(ApiVersion, api or merchant.default_api, "api")
    with uow.read() as tx:  # one read for the order and its attempts (the checkout path: every statement counts)
        order = order_in(tx, order_id, merchant.mchid)
        attempts = tx.attempts.for_order(order.id)
    _payable(order, clock())
    check_openid("payer_openid", payer_openid)
    openid = payer_openid or order.payer_openid
    if channel in (Channel.JSAPI, Channel.MINIPROGRAM) and not openid:
        raise InvalidInput("payer_openid_required", f"channel {channel.value} needs the payer's openid")
    if channel == Channel.H5 and not client_ip:
        raise InvalidInput("client_ip_required", "channel h5 needs the payer's client IP")
    appid = appid_for(merchant, channel, appid)
    open_attempts = [a for a in attempts if a.is_open]
    # Only the newest attempt can be resumed: an older open one was superseded and awaits its close.
    latest = max(attempts, key=lambda a: a.seq, default=None)
    if latest is not None and latest.is_open and _same_request(latest, channel, api, appid, openid):
        if not (latest.status == AttemptStatus.PENDING and _has_prepay(latest)):
            _check_v2_time_left(order, api, clock())
        return (yield from _resume(uow, gateway, clock, latest))
    _check_v2_time_left(order, api, clock())
    left_open = []
    for open_attempt in open_attempts:
        if not (yield from _close_or_defer(uow, gateway, clock, open_attempt)):
            left_open.append(open_attempt.id)
    attempt = _new_attempt(uow, gateway, clock, order, channel, api, appid, openid, client_ip, left_open)
    answer = yield from gateway.create_payment(attempt)
    return (yield from _apply_prepay(uow, gateway, clock, attempt, answer))


start_payment = blocking(start_payment_flow)


def _parse(kind: type[E], value: object, name: str) -> E:
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(f"invalid_{name}", f"{name} must be one of: {allowed}") from None


def _same_request(attempt: PaymentAttempt, channel: Channel, api: ApiVersion, appid: str, openid: str | None) -> bool:
    same_payer = attempt.payer_openid == openid or attempt.channel not in (Channel.JSAPI, Channel.MINIPROGRAM)
    return attempt.channel == channel and attempt.api == api and attempt.appid == appid and same_payer


def _has_prepay(attempt: PaymentAttempt) -> bool:
    return bool(attempt.prepay_id or attempt.code_url or attempt.h5_url)


def _check_v2_time_left(order: Order, api: ApiVersion, now: float) -> None:
    """v2 refuses a ``time_expire`` less than five minutes away: say so before asking (v3 has no such rule)."""
    if api == ApiVersion.V2 and order.expires_at - now < WECHAT_MIN_V2_EXPIRY_S + V2_EXPIRY_MARGIN_S:
        raise Conflict(
            "order_expiring",
            "less than five minutes left: WeChat cannot take this order; create a new one",
            expires_at=order.expires_at,
        )


def _close_or_defer(uow: UnitOfWork, gateway: Gateway, clock: Clock, attempt: PaymentAttempt) -> Calls[bool]:
    """Close a superseded attempt before starting a new one; True if it is no longer open.

    WeChat refuses closes within five minutes of an order's creation. Such a refusal does not block the
    new attempt: the old one stays pending and an expiry/close job closes it at the earliest allowed
    time. WeChat applies the rule before looking at the order, so the old attempt is queried first; if
    both end up paid, the double-payment path refunds the later one. Any other failure (a timeout, an
    ambiguous answer, a payment) raises as before.
    """
    try:
        yield from close_open_attempt_flow(uow, gateway, clock, attempt)
        return True
    except UpstreamError as error:
        earliest_at = attempt.created_at + WECHAT_CLOSE_AFTER_S + CLOSE_MARGIN_S
        if not _refused_as_too_early(error) or clock() >= earliest_at:
            raise
    current = yield from sync_attempt_flow(uow, gateway, clock, attempt.id)
    if current.status == AttemptStatus.SUCCEEDED:
        raise Conflict("order_already_paid", "the previous payment attempt was paid")
    if not current.is_open:
        return True
    now = clock()
    with uow.write() as tx:
        schedule_superseded_close(tx, attempt.id, attempt.order_id, due_at=earliest_at, now=now)
    logger.info("attempt %s superseded; WeChat allows its close from %.0f", attempt.id, earliest_at)
    return False


def _refused_as_too_early(error: UpstreamError) -> bool:
    """A close refusal that, within five minutes of the order's creation, is WeChat's five-minute rule:
    v2 answers ``FREQUENCY_LIMITED`` (which the SDK counts as retryable), v3 a definite 400. Timeouts and
    other retryable refusals (``SYSTEMERROR``) are not: they keep blocking the new attempt."""
    return bool(error.detail.get("definite_refusal")) or error.detail.get("wechat_code") == _V2_TOO_EARLY_CODE


def _resume(uow: UnitOfWork, gateway: Gateway, clock: Clock, attempt: PaymentAttempt) -> Calls[PaymentStart]:
    if attempt.status == AttemptStatus.PENDING and _has_prepay(attempt):
        return PaymentStart(attempt, gateway.client_params(attempt))
    # CREATED / UNKNOWN, or pending without prepay data: re-send the identical create (same out_trade_no).
    answer = yield from gateway.create_payment(attempt)
    return (yield from _apply_prepay(uow, gateway, clock, attempt, answer))


def _new_attempt(
    uow: UnitOfWork,
    gateway: Gateway,
    clock: Clock,
    order: Order,
    channel: Channel,
    api: ApiVersion,
    appid: str,
    openid: str | None,
    client_ip: str | None,
    left_open: list[str],
) -> PaymentAttempt:
    now = clock()
    with uow.write() as tx:
        current = tx.orders.get(order.id, for_update=True)
        assert current is not None
        _payable(current, now)
        current_attempts = tx.attempts.for_order(order.id)
        if any(a.is_open and a.id not in left_open for a in current_attempts):
            raise Conflict("payment_in_progress", "another payment attempt was started concurrently; retry")
        # A racing twin that picked the same number loses on the unique (order_id, seq).
        seq = max((a.seq for a in current_attempts), default=0) + 1
        attempt = PaymentAttempt(
            id=new_attempt_id(), order_id=order.id, seq=seq, mchid=order.mchid, appid=appid,
            out_trade_no=out_trade_no(order.id, seq), api=api, channel=channel, status=AttemptStatus.CREATED,
            amount_fen=order.amount_fen, currency=order.currency, description=order.description,
            notify_url=gateway.notify_url(order.mchid, api), time_expire=order.expires_at, created_at=now,
            updated_at=now, payer_openid=openid, client_ip=client_ip, attach=order.attach, options=order.options,
        )  # fmt: skip
        tx.attempts.add(attempt)
        schedule_query(tx, attempt.id, order.id, due_at=now + QUERY_FIRST_AT_S[0], now=now)
    return attempt


def _apply_prepay(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, attempt: PaymentAttempt, answer: PrepayAnswer
) -> Calls[PaymentStart]:
    now = clock()
    prepay = {"prepay_id": answer.prepay_id, "code_url": answer.code_url, "h5_url": answer.h5_url}
    with uow.write() as tx:
        record_wechat_call(tx, answer.call, now, order_id=attempt.order_id, attempt_id=attempt.id)
        if answer.outcome == Outcome.SUCCEEDED:
            if not apply_attempt_event(tx, attempt.id, AttemptEvent.PREPAID, now, **prepay):
                tx.attempts.touch(attempt.id, updated_at=now, **prepay)
        elif answer.outcome == Outcome.FAILED:
            apply_attempt_event(
                tx, attempt.id, AttemptEvent.REFUSED, now,
                error_code=answer.error_code, error_message=(answer.error_message or "")[:250],
            )  # fmt: skip
        else:
            apply_attempt_event(tx, attempt.id, AttemptEvent.TIMED_OUT, now)
            schedule_query(tx, attempt.id, attempt.order_id, due_at=now + _UNKNOWN_QUERY_DELAY_S, now=now)
        current = tx.attempts.get(attempt.id)
    assert current is not None
    if answer.outcome == Outcome.SUCCEEDED and current.status == AttemptStatus.PENDING:
        return PaymentStart(current, gateway.client_params(current))
    if answer.outcome == Outcome.FAILED:
        if answer.error_code in ("ORDERPAID", "OUT_TRADE_NO_USED", "ORDERCLOSED"):
            yield from sync_attempt_flow(uow, gateway, clock, attempt.id)
        raise UpstreamError(
            "wechat_refused", answer.error_message or "WeChat refused the payment", wechat_code=answer.error_code
        )
    if current.status == AttemptStatus.SUCCEEDED:
        raise Conflict("order_already_paid", "the order is already paid")
    raise UpstreamError(
        "payment_outcome_unknown",
        "WeChat did not give a verifiable answer; the attempt will be resolved by a query, retry later",
        attempt_id=attempt.id,
    )


def close_open_attempt_flow(uow: UnitOfWork, gateway: Gateway, clock: Clock, attempt: PaymentAttempt) -> Calls[None]:
    """Close an open attempt at WeChat, then locally. Raises if WeChat says it was paid or cannot tell."""
    answer = yield from gateway.close_payment(attempt)
    now = clock()
    with uow.write() as tx:
        record_wechat_call(tx, answer.call, now, order_id=attempt.order_id, attempt_id=attempt.id)
        if answer.outcome == Outcome.SUCCEEDED or answer.error_code == "ORDERCLOSED":
            apply_attempt_event(tx, attempt.id, AttemptEvent.CLOSED, now, trade_state="CLOSED")
            return
        if answer.error_code in ("ORDERNOTEXIST", "ORDER_NOT_EXIST"):
            if not apply_attempt_event(tx, attempt.id, AttemptEvent.NOT_FOUND, now, error_code=answer.error_code):
                apply_attempt_event(tx, attempt.id, AttemptEvent.CLOSED, now)
            return
    if answer.error_code == "ORDERPAID":
        yield from sync_attempt_flow(uow, gateway, clock, attempt.id)
        raise Conflict("order_already_paid", "the previous payment attempt was paid")
    raise UpstreamError(
        "previous_attempt_unresolved",
        "the previous payment attempt could not be closed at WeChat; retry later",
        attempt_id=attempt.id,
        wechat_code=answer.error_code,
        definite_refusal=answer.outcome == Outcome.FAILED,
    )


def sync_attempt_flow(uow: UnitOfWork, gateway: Gateway, clock: Clock, attempt_id: str) -> Calls[PaymentAttempt]:
    """Query WeChat about an attempt and apply the answer (the cure for lost notifications and timeouts)."""
    with uow.read() as tx:
        attempt = tx.attempts.get(attempt_id)
    if attempt is None:
        raise NotFound("attempt_not_found", f"no payment attempt {attempt_id[:48]!r}")
    if not (attempt.is_open or attempt.awaits_close):  # a PAYERROR attempt can still be paid until closed
        return attempt
    status = yield from gateway.query_payment(attempt)
    now = clock()
    with uow.write() as tx:
        tx.calls.add(status.call, order_id=attempt.order_id, attempt_id=attempt.id)
        tx.attempts.touch(attempt.id, last_synced_at=now)
        _apply_status(tx, attempt, status, now)
        current = tx.attempts.get(attempt.id)
    assert current is not None
    return current


close_open_attempt = blocking(close_open_attempt_flow)
sync_attempt = blocking(sync_attempt_flow)


def _apply_status(tx: Stores, attempt: PaymentAttempt, status: PaymentStatus, now: float) -> Applied:
    if status.outcome == Outcome.SUCCEEDED or status.trade_state in _PAID_STATES:
        mismatch = _status_mismatch(attempt, status)
        if mismatch:
            add_anomaly(
                tx, "query_mismatch", now, mchid=attempt.mchid, order_id=attempt.order_id, attempt_id=attempt.id,
                fields=mismatch,
            )  # fmt: skip
            logger.warning("query answer mismatches attempt %s: %s", attempt.id, ", ".join(mismatch))
            return Applied.ANOMALY
        return settle_paid(tx, attempt, transaction_id=status.transaction_id, paid_at=status.paid_at, now=now)
    if status.outcome == Outcome.PENDING:
        apply_attempt_event(tx, attempt.id, AttemptEvent.OPEN, now, trade_state=status.trade_state)
        return Applied.IGNORED
    if status.outcome == Outcome.FAILED:
        if status.trade_state == "CLOSED":
            event = AttemptEvent.CLOSED
        elif status.trade_state in ("PAYERROR", "REVOKED"):
            event = AttemptEvent.PAY_FAILED
        else:
            event = AttemptEvent.NOT_FOUND
        won = apply_attempt_event(
            tx, attempt.id, event, now, trade_state=status.trade_state, error_code=status.error_code
        )
        if won and event == AttemptEvent.PAY_FAILED:
            _emit_payment_failed(tx, attempt.id, now)
        if won and status.trade_state == "PAYERROR":
            # WeChat keeps a PAYERROR order payable until it is closed: close it, once its five minutes allow.
            earliest_at = attempt.created_at + WECHAT_CLOSE_AFTER_S + CLOSE_MARGIN_S
            schedule_superseded_close(tx, attempt.id, attempt.order_id, due_at=max(now, earliest_at), now=now)
        return Applied.APPLIED if won else Applied.IGNORED
    return Applied.IGNORED


def _status_mismatch(attempt: PaymentAttempt, status: PaymentStatus) -> list[str]:
    problems = []
    if status.amount_fen is not None and status.amount_fen != attempt.amount_fen:
        problems.append("amount")
    if status.currency is not None and status.currency != attempt.currency:
        problems.append("currency")
    if status.appid is not None and status.appid != attempt.appid:
        problems.append("appid")
    if status.mchid is not None and status.mchid != attempt.mchid:
        problems.append("mchid")
    return problems


def _emit_payment_failed(tx: Stores, attempt_id: str, now: float) -> None:
    """Tell the merchant a payment attempt failed at WeChat (its order stays payable: the payer may try again)."""
    attempt = tx.attempts.get(attempt_id)
    order = tx.orders.get(attempt.order_id) if attempt is not None else None
    if attempt is not None and order is not None:
        emit_webhook(tx, "payment.failed", order, now=now, key=f"payment.failed:{attempt.id}", attempt=attempt)
