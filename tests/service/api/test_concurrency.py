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

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(create, range(30)))
    assert sorted(status for status, _ in results) == [200] * 29 + [201], results  # exactly one was created
    assert len({order_id for _, order_id in results}) == 1


def test_concurrent_identical_refund_requests_answer_one_201(harness: Harness) -> None:
    order = harness.create_order(5000)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()
    harness.pay(payment)
    harness.deliver()
    body = {"merchant_refund_no": "TWIN-R", "amount": 1000, "reason": "twin"}

    def refund(_: int) -> tuple[int, str]:
        response = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant, json=body)
        return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(refund, range(30)))
    assert sorted(status for status, _ in results) == [200] * 29 + [201], results
    assert len({refund_id for _, refund_id in results}) == 1
    assert harness.order(order["id"])["refunds"][0]["amount"] == 1000
