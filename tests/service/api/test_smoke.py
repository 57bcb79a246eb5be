from __future__ import annotations

from ..web_harness import Harness


def test_order_paid_by_notification(harness: Harness) -> None:
    openid, user = harness.login()
    order = harness.create_order(payer_openid=openid)
    started = harness.api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "miniprogram"}, headers=user)
    assert started.status_code == 201, started.text
    payment = started.json()
    harness.pay(payment, openid)
    harness.deliver()
    assert harness.order(order["id"])["status"] == "paid"
