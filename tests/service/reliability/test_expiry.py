"""T15: unpaid orders end after their TTL, never closed at WeChat within 5 minutes of the WeChat order's creation
(WeChat refuses such closes), a close answered ORDERPAID ends paid, and nothing stays open past its TTL.

The simulator runs in ``strict`` mode here, so it enforces WeChat's five-minute rule on closes as production does.
"""

from __future__ import annotations

import pytest

from weipay.service.domain import AttemptStatus, OrderStatus, UpstreamError
from weipay.service.gateway import WeChatGateway
from weipay.service.usecases import CreateOrder, create_order, order_details, order_events, start_payment
from weipay.service.usecases.payments import V2_EXPIRY_MARGIN_S

from ..core_harness import MCHID, Core

WECHAT_MIN_CLOSE_AFTER_S = 300
# The shortest order a payment can start on: v2 wants time_expire five minutes away when WeChat reads it.
SHORTEST_TTL_S = {"v3": 300, "v2": int(300 + V2_EXPIRY_MARGIN_S)}


def _strict(core: Core) -> None:
    """Production rules at the simulator (five-minute close rule, https notify_url without a port)."""
    core.sim.strict = True
    core.gateway = WeChatGateway(
        {MCHID: core.gateway.client(MCHID)}, notify_base_url="https://service.test", clock=core.clock
    )


def _order(core: Core, number: str, ttl_s: int, api: str | None, channel: str = "native"):
    order = create_order(
        core.uow, core.merchant, CreateOrder(number, 900, "tea", expire_after_s=ttl_s), clock=core.clock
    )
    attempt = None
    if api is not None:
        attempt = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, channel, api).attempt
    return order, attempt


def _closes(core: Core, order_id: str) -> list[tuple[float, str]]:
    return [
        (c.created_at, c.outcome)
        for c in order_events(core.uow, order_id).calls
        if c.direction == "outbound" and "close" in c.endpoint
    ]


def _run_until(core: Core, until: float, step_s: float = 20) -> None:
    while core.clock() < until:
        core.advance(step_s)
        core.run_jobs(rounds=20)


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_short_ttl_orders_are_closed_after_ttl_but_never_within_five_minutes(core: Core, api: str) -> None:
    _strict(core)
    core.faults(notify_drop_rate=1.0)
    made = [_order(core, f"short-{api}-{ttl}", ttl, api) for ttl in (SHORTEST_TTL_S[api], 400)]
    made.append(_order(core, f"no-attempt-{api}", 300, None))
    start = core.clock()
    _run_until(core, start + 3 * 3600)
    for order, attempt in made:
        details = order_details(core.uow, order.id)
        assert details.order.status == OrderStatus.EXPIRED, order.merchant_order_no
        assert details.order.updated_at >= order.expires_at
        if attempt is None:
            continue
        assert details.attempts[0].status == AttemptStatus.CLOSED
        closes = _closes(core, order.id)
        assert closes, "the WeChat order was closed explicitly"
        assert all(at - attempt.created_at >= WECHAT_MIN_CLOSE_AFTER_S for at, _ in closes), closes
        assert core.sim_order(attempt.out_trade_no).state == "CLOSED"


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_minimum_ttl_order_waits_for_wechat_five_minutes_before_closing(core: Core, api: str) -> None:
    # The shortest order that can start under production rules: 300 s on v3; on v2, whose time_expire must be
    # five minutes away when WeChat reads it, 300 s plus the margin the service keeps for latency.
    _strict(core)
    order, attempt = _order(core, f"min-ttl-{api}", SHORTEST_TTL_S[api], api)
    assert attempt.status == AttemptStatus.PENDING
    _run_until(core, order.created_at + 3600, step_s=15)
    details = order_details(core.uow, order.id)
    assert details.order.status == OrderStatus.EXPIRED
    assert details.attempts[0].status == AttemptStatus.CLOSED
    assert core.sim_order(attempt.out_trade_no).state == "CLOSED"
    closes = [
        (c.created_at, c.outcome, c.wechat_code)
        for c in order_events(core.uow, order.id).calls
        if c.direction == "outbound" and "close" in c.endpoint
    ]
    # No close inside the five minutes (WeChat would refuse it). v2 may find it already closed at its time_expire.
    assert all(
        at - attempt.created_at >= WECHAT_MIN_CLOSE_AFTER_S and (outcome == "ok" or code == "ORDERCLOSED")
        for at, outcome, code in closes
    ), closes


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_close_answered_orderpaid_ends_paid(core: Core, api: str) -> None:
    core.faults(notify_drop_rate=1.0)
    order, attempt = _order(core, f"paid-late-{api}", 600, api)
    core.clock.advance(599)
    core.pay(attempt.out_trade_no)  # paid at the last second; the notification is lost
    _run_until(core, order.expires_at + 3600)
    details = order_details(core.uow, order.id)
    assert (details.order.status, details.order.paid_fen) == (OrderStatus.PAID, 900)
    assert details.attempts[0].status == AttemptStatus.SUCCEEDED
    assert core.sim_order(attempt.out_trade_no).state == "SUCCESS"


def test_nothing_stays_open_past_its_ttl(core: Core) -> None:
    core.faults(notify_drop_rate=0.5, system_error_rate=0.2, seed=15)
    made = []
    for index in range(12):
        api = ("v3", "v2", None)[index % 3]
        order, _none = _order(core, f"bulk-{index}", (300, 900, 1800)[index % 3], None)
        made.append(order)
        if api is None:
            continue
        try:
            attempt = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", api).attempt
        except UpstreamError:  # SYSTEMERROR on create: the attempt is unknown until a query resolves it
            continue
        if index % 4 == 0:
            core.pay(attempt.out_trade_no)
    _run_until(core, core.clock() + 24 * 3600, step_s=600)
    core.faults()
    _run_until(core, core.clock() + 3600, step_s=120)
    for order in made:
        details = order_details(core.uow, order.id)
        assert details.order.status != OrderStatus.PENDING, order.merchant_order_no
        assert not [a for a in details.attempts if a.is_open], order.merchant_order_no
        for attempt in details.attempts:
            at_wechat = core.sim_order(attempt.out_trade_no)  # None: WeChat never took it (SYSTEMERROR)
            paid_at_wechat = at_wechat is not None and at_wechat.state == "SUCCESS"
            assert paid_at_wechat == (attempt.status == AttemptStatus.SUCCEEDED)
