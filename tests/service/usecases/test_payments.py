"""From order to paid to refunded on every channel and both API versions, through the simulator."""

from __future__ import annotations

import pytest

from weipay.service.domain import AttemptStatus, Conflict, OrderStatus, RefundStatus, UpstreamError
from weipay.service.usecases import (
    CreateOrder,
    create_order,
    get_order,
    get_refund,
    order_details,
    order_events,
    request_refund,
    start_payment,
)

CHANNELS = ["jsapi", "miniprogram", "native", "app", "h5"]


def _order(core, amount_fen=2500, number="m-1"):
    return create_order(core.uow, core.merchant, CreateOrder(number, amount_fen, "a cup of tea"), clock=core.clock)


def _start(core, order, channel, api):
    return start_payment(
        core.uow, core.gateway, core.clock, core.merchant, order.id, channel, api,
        payer_openid="o-payer-1" if channel in ("jsapi", "miniprogram") else None, client_ip="203.0.113.9",
    )  # fmt: skip


@pytest.mark.parametrize("api", ["v3", "v2"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_from_order_to_paid_to_refunded(core, channel, api):
    order = _order(core)
    start = _start(core, order, channel, api)
    expected = {
        "jsapi": {"timeStamp", "nonceStr", "package", "signType", "paySign"},
        "miniprogram": {"timeStamp", "nonceStr", "package", "signType", "paySign"},
        "native": {"code_url"},
        "h5": {"h5_url"},
    }.get(channel)
    if expected is not None:
        assert set(start.client_params) >= expected
        assert all(start.client_params[key] for key in expected)
    else:
        assert start.client_params.get("prepayid") or start.client_params.get("prepayId")
    assert start.attempt.status == AttemptStatus.PENDING and start.attempt.api.value == api

    core.pay(start.attempt.out_trade_no)
    paid = get_order(core.uow, core.gateway, core.clock, order.id)
    assert (paid.status, paid.paid_fen) == (OrderStatus.PAID, 2500)

    first = request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 1000, "partial")
    second = request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 1500, "the rest")
    core.advance(600)
    core.run_jobs()
    for refund in (first, second):
        assert get_refund(core.uow, refund.id).status == RefundStatus.SUCCEEDED
    done = get_order(core.uow, core.gateway, core.clock, order.id)
    assert (done.status, done.refunded_fen, done.reserved_fen) == (OrderStatus.REFUNDED, 2500, 0)
    assert core.sim_order(start.attempt.out_trade_no).state in ("REFUND", "SUCCESS")
    events = order_events(core.uow, order.id)
    assert {c.endpoint for c in events.calls if c.direction == "outbound"}
    assert any(c.direction == "inbound" for c in events.calls)


def test_retry_after_a_failed_attempt_switches_channel_and_closes_the_old_one(core):
    order = _order(core)
    first = _start(core, order, "native", "v3")
    core.pay(first.attempt.out_trade_no, outcome="cancel")
    second = _start(core, order, "miniprogram", "v2")
    assert second.attempt.out_trade_no != first.attempt.out_trade_no
    assert core.sim_order(first.attempt.out_trade_no).state == "CLOSED"
    core.pay(second.attempt.out_trade_no)
    details = order_details(core.uow, order.id)
    assert details.order.status == OrderStatus.PAID
    assert [a.status for a in details.attempts] == [AttemptStatus.CLOSED, AttemptStatus.SUCCEEDED]
    with pytest.raises(Conflict) as info:
        _start(core, order, "native", "v3")
    assert info.value.code == "order_already_paid"


def test_same_request_resumes_the_same_attempt(core):
    order = _order(core)
    first = _start(core, order, "native", "v3")
    again = _start(core, order, "native", "v3")
    assert again.attempt.id == first.attempt.id and again.client_params == first.client_params


