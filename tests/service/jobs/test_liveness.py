"""Everything that starts reaches an end that agrees with WeChat: the job queue's liveness, end to end.

The service over HTTP with the simulator as WeChat; WeChat is made unreachable (every call times out) and then
recovers; the worker's jobs are run as time passes. Both databases.
"""

from __future__ import annotations

from typing import Any

from ..web_harness import MCHID, Harness


def _paid_order(harness: Harness, amount: int = 3000) -> dict[str, Any]:
    order = harness.create_order(amount)
    payment = harness.api.post(
        f"/v1/orders/{order['id']}/payments", headers=harness.merchant, json={"channel": "native"}
    ).json()
    harness.pay(payment)
    harness.deliver()
    return order


def _wechat(harness: Harness, **plan: Any) -> None:
    assert harness.wechat.put("/simulator/faults", json={"paths": ["/v3/refund/"], **plan}).status_code == 200


def _run_for(harness: Harness, seconds: float, step_s: float = 5.0) -> None:
    for _ in range(int(seconds / step_s)):
        harness.deliver(advance_s=step_s)
        harness.run_jobs()


def test_a_refund_sent_while_wechat_is_unreachable_is_sent_once_it_recovers(harness: Harness) -> None:
    """Before: the sync job re-armed itself while running, completion overwrote that, the refund stayed processing."""
    order = _paid_order(harness)
    _wechat(harness, timeout_rate=1.0)
    refund = harness.api.post(
        f"/v1/orders/{order['id']}/refunds", headers=harness.merchant, json={"merchant_refund_no": "L1", "amount": 1200}
    ).json()
    assert refund["status"] == "processing"
    _run_for(harness, 60)  # the worker resubmits: it times out again, and again
    _wechat(harness, timeout_rate=0.0)
    _run_for(harness, 600)
    current = harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()
    assert current["status"] == "succeeded", current
    assert harness.order(order["id"])["refunded_amount"] == 1200
    at_wechat = harness.sim.ledger.refunds_for_order(MCHID, harness.order(order["id"])["attempts"][0]["out_trade_no"])
    assert [(r.out_refund_no, r.amount_fen) for r in at_wechat] == [(refund["out_refund_no"], 1200)]  # money moved once


def test_a_refund_whose_notification_is_lost_ends_as_wechat_says(harness: Harness) -> None:
    """Still PROCESSING at its first query, then SUCCESS at WeChat with the notification lost: queried to the end."""
    order = _paid_order(harness)
    harness.sim.refund_processing_s = 120  # the safety-net query at 60 s finds it PROCESSING
    assert harness.wechat.put("/simulator/faults", json={"notify_drop_rate": 1.0}).status_code == 200
    refund = harness.api.post(
        f"/v1/orders/{order['id']}/refunds", headers=harness.merchant, json={"merchant_refund_no": "L2", "amount": 700}
    ).json()
    _run_for(harness, 900)
    current = harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()
    assert current["status"] == "succeeded", current
    assert harness.order(order["id"])["refunded_amount"] == 700
