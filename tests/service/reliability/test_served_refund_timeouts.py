"""Black box over real HTTP (simulator, ``weipay serve`` and ``weipay worker`` processes): a refund whose
submission times out while WeChat is unreachable is retried by the worker until WeChat answers, then ends
``succeeded``, and WeChat holds exactly one refund (the same ``out_refund_no`` each time).

The worker's retry re-arms the very job it runs; before the queue kept that follow-up (``rearm_at``), the
second timeout left the refund ``processing`` forever.
"""

from __future__ import annotations

from .test_served_refund_states import Stack, _paid_order, _refund_status, _wait_for, stack  # noqa: F401

REFUND_PATHS = ["/v3/refund/"]


def _refund_calls(stack: Stack, order_id: str) -> int:  # noqa: F811
    events = stack.api.get(f"/v1/orders/{order_id}/events").json()["events"]
    return sum(1 for event in events if event["type"] == "wechat.call" and "refund" in event["endpoint"])


def test_a_refund_that_timed_out_twice_succeeds_once_wechat_is_back(stack: Stack) -> None:  # noqa: F811
    order, payment = _paid_order(stack, "SERVED-TO-1")
    down = stack.control.put("/simulator/faults", json={"timeout_rate": 1.0, "paths": REFUND_PATHS})
    assert down.status_code == 200, down.text
    answer = stack.api.post(f"/v1/orders/{order['id']}/refunds", json={"merchant_refund_no": "TO-1", "amount": 1000})
    assert answer.status_code in (201, 502), answer.text
    (refund,) = stack.api.get(f"/v1/orders/{order['id']}").json()["refunds"]
    assert refund["status"] == "processing"
    # The worker tries again (same out_refund_no) and times out too: that is the second timeout.
    _wait_for("the worker's retry", lambda: _refund_calls(stack, order["id"]) >= 2, timeout_s=60)
    assert _refund_status(stack, refund["id"]) == "processing"
    up = stack.control.put("/simulator/faults", json={})
    assert up.status_code == 200, up.text
    _wait_for("refund succeeded", lambda: _refund_status(stack, refund["id"]) == "succeeded", timeout_s=90)
    final = stack.api.get(f"/v1/orders/{order['id']}").json()
    assert (final["status"], final["refunded_amount"]) == ("partially_refunded", 1000)
    at_wechat = stack.control.get("/simulator/orders", params={"out_trade_no": payment["out_trade_no"]})
    (wechat_refund,) = at_wechat.json()["orders"][0]["refunds"]
    assert (wechat_refund["status"], wechat_refund["amount_fen"]) == ("SUCCESS", 1000)
    assert wechat_refund["out_refund_no"] == refund["out_refund_no"]