def test_closing_a_paid_attempt_reveals_the_payment(core):
    order = _order(core)
    first = _start(core, order, "native", "v3")
    core.pay(first.attempt.out_trade_no, deliver=False)  # paid at WeChat, notification not yet here
    with pytest.raises(Conflict) as info:
        _start(core, order, "app", "v3")
    assert info.value.code == "order_already_paid"
    assert get_order(core.uow, core.gateway, core.clock, order.id).status == OrderStatus.PAID


def test_commit_then_timeout_on_create_is_resolved_by_query_without_a_second_charge(core):
    order = _order(core)
    core.faults(commit_then_timeout_rate=1.0, paths=["/v3/pay/transactions/native"])
    with pytest.raises(UpstreamError) as info:
        _start(core, order, "native", "v3")
    assert info.value.code == "payment_outcome_unknown"
    attempt = order_details(core.uow, order.id).attempts[0]
    assert attempt.status == AttemptStatus.UNKNOWN
    assert core.sim_order(attempt.out_trade_no) is not None  # WeChat did create it
    core.faults()
    core.pay(attempt.out_trade_no, deliver=False)
    core.faults(notify_drop_rate=1.0)
    core.advance(30)
    core.run_jobs()
    details = order_details(core.uow, order.id)
    assert details.order.status == OrderStatus.PAID
    assert [a.status for a in details.attempts] == [AttemptStatus.SUCCEEDED]
    assert len(details.attempts) == 1  # no second out_trade_no, so no second charge


def test_unknown_attempt_resumes_with_identical_parameters(core):
    order = _order(core)
    core.faults(commit_then_timeout_rate=1.0, paths=["/v3/pay/transactions/jsapi"])
    with pytest.raises(UpstreamError):
        _start(core, order, "miniprogram", "v3")
    core.faults()
    resumed = _start(core, order, "miniprogram", "v3")
    assert resumed.attempt.status == AttemptStatus.PENDING and resumed.attempt.seq == 1
    assert resumed.client_params["package"].startswith("prepay_id=")


def test_notification_never_delivered_is_found_by_the_query_job(core):
    order = _order(core)
    start = _start(core, order, "app", "v3")
    core.faults(notify_drop_rate=1.0)
    core.pay(start.attempt.out_trade_no)
    assert get_order(core.uow, core.gateway, core.clock, order.id, sync_after_s=1e9).status == OrderStatus.PENDING
    core.advance(15)
    core.run_jobs()
    assert get_order(core.uow, core.gateway, core.clock, order.id, sync_after_s=1e9).status == OrderStatus.PAID


def test_get_order_queries_a_late_attempt_first(core):
    order = _order(core)
    start = _start(core, order, "native", "v2")
    core.faults(notify_drop_rate=1.0)
    core.pay(start.attempt.out_trade_no)
    core.clock.advance(11)
    assert get_order(core.uow, core.gateway, core.clock, order.id).status == OrderStatus.PAID


def test_refused_create_fails_the_attempt_with_wechat_code(core):
    order = _order(core)
    with pytest.raises(Exception) as info:
        start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "jsapi", "v3")
    assert getattr(info.value, "code", None) == "payer_openid_required"
    core.faults(system_error_rate=1.0, paths=["/v3/pay/transactions/native"])
    with pytest.raises(UpstreamError) as unknown:
        _start(core, order, "native", "v3")
    assert unknown.value.code == "payment_outcome_unknown"  # SYSTEMERROR is "retry", never "failed"


def test_an_sdk_check_failing_is_a_refusal_never_a_half_started_attempt(core):
    """The SDK checks its arguments when an operation is built; the gateway builds inside the call, so a value the
    service let through ends as a refused attempt (CONFIGURATION_ERROR), not a raw exception leaving it created."""
    order = _order(core)
    with pytest.raises(UpstreamError) as refused:
        start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "h5", "v2", client_ip="not-an-ip")
    assert refused.value.code != "payment_outcome_unknown"
    [attempt] = order_details(core.uow, order.id).attempts
    assert attempt.status == AttemptStatus.FAILED and attempt.error_code == "CONFIGURATION_ERROR"
