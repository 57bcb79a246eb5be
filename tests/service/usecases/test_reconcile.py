"""Reconciliation against the simulator's T+1 trade bill repairs a payment we never heard about."""

from __future__ import annotations

import datetime as dt

import pytest

from weipay.service.domain import OrderStatus
from weipay.service.usecases import (
    CreateOrder,
    MerchantConfig,
    create_order,
    order_details,
    reconcile_day,
    start_payment,
)
from weipay.service.usecases.reconcile import BEIJING


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_a_paid_order_missing_locally_is_found_and_repaired_once(core, api):
    merchant = MerchantConfig(core.merchant.mchid, core.merchant.appids, default_api=api)
    known = create_order(core.uow, merchant, CreateOrder("m-known", 700, "tea"), clock=core.clock)
    lost = create_order(core.uow, merchant, CreateOrder("m-lost", 900, "cake"), clock=core.clock)
    known_start = start_payment(core.uow, core.gateway, core.clock, merchant, known.id, "native", api)
    lost_start = start_payment(core.uow, core.gateway, core.clock, merchant, lost.id, "native", api)
    core.pay(known_start.attempt.out_trade_no)
    core.faults(notify_drop_rate=1.0)
    core.pay(lost_start.attempt.out_trade_no)
    day = dt.datetime.fromtimestamp(core.clock(), BEIJING).date()
    core.clock.advance(2 * 86_400)

    report = reconcile_day(core.uow, core.gateway, core.clock, merchant, day)
    assert report.bill_lines == 2 and report.payments_matched == 1
    assert [(d.kind, d.out_trade_no, d.repaired) for d in report.discrepancies] == [
        ("paid_not_recorded", lost_start.attempt.out_trade_no, True)
    ]
    assert order_details(core.uow, lost.id).order.status == OrderStatus.PAID

    again = reconcile_day(core.uow, core.gateway, core.clock, merchant, day)
    assert again.clean and again.payments_matched == 2
