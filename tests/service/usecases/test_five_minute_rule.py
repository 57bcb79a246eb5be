"""WeChat's five-minute rules when starting payments (the simulator in ``strict`` mode, as production):

- v2 ``time_expire`` must be at least five minutes away: a v2 payment on an order with less left is refused
  up front with ``order_expiring`` (no WeChat call, no failed attempt); v3 has no such rule and still starts.
- Switching channel within five minutes of the previous attempt: WeChat refuses to close the previous one yet,
  so it stays pending, its close is scheduled at the earliest allowed time, and the new attempt starts. If both
  get paid, the order is paid once and the later payment is refunded automatically.
"""

from __future__ import annotations

import pytest

from weipay.service.domain import AttemptStatus, Conflict, OrderStatus, RefundKind, RefundStatus, UpstreamError
from weipay.service.gateway import WeChatGateway
from weipay.service.usecases import CreateOrder, create_order, order_details, order_events, start_payment
from weipay.service.usecases.outbox import EXPIRE_ORDER
from weipay.service.usecases.payments import V2_EXPIRY_MARGIN_S

from ..core_harness import MCHID, Core

APIS = ["v3", "v2"]
CLOSE_AFTER_S = 300


def _strict(core: Core) -> None:
    core.sim.strict = True
    core.gateway = WeChatGateway(
        {MCHID: core.gateway.client(MCHID)}, notify_base_url="https://service.test", clock=core.clock
    )


def _order(core: Core, number: str, ttl_s: int = 1800):
    return create_order(
        core.uow, core.merchant, CreateOrder(number, 900, "tea", expire_after_s=ttl_s), clock=core.clock
    )


def _start(core: Core, order_id: str, channel: str, api: str):
    return start_payment(core.uow, core.gateway, core.clock, core.merchant, order_id, channel, api).attempt


def _closes(core: Core, order_id: str) -> list[tuple[float, str]]:
    return [
        (c.created_at, c.endpoint)
        for c in order_events(core.uow, order_id).calls
        if c.direction == "outbound" and "close" in c.endpoint
    ]


def _close_jobs(core: Core, order_id: str, attempt_id: str):
    with core.uow.read() as tx:
        jobs = tx.jobs.list(kind=EXPIRE_ORDER, order_id=order_id)
    return [j for j in jobs if j.payload.get("attempt_id") == attempt_id]


def test_v2_with_less_than_five_minutes_left_is_refused_before_wechat(core: Core) -> None:
    _strict(core)
    order = _order(core, "v2-expiring", ttl_s=300)
    core.advance(10)
    with pytest.raises(Conflict) as refused:
        _start(core, order.id, "native", "v2")
    assert refused.value.code == "order_expiring"
    assert refused.value.message == "less than five minutes left: WeChat cannot take this order; create a new one"
    details = order_details(core.uow, order.id)
    assert details.order.status == OrderStatus.PENDING
    assert details.attempts == []  # nothing marked failed
    assert not [c for c in order_events(core.uow, order.id).calls if c.direction == "outbound"]


def test_v2_needs_five_minutes_and_a_margin_left(core: Core) -> None:
    _strict(core)
    exact = _order(core, "v2-exactly-five", ttl_s=400)
    core.advance(100)
    # Exactly five minutes: time_expire goes in whole seconds and arrives after the call's latency, so
    # WeChat would see less; refused up front.
    with pytest.raises(Conflict) as refused:
        _start(core, exact.id, "native", "v2")
    assert refused.value.code == "order_expiring"
    roomy = _order(core, "v2-five-and-margin", ttl_s=400)
    core.advance(400 - 300 - V2_EXPIRY_MARGIN_S)
    attempt = _start(core, roomy.id, "native", "v2")
    assert attempt.status == AttemptStatus.PENDING
    assert core.sim_order(attempt.out_trade_no).state == "NOTPAY"


def test_v3_with_less_than_five_minutes_left_still_starts_under_production_rules(core: Core) -> None:
    _strict(core)
    order = _order(core, "v3-expiring", ttl_s=300)
    core.advance(200)
    attempt = _start(core, order.id, "native", "v3")
    assert attempt.status == AttemptStatus.PENDING
    assert core.sim_order(attempt.out_trade_no).state == "NOTPAY"


def test_v2_switch_from_v3_with_little_time_left_keeps_the_open_attempt(core: Core) -> None:
    _strict(core)
    order = _order(core, "v2-switch-expiring", ttl_s=300)
    first = _start(core, order.id, "native", "v3")
    core.advance(30)
    with pytest.raises(Conflict) as refused:
        _start(core, order.id, "app", "v2")
    assert refused.value.code == "order_expiring"
    details = order_details(core.uow, order.id)
    assert [(a.id, a.status) for a in details.attempts] == [(first.id, AttemptStatus.PENDING)]
    assert not _closes(core, order.id)  # the check comes before the previous attempt is closed


