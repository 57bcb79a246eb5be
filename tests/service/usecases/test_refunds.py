"""Refunds: never above what was paid (under concurrency), approval, idempotency, NOTENOUGH fallback, double payment."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from weipay.service.domain import (
    AttemptStatus,
    Conflict,
    OrderStatus,
    PaymentAttempt,
    RefundKind,
    RefundStatus,
    new_attempt_id,
    out_trade_no,
)
from weipay.service.gateway import RECHARGE_FUNDS
from weipay.service.usecases import (
    CreateOrder,
    MerchantConfig,
    approve_refund,
    create_order,
    get_refund,
    order_details,
    reject_refund,
    request_refund,
    start_payment,
)

from ..core_harness import MCHID

CONCURRENT_REFUNDS = 20


def _paid_order(core, api="v3", amount_fen=10_000, channel="native", merchant=None):
    merchant = merchant or core.merchant
    order = create_order(core.uow, merchant, CreateOrder(f"m-{api}-{channel}", amount_fen, "tea"), clock=core.clock)
    start = start_payment(core.uow, core.gateway, core.clock, merchant, order.id, channel, api)
    core.pay(start.attempt.out_trade_no)
    assert order_details(core.uow, order.id).order.status == OrderStatus.PAID
    return order, start.attempt


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_concurrent_refunds_never_exceed_what_was_paid(core, api):
    order, attempt = _paid_order(core, api)

    def ask(i):
        try:
            return request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 3000, f"r{i}")
        except Conflict as error:
            return error

    with ThreadPoolExecutor(max_workers=CONCURRENT_REFUNDS) as pool:
        results = list(pool.map(ask, range(CONCURRENT_REFUNDS)))
    accepted = [r for r in results if not isinstance(r, Conflict)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(accepted) == 3 and {r.code for r in refused} == {"refund_exceeds_paid"}
    core.advance(600)
    core.run_jobs()
    details = order_details(core.uow, order.id)
    succeeded = [r for r in details.refunds if r.status == RefundStatus.SUCCEEDED]
    assert sum(r.amount_fen for r in succeeded) == 9000 <= details.order.paid_fen
    assert (details.order.refunded_fen, details.order.reserved_fen) == (9000, 0)
    assert details.order.status == OrderStatus.PARTIALLY_REFUNDED
    at_wechat = core.sim.ledger.refunds_of(core.sim_order(attempt.out_trade_no)) if hasattr(
        core.sim.ledger, "refunds_of") else None
    if at_wechat is not None:
        assert sum(r.refund_fen for r in at_wechat) == 9000


def test_same_merchant_refund_no_returns_the_same_refund(core):
    order, _ = _paid_order(core)
    first = request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 500, "x", "R-1")
    again = request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 500, "x", "R-1")
    assert again.id == first.id
    with pytest.raises(Conflict) as info:
        request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 600, "x", "R-1")
    assert info.value.code == "idempotency_conflict"


def test_approval_flow_requested_approved_processing_succeeded_and_rejection(core):
    merchant = MerchantConfig(mchid=core.merchant.mchid, appids=core.merchant.appids, refund_approval_required=True)
    order, _ = _paid_order(core, merchant=merchant)
    waiting = request_refund(core.uow, core.gateway, core.clock, merchant, order.id, 4000)
    other = request_refund(core.uow, core.gateway, core.clock, merchant, order.id, 6000)
    assert waiting.status == other.status == RefundStatus.REQUESTED
    with pytest.raises(Conflict):
        request_refund(core.uow, core.gateway, core.clock, merchant, order.id, 1)  # all reserved
    rejected = reject_refund(core.uow, core.clock, other.id)
    assert rejected.status == RefundStatus.REJECTED
    approved = approve_refund(core.uow, core.gateway, core.clock, waiting.id)
    assert approved.status in (RefundStatus.PROCESSING, RefundStatus.SUCCEEDED)
    with pytest.raises(Conflict) as info:
        reject_refund(core.uow, core.clock, waiting.id)
    assert info.value.code == "invalid_transition"
    core.advance(600)
    core.run_jobs()
    assert get_refund(core.uow, waiting.id).status == RefundStatus.SUCCEEDED
    order_now = order_details(core.uow, order.id).order
    assert (order_now.refunded_fen, order_now.reserved_fen, order_now.refundable_fen) == (4000, 0, 6000)


def test_refund_of_an_unpaid_order_is_refused(core):
    order = create_order(core.uow, core.merchant, CreateOrder("m-unpaid", 100, "tea"), clock=core.clock)
    with pytest.raises(Conflict) as info:
        request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 100)
    assert info.value.code == "order_not_refundable"


@pytest.mark.parametrize("api", ["v2", "v3"])
def test_notenough_from_unsettled_funds_falls_back_to_recharge_funds(core, api):
    order, _attempt = _paid_order(core, api)
    core.faults(unsettled_fen=0, available_fen=1_000_000)
    refund = request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 2500)
    assert refund.status in (RefundStatus.PROCESSING, RefundStatus.SUCCEEDED)
    assert refund.funds_source == (RECHARGE_FUNDS if api == "v2" else "AVAILABLE")
    core.advance(600)
    core.run_jobs()
    assert get_refund(core.uow, refund.id).status == RefundStatus.SUCCEEDED
    codes = [c.wechat_code for c in _calls(core, order.id) if c.wechat_code]
    assert "NOTENOUGH" in codes


def _calls(core, order_id):
    with core.uow.read() as tx:
        return tx.calls.for_order(order_id)


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_double_success_of_two_attempts_refunds_the_later_one_automatically(core, api):
    order, first = _paid_order(core, api)
    # A second WeChat order for the same business order, paid too (e.g. by a client that kept an old
    # QR code of a lost-answer attempt): made here directly, as only a fault in WeChat could.
    now = core.clock()
    second = PaymentAttempt(
        id=new_attempt_id(), order_id=order.id, seq=2, mchid=first.mchid, appid=first.appid,
        out_trade_no=out_trade_no(order.id, 2), api=first.api, channel=first.channel,
        status=AttemptStatus.CREATED, amount_fen=first.amount_fen, currency="CNY", description=first.description,
        notify_url=first.notify_url, time_expire=first.time_expire, created_at=now, updated_at=now,
    )  # fmt: skip
    with core.uow.write() as tx:
        tx.attempts.add(second)
    assert core.gateway.run(core.gateway.create_payment(second)).outcome.value == "succeeded"
    core.pay(second.out_trade_no)
    details = order_details(core.uow, order.id)
    assert details.order.paid_attempt_id == first.id and details.order.paid_fen == first.amount_fen
    assert details.attempts[1].status == AttemptStatus.SUCCEEDED
    core.run_jobs()
    core.advance(600)
    core.run_jobs()
    details = order_details(core.uow, order.id)
    auto = [r for r in details.refunds if r.kind == RefundKind.DUPLICATE_PAYMENT]
    assert len(auto) == 1 and auto[0].attempt_id == second.id and auto[0].amount_fen == second.amount_fen
    assert auto[0].status == RefundStatus.SUCCEEDED
    assert details.order.status == OrderStatus.PAID and details.order.refunded_fen == 0
    assert core.sim_order(second.out_trade_no).state == "REFUND"
    assert core.sim_order(first.out_trade_no).state == "SUCCESS"
    with core.uow.read() as tx:
        assert "double_payment" in [a.kind for a in tx.anomalies.list(order_id=order.id)]
        # The anomaly raised its alert in the same transaction: critical, keyed by kind and merchant.
        [alert] = tx.alerts.recent(alert_key=f"anomaly:double_payment:{MCHID}")
        assert alert.severity == "critical" and alert.order_id == order.id
