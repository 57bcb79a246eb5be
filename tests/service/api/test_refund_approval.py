"""Merchants with refund approval: requested -> approved (submitted) -> succeeded, or requested -> rejected."""

from __future__ import annotations

from typing import Any

from ..web_harness import Harness


def paid_order(harness: Harness, amount: int = 3000) -> dict[str, Any]:
    order = harness.create_order(amount)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()
    harness.pay(payment)
    harness.deliver()
    return order


def test_approve_then_succeed_and_reject(harness_factory: Any) -> None:
    harness: Harness = harness_factory(refund_approval_required=True)
    order = paid_order(harness)
    first = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                             json={"merchant_refund_no": "A1", "amount": 1000}).json()
    second = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "A2", "amount": 500}).json()
    assert first["status"] == second["status"] == "requested"

    approved = harness.api.post(f"/v1/refunds/{first['id']}/approve", headers=harness.merchant)
    assert approved.status_code == 200 and approved.json()["status"] in ("processing", "succeeded")
    rejected = harness.api.post(f"/v1/refunds/{second['id']}/reject", headers=harness.merchant,
                                json={"reason": "not returned"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    twice = harness.api.post(f"/v1/refunds/{second['id']}/approve", headers=harness.merchant)
    assert twice.status_code == 409

    harness.deliver(advance_s=harness.sim.refund_processing_s + 1)
    assert harness.api.get(f"/v1/refunds/{first['id']}", headers=harness.merchant).json()["status"] == "succeeded"
    final = harness.order(order["id"])
    assert final["status"] == "partially_refunded" and final["refunded_amount"] == 1000
