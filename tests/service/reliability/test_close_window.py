"""WeChat's order-lifetime rules under production behaviour (the simulator in ``strict`` mode).

- An order must live at least five minutes: shorter ``expire_after_s`` is refused with ``invalid_expiry`` (422),
  and the shortest accepted order starts a payment on v2 and v3 alike.
- A merchant closing an order within five minutes of a payment attempt's creation (WeChat refuses such
  closes) gets a 409 ``close_not_yet_allowed`` with the earliest time, the order stays payable, and the
  same close after that time succeeds. A payment that landed meanwhile ends the order paid, never closed.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from weipay.service.domain import AttemptStatus, Conflict, InvalidInput, OrderStatus
from weipay.service.usecases import CreateOrder, close_order, create_order, order_details, order_events, start_payment

from ..core_harness import Core
from .test_expiry import SHORTEST_TTL_S, _strict

APIS = ["v3", "v2"]


def _start(core: Core, number: str, api: str, ttl_s: int = 1800):
    order = create_order(
        core.uow, core.merchant, CreateOrder(number, 900, "tea", expire_after_s=ttl_s), clock=core.clock
    )
    attempt = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", api).attempt
    return order, attempt


@pytest.mark.parametrize("ttl_s", [0, 60, 299])
def test_orders_shorter_than_five_minutes_are_refused(core: Core, ttl_s: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_order(core.uow, core.merchant, CreateOrder(f"short-{ttl_s}", 900, "tea", expire_after_s=ttl_s))
    assert refused.value.code == "invalid_expiry"
    assert "300" in refused.value.message and refused.value.detail["min_s"] == 300


@pytest.mark.parametrize("api", APIS)
def test_shortest_order_starts_a_payment_under_production_rules(core: Core, api: str) -> None:
    _strict(core)
    shortest = SHORTEST_TTL_S[api]
    order, attempt = _start(core, f"ttl-{shortest}-{api}", api, ttl_s=shortest)
    assert attempt.status == AttemptStatus.PENDING
    assert order.expires_at - order.created_at == shortest
    assert core.sim_order(attempt.out_trade_no).state == "NOTPAY"


@pytest.mark.parametrize("api", APIS)
def test_early_close_is_refused_with_the_earliest_time_then_succeeds(core: Core, api: str) -> None:
    _strict(core)
    order, attempt = _start(core, f"early-close-{api}", api)
    core.advance(120)
    with pytest.raises(Conflict) as refused:
        close_order(core.uow, core.gateway, core.clock, order.id, core.merchant.mchid)
    error = refused.value
    assert error.code == "close_not_yet_allowed"
    earliest_at = error.detail["earliest_close_at"]
    assert attempt.created_at + 300 <= earliest_at <= attempt.created_at + 310
    assert error.detail["retry_after_s"] == pytest.approx(earliest_at - core.clock(), abs=1)
    when = dt.datetime.fromtimestamp(earliest_at, tz=dt.UTC).isoformat(timespec="seconds")
    assert when in error.message
    details = order_details(core.uow, order.id)
    assert details.order.status == OrderStatus.PENDING
    assert details.attempts[0].status == AttemptStatus.PENDING
    assert core.sim_order(attempt.out_trade_no).state == "NOTPAY"
    assert not order_events(core.uow, order.id).anomalies

    core.clock.advance(earliest_at - core.clock())
    closed = close_order(core.uow, core.gateway, core.clock, order.id, core.merchant.mchid)
    assert closed.status == OrderStatus.CLOSED
    assert order_details(core.uow, order.id).attempts[0].status == AttemptStatus.CLOSED
    assert core.sim_order(attempt.out_trade_no).state == "CLOSED"


@pytest.mark.parametrize("api", APIS)
def test_early_close_of_an_order_paid_meanwhile_ends_paid(core: Core, api: str) -> None:
    _strict(core)
    core.faults(notify_drop_rate=1.0)
    order, attempt = _start(core, f"paid-then-close-{api}", api)
    core.advance(60)
    core.pay(attempt.out_trade_no)  # the notification is lost: only a query can tell
    with pytest.raises(Conflict) as refused:
        close_order(core.uow, core.gateway, core.clock, order.id, core.merchant.mchid)
    assert refused.value.code == "order_already_paid"
    details = order_details(core.uow, order.id)
    assert (details.order.status, details.order.paid_fen) == (OrderStatus.PAID, 900)
    assert details.attempts[0].status == AttemptStatus.SUCCEEDED
    assert core.sim_order(attempt.out_trade_no).state == "SUCCESS"


@pytest.mark.parametrize("api", APIS)
def test_close_without_production_rules_still_closes_at_once(core: Core, api: str) -> None:
    order, attempt = _start(core, f"lenient-close-{api}", api)
    closed = close_order(core.uow, core.gateway, core.clock, order.id, core.merchant.mchid)
    assert closed.status == OrderStatus.CLOSED
    assert core.sim_order(attempt.out_trade_no).state == "CLOSED"


def test_over_http_short_expiry_is_422_and_early_close_is_409(harness: Any) -> None:
    short = harness.api.post(
        "/v1/orders", headers=harness.merchant,
        json={"merchant_order_no": "http-short", "amount": 900, "description": "mug", "expire_in_s": 120},
    )  # fmt: skip
    assert short.status_code == 422, short.text
    assert short.json()["error"]["code"] == "invalid_expiry"

    order = harness.create_order(900, number="http-early-close")
    started = harness.api.post(
        f"/v1/orders/{order['id']}/payments", headers=harness.merchant, json={"channel": "native", "api": "v3"}
    )
    assert started.status_code in (200, 201), started.text
    harness.sim.strict = True  # production's five-minute close rule from here on
    harness.clock.advance(60)
    early = harness.api.post(f"/v1/orders/{order['id']}/close", headers=harness.merchant)
    assert early.status_code == 409, early.text
    error = early.json()["error"]
    assert error["code"] == "close_not_yet_allowed" and "retry at" in error["message"]
    assert error["detail"]["earliest_close_at"] and 0 < error["detail"]["retry_after_s"] <= 305
    assert early.headers["Retry-After"] == str(math.ceil(error["detail"]["retry_after_s"]))
    assert harness.order(order["id"])["status"] == "pending"
    harness.clock.advance(250)
    closed = harness.api.post(f"/v1/orders/{order['id']}/close", headers=harness.merchant)
    assert closed.status_code == 200, closed.text
    assert harness.order(order["id"])["status"] == "closed"
