"""Concurrent requests over HTTP: refunds never sum above the paid amount; twin order creations make one order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..web_harness import Harness


def test_twenty_concurrent_refunds_never_exceed_the_paid_amount(harness: Harness) -> None:
    order = harness.create_order(10_000)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()
    harness.pay(payment)
    harness.deliver()

    def refund(index: int) -> int:
        return harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                                json={"merchant_refund_no": f"C{index}", "amount": 3000}).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(refund, range(20)))
    assert statuses.count(201) == 3 and statuses.count(409) == 17, statuses
    harness.deliver(advance_s=harness.sim.refund_processing_s + 1)
    final = harness.order(order["id"])
    succeeded = [r for r in final["refunds"] if r["status"] == "succeeded"]
    assert sum(r["amount"] for r in succeeded) == final["refunded_amount"] == 9000 <= final["paid_amount"]


def test_concurrent_identical_order_creations_make_one_order(harness: Harness) -> None:
    body = {"merchant_order_no": "TWIN-1", "amount": 500, "description": "twin"}

    def create(_: int) -> tuple[int, str]:
        response = harness.api.post("/v1/orders", json=body, headers=harness.merchant)
        return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(create, range(10)))
    assert {status for status, _ in results} <= {200, 201}
    assert len({order_id for _, order_id in results}) == 1
