"""付款码 through the service core: charge, the codepay_check job (query every 5 s, reverse at 30 s), crashes.

WeChat is the simulator (the payer's behaviour is set when the code is minted); the service runs on SQLite and
PostgreSQL. Ground truth is WeChat's ledger: a charged payer ends with a paid order or with the money returned,
and an order is paid only when WeChat says SUCCESS.
"""

from __future__ import annotations

from typing import Any

import pytest

from weipay.service.domain import AttemptStatus, Conflict, InvalidInput, OrderStatus
from weipay.service.gateway._calls import call_blocking
from weipay.service.usecases import (
    Applied,
    CreateOrder,
    charge_code,
    charge_code_flow,
    close_order,
    create_order,
    get_order,
    load_order,
    order_details,
    start_payment,
)
from weipay.service.usecases.codepay import REVERSE_AFTER_S
from weipay.service.usecases.settlement import settle_paid

from ..core_harness import MCHID, Core


def _order(core: Core, number: str = "till-1", amount_fen: int = 1800) -> Any:
    return create_order(core.uow, core.merchant, CreateOrder(number, amount_fen, "flat white"), clock=core.clock)


def _code(core: Core, **behaviour: Any) -> str:
    answer = core.control.post("/simulator/payment-codes", json=behaviour)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["auth_code"])


def _charge(core: Core, order: Any, code: str, api: str = "v3") -> Any:
    return charge_code(core.uow, core.gateway, core.clock, core.merchant, order.id, code, api, "10.0.0.7")


def _attempt(core: Core, order: Any) -> Any:
    (attempt,) = order_details(core.uow, order.id).attempts
    return attempt