@pytest.mark.parametrize("api", APIS)
def test_switching_channel_within_five_minutes_defers_the_close(core: Core, api: str) -> None:
    _strict(core)
    order = _order(core, f"switch-{api}")
    first = _start(core, order.id, "native", api)
    core.advance(60)
    second = _start(core, order.id, "app", api)
    assert second.status == AttemptStatus.PENDING and second.id != first.id
    details = order_details(core.uow, order.id)
    assert [a.status for a in details.attempts] == [AttemptStatus.PENDING, AttemptStatus.PENDING]
    assert core.sim_order(first.out_trade_no).state == "NOTPAY"
    (job,) = _close_jobs(core, order.id, first.id)
    assert first.created_at + CLOSE_AFTER_S <= job.due_at <= first.created_at + CLOSE_AFTER_S + 10

    # The new attempt is the one resumed; the superseded one is never handed out again.
    again = _start(core, order.id, "app", api)
    assert again.id == second.id
    third = _start(core, order.id, "native", api)
    assert third.id not in (first.id, second.id) and third.seq == 3

    switched_at = core.clock()
    core.advance(200)
    core.run_jobs()
    assert core.sim_order(first.out_trade_no).state == "NOTPAY"  # not yet five minutes
    core.advance(60)
    core.run_jobs()
    assert core.sim_order(first.out_trade_no).state == "CLOSED"
    assert core.sim_order(second.out_trade_no).state == "NOTPAY"  # younger by a minute
    core.advance(60)
    core.run_jobs()
    assert core.sim_order(second.out_trade_no).state == "CLOSED"
    assert core.sim_order(third.out_trade_no).state == "NOTPAY"
    closes = _closes(core, order.id)
    # Three refused closes at the switches (first; then first and second), then one close each, on time.
    assert len([at for at, _ in closes if at == switched_at]) == 3
    later = [at for at, _ in closes if at > switched_at]
    assert len(later) == 2 and min(later) >= first.created_at + CLOSE_AFTER_S
    core.pay(third.out_trade_no)
    details = order_details(core.uow, order.id)
    assert (details.order.status, details.order.paid_attempt_id) == (OrderStatus.PAID, third.id)
    assert [a.status for a in details.attempts] == [AttemptStatus.CLOSED, AttemptStatus.CLOSED, AttemptStatus.SUCCEEDED]
    assert not details.refunds


@pytest.mark.parametrize("api", APIS)
def test_both_attempts_paid_after_a_switch_pays_once_and_refunds_the_later(core: Core, api: str) -> None:
    _strict(core)
    order = _order(core, f"double-{api}")
    first = _start(core, order.id, "native", api)
    core.advance(60)
    second = _start(core, order.id, "app", api)
    core.pay(second.out_trade_no)
    core.advance(30)
    core.pay(first.out_trade_no)  # the old QR code, still open at WeChat, is scanned too
    assert core.sim_order(first.out_trade_no).state == "SUCCESS"
    core.run_jobs()
    core.advance(600)
    core.run_jobs()
    details = order_details(core.uow, order.id)
    assert details.order.status == OrderStatus.PAID
    assert (details.order.paid_attempt_id, details.order.paid_fen) == (second.id, 900)
    assert details.order.refunded_fen == 0
    auto = [r for r in details.refunds if r.kind == RefundKind.DUPLICATE_PAYMENT]
    assert len(details.refunds) == 1 and len(auto) == 1
    assert (auto[0].attempt_id, auto[0].amount_fen, auto[0].status) == (first.id, 900, RefundStatus.SUCCEEDED)
    assert core.sim_order(first.out_trade_no).state == "REFUND"
    assert core.sim_order(second.out_trade_no).state == "SUCCESS"
    assert "double_payment" in [a.kind for a in order_events(core.uow, order.id).anomalies]


@pytest.mark.parametrize("api", APIS)
def test_superseded_attempt_is_closed_even_after_the_new_one_paid(core: Core, api: str) -> None:
    _strict(core)
    order = _order(core, f"paid-then-close-{api}")
    first = _start(core, order.id, "native", api)
    core.advance(30)
    second = _start(core, order.id, "app", api)
    core.pay(second.out_trade_no)
    core.advance(CLOSE_AFTER_S)
    core.run_jobs()
    assert core.sim_order(first.out_trade_no).state == "CLOSED"
    details = order_details(core.uow, order.id)
    assert details.order.status == OrderStatus.PAID
    assert [a.status for a in details.attempts] == [AttemptStatus.CLOSED, AttemptStatus.SUCCEEDED]
    assert not details.refunds


@pytest.mark.parametrize("api", APIS)
def test_switch_after_an_unnotified_payment_reveals_it(core: Core, api: str) -> None:
    _strict(core)
    core.faults(notify_drop_rate=1.0)
    order = _order(core, f"paid-unnotified-{api}")
    first = _start(core, order.id, "native", api)
    core.advance(60)
    core.pay(first.out_trade_no)
    with pytest.raises(Conflict) as refused:
        _start(core, order.id, "app", api)
    assert refused.value.code == "order_already_paid"
    details = order_details(core.uow, order.id)
    assert (details.order.status, details.order.paid_attempt_id) == (OrderStatus.PAID, first.id)
    assert len(details.attempts) == 1


@pytest.mark.parametrize(
    ("api", "fault", "path"),
    [
        ("v2", "timeout_rate", "/pay/closeorder"),
        ("v2", "system_error_rate", "/pay/closeorder"),
        ("v3", "timeout_rate", "/v3/pay/transactions/out-trade-no/"),
    ],
)
def test_a_close_that_times_out_or_errors_still_blocks_the_switch(core: Core, api: str, fault: str, path: str) -> None:
    _strict(core)
    order = _order(core, f"close-{fault}-{api}")
    first = _start(core, order.id, "native", api)
    core.advance(60)
    core.faults(**{fault: 1.0, "paths": [path]})
    with pytest.raises(UpstreamError) as unresolved:
        _start(core, order.id, "app", api)
    assert unresolved.value.code == "previous_attempt_unresolved"
    details = order_details(core.uow, order.id)
    assert [(a.id, a.status) for a in details.attempts] == [(first.id, AttemptStatus.PENDING)]
    assert not _close_jobs(core, order.id, first.id)
