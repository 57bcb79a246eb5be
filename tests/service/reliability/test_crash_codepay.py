"""``kill -9`` of a real ``weipay serve`` after WeChat took a payment-code charge, before its answer.

The simulator (real port) commits the charge and holds its answer (``commit_then_timeout``); the service is killed
while it waits. The attempt row and its ``codepay_check`` job were committed before the code was sent, so a
worker started later (its clock past the job's 30 s) settles it from WeChat's side: a payer who was charged
gets a paid order, a charge still waiting for the payer is reversed (WeChat: REVOKED) and the order stays
unpaid. Nothing is guessed, and the code itself was never stored for the worker to reuse.
"""

from __future__ import annotations

import time

import pytest

from weipay.service.bootstrap import build_services
from weipay.service.domain import out_trade_no
from weipay.service.settings import load_settings
from weipay.simulator.server import RunningSimulator

from .test_crash_outbound import (  # noqa: F401 (fixtures)
    Service,
    _kill_while_wechat_holds_the_answer,
    _wechat_orders,
    service,
    wechat,
)


@pytest.mark.parametrize(("behaviour", "expected"), [
    ({"confirm": "none"}, ("paid", "succeeded", "SUCCESS")),
    ({"outcome": "wait"}, ("pending", "reversed", "REVOKED")),
])  # fmt: skip
def test_kill_9_after_wechat_took_the_charge(
    wechat: RunningSimulator, service: Service, behaviour: dict[str, str], expected: tuple[str, str, str]  # noqa: F811
) -> None:
    control = service.control
    api = service.start()
    order = api.post("/v1/orders", json={"merchant_order_no": "T07-C", "amount": 1800, "description": "tea"}).json()
    number = out_trade_no(order["id"], 1)
    code = control.post("/simulator/payment-codes", json=behaviour).json()["auth_code"]
    _kill_while_wechat_holds_the_answer(
        service.running, control, "/v3/pay/transactions/codepay",
        lambda: api.post(f"/v1/orders/{order['id']}/payments",
                         json={"channel": "codepay", "auth_code": code, "api": "v3"}),
        lambda: bool(_wechat_orders(control, number)),
    )  # fmt: skip
    later = build_services(load_settings(service.config), clock=lambda: time.time() + 40)  # past the 30 s
    api = service.start()
    try:
        assert later.run_due_jobs() >= 1  # codepay_check: query, then (still waiting) reverse
        final = api.get(f"/v1/orders/{order['id']}").json()
        (wechat_order,) = _wechat_orders(control, number)
        assert (final["status"], final["attempts"][0]["status"], wechat_order["state"]) == expected
        assert [a["out_trade_no"] for a in final["attempts"]] == [number]
        assert (wechat_order["state"] == "SUCCESS") == (final["paid_amount"] == 1800)
    finally:
        later.close()