def _wechat_state(core: Core, attempt: Any) -> str:
    return str(core.sim_order(attempt.out_trade_no).state)


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_a_code_without_password_pays_at_once(core: Core, api: str) -> None:
    order = _order(core)
    charge = _charge(core, order, _code(core, confirm="none"), api)
    assert (charge.status, charge.attempt.channel.value, charge.attempt.api.value) == ("paid", "codepay", api)
    assert load_order(core.uow, order.id).status == OrderStatus.PAID
    assert load_order(core.uow, order.id).paid_fen == 1800
    core.advance(5)
    core.run_jobs()  # the safety-net check finds it paid and ends
    assert _attempt(core, order).status == AttemptStatus.SUCCEEDED


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_userpaying_is_checked_every_5_s_until_the_payer_pays(core: Core, api: str) -> None:
    order = _order(core)
    charge = _charge(core, order, _code(core, confirm="password", confirm_s=12), api)
    assert (charge.status, charge.error_code) == ("pending", "USERPAYING")
    queries = []
    for _ in range(3):
        core.advance(5)
        core.run_jobs()
        queries.append(_attempt(core, order).status)
    assert queries == [AttemptStatus.PENDING, AttemptStatus.PENDING, AttemptStatus.SUCCEEDED]
    assert load_order(core.uow, order.id).status == OrderStatus.PAID
    assert _wechat_state(core, charge.attempt) == "SUCCESS"


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_a_charge_still_open_after_30_s_is_reversed_and_can_never_be_paid(core: Core, api: str) -> None:
    order = _order(core)
    charge = _charge(core, order, _code(core, outcome="wait"), api)
    assert charge.status == "pending"
    for _ in range(int(REVERSE_AFTER_S // 5)):
        core.advance(5)
        core.run_jobs()
    attempt = _attempt(core, order)
    assert (attempt.status, attempt.trade_state) == (AttemptStatus.REVERSED, "REVOKED")
    assert _wechat_state(core, attempt) == "REVOKED"
    late = core.control.post("/simulator/payments", json={"out_trade_no": attempt.out_trade_no, "outcome": "success"})
    assert late.status_code == 409  # the payer confirms too late: WeChat refuses
    assert load_order(core.uow, order.id).status == OrderStatus.PENDING
    paid = _charge(core, order, _code(core, confirm="none"), api)  # the till tries again with a fresh code
    assert paid.status == "paid" and paid.attempt.seq == 2


def test_a_payment_that_crosses_the_reverse_is_returned_not_applied(core: Core) -> None:
    """The decision to reverse commits first: a "paid" fact arriving after it settles nothing."""
    order = _order(core)
    _charge(core, order, _code(core, outcome="wait"))
    core.advance(REVERSE_AFTER_S)
    # WeChat takes the query and the reverse but their answers are lost: the decision stands, unconfirmed.
    core.faults(commit_then_timeout_rate=1.0, paths=["/v3/pay/transactions/out-trade-no/"])
    core.run_jobs()
    core.faults()
    attempt = _attempt(core, order)
    assert attempt.status == AttemptStatus.REVERSED
    with core.uow.write() as tx:
        applied = settle_paid(tx, attempt, transaction_id="4200000000000000000000000001", paid_at=None,
                              now=core.clock())  # fmt: skip
    assert applied == Applied.ANOMALY
    assert load_order(core.uow, order.id).status == OrderStatus.PENDING
    core.advance(10)
    core.run_jobs()  # the reverse is sent again until WeChat confirms
    assert _attempt(core, order).trade_state == "REVOKED" and _wechat_state(core, attempt) == "REVOKED"


def test_a_definite_no_fails_the_charge_and_the_order_stays_payable(core: Core) -> None:
    order = _order(core)
    stale = _code(core)
    core.advance(61)  # payment codes live a minute
    charge = _charge(core, order, stale)
    assert (charge.status, charge.error_code) == ("failed", "AUTHCODEEXPIRE")
    poor = _charge(core, order, _code(core, confirm="none", outcome="insufficient_balance"))
    assert (poor.status, poor.error_code) == ("failed", "NOTENOUGH")
    assert load_order(core.uow, order.id).status == OrderStatus.PENDING
    assert _charge(core, order, _code(core, confirm="none")).status == "paid"


def test_a_bad_code_never_reaches_wechat_and_is_never_echoed(core: Core) -> None:
    order = _order(core)
    with pytest.raises(InvalidInput) as caught:
        _charge(core, order, "284567890123456789")
    assert caught.value.code == "invalid_auth_code" and "2845678901" not in str(caught.value)
    assert order_details(core.uow, order.id).attempts == []


def test_one_charge_at_a_time_and_no_other_channel_meanwhile(core: Core) -> None:
    order = _order(core)
    _charge(core, order, _code(core, outcome="wait"))
    with pytest.raises(Conflict) as second:
        _charge(core, order, _code(core))
    assert second.value.code == "payment_in_progress"
    with pytest.raises(Conflict):
        start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v3", None, "10.0.0.7")
    with pytest.raises(InvalidInput):
        start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "codepay", "v3", None, None)


def test_closing_the_order_reverses_a_pending_charge(core: Core) -> None:
    order = _order(core)
    charge = _charge(core, order, _code(core, outcome="wait"), "v2")
    closed = close_order(core.uow, core.gateway, core.clock, order.id, MCHID)
    assert closed.status == OrderStatus.CLOSED
    assert _attempt(core, order).status == AttemptStatus.REVERSED
    assert _wechat_state(core, charge.attempt) == "REVOKED"


@pytest.mark.parametrize("outcome", ["success", "wait"])
def test_a_crash_between_the_charge_and_its_commit_is_resolved_by_the_job(core: Core, outcome: str) -> None:
    """The process dies after WeChat took the charge and before the answer was stored: the attempt row and its
    check job were committed before the call, so the worker finds the payment (or reverses the charge)."""
    order = _order(core)
    code = _code(core, confirm="none" if outcome == "success" else "password", outcome=outcome)
    flow = charge_code_flow(core.uow, core.gateway, core.clock, core.merchant, order.id, code, "v2", "10.0.0.7")
    exchange = next(flow)
    call_blocking(core.gateway.client(MCHID), exchange, core.clock)  # WeChat acts on it …
    flow.close()  # … and the process is gone before anything else happens
    attempt = _attempt(core, order)
    assert attempt.status == AttemptStatus.CREATED
    assert _wechat_state(core, attempt) == ("SUCCESS" if outcome == "success" else "USERPAYING")
    for _ in range(int(REVERSE_AFTER_S // 5)):
        core.advance(5)
        core.run_jobs()
    final = load_order(core.uow, order.id)
    if outcome == "success":
        assert (final.status, _attempt(core, order).status) == (OrderStatus.PAID, AttemptStatus.SUCCEEDED)
    else:
        assert (final.status, _attempt(core, order).status) == (OrderStatus.PENDING, AttemptStatus.REVERSED)
        assert _wechat_state(core, attempt) == "REVOKED"


def test_a_crash_before_the_charge_leaves_nothing_behind(core: Core) -> None:
    order = _order(core)
    flow = charge_code_flow(core.uow, core.gateway, core.clock, core.merchant, order.id, _code(core), "v3", None)
    next(flow)  # the attempt and its job are committed; the code is never sent
    flow.close()
    core.advance(5)
    core.run_jobs()
    assert _attempt(core, order).status == AttemptStatus.CREATED  # the charge may still be in flight: no query
    core.advance(REVERSE_AFTER_S)
    core.run_jobs()
    attempt = _attempt(core, order)
    assert attempt.status == AttemptStatus.FAILED and core.sim_order(attempt.out_trade_no) is None
    assert get_order(core.uow, core.gateway, core.clock, order.id).status == OrderStatus.PENDING


def test_a_slow_charge_is_not_ended_by_the_check_job_before_wechat_answers(core: Core) -> None:
    """WeChat takes 12 s to answer the charge: the check job must not query meanwhile (WeChat would say there is no
    such order yet, and the attempt would end just before the payer starts confirming)."""
    order = _order(core)
    flow = charge_code_flow(core.uow, core.gateway, core.clock, core.merchant, order.id, _code(core, outcome="wait"),
                            "v3", "10.0.0.7")  # fmt: skip
    exchange = next(flow)
    for _ in range(2):
        core.advance(5)
        core.run_jobs()
    assert _attempt(core, order).status == AttemptStatus.CREATED
    assert core.sim.ledger.order(MCHID, _attempt(core, order).out_trade_no) is None  # nothing was queried either
    core.advance(2)
    result = call_blocking(core.gateway.client(MCHID), exchange, core.clock)  # WeChat: USERPAYING
    with pytest.raises(StopIteration) as done:
        flow.send(result)
    assert done.value.value.status == "pending"
    for _ in range(4):
        core.advance(5)
        core.run_jobs()
    assert _attempt(core, order).status == AttemptStatus.REVERSED
    assert _wechat_state(core, _attempt(core, order)) == "REVOKED"
