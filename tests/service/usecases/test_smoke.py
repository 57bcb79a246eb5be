"""A first end-to-end walk through the use cases (v3 mini-program)."""

from __future__ import annotations

from weipay.service.domain import AttemptStatus, OrderStatus, RefundStatus
from weipay.service.usecases import CreateOrder, create_order, get_order, request_refund, start_payment


def test_order_paid_then_refunded(core):
    order = create_order(core.uow, core.merchant, CreateOrder("m-1", 1000, "tea"), clock=core.clock)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "miniprogram",
                          payer_openid="o-user-1")
    assert set(start.client_params) >= {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    core.pay(start.attempt.out_trade_no)
    paid = get_order(core.uow, core.gateway, core.clock, order.id)
    assert paid.status == OrderStatus.PAID and paid.paid_fen == 1000
    refund = request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 400)
    assert refund.status in (RefundStatus.PROCESSING, RefundStatus.SUCCEEDED)
    core.advance(120)
    core.run_jobs()
    final = get_order(core.uow, core.gateway, core.clock, order.id)
    assert final.status == OrderStatus.PARTIALLY_REFUNDED and final.refunded_fen == 400
    assert start.attempt.status == AttemptStatus.PENDING
