"""Black box over real HTTP: ``weipay simulator serve`` + ``weipay serve`` + ``weipay worker``, each its own process.

The payer's bank refuses a payment (WeChat's PAYERROR); the service learns it by querying and marks the attempt
failed. WeChat keeps that order payable, and the payer pays it with another card. The money must not be kept
without an order: it pays the order if it is still pending; if the merchant closed the order meanwhile, it is
refunded automatically (as a double payment is). v2 for the first (its refunds need the
simulator's mTLS port, which this stack does not wire), v3 for the second. Before the fix both were a
``paid_after_terminal`` anomaly only.
"""

from __future__ import annotations

from typing import Any

from .test_served_refund_states import Stack, _wait_for, stack

__all__ = ["stack"]


def _failed_payment(stack: Stack, number: str, api: str) -> tuple[dict[str, Any], dict[str, Any]]:
    order = stack.api.post("/v1/orders", json={"merchant_order_no": number, "amount": 900,
                                               "description": "tea"}).json()  # fmt: skip
    payment = stack.api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "native", "api": api}).json()
    refused = stack.control.post("/simulator/payments", json={"code_url": payment["code_url"], "outcome": "bank_error"})
    assert refused.status_code == 200 and refused.json()["trade_state"] == "PAYERROR", refused.text

    def failed() -> bool:  # reading the order queries a payment older than its expected notification time
        return bool(stack.api.get(f"/v1/orders/{order['id']}").json()["attempts"][0]["status"] == "failed")

    _wait_for("the attempt to fail", failed, timeout_s=90)
    return order, payment


def test_a_payment_after_payerror_pays_the_pending_order_or_is_refunded_once_it_is_closed(stack: Stack) -> None:
    pending, pending_payment = _failed_payment(stack, "SERVED-LATE-1", "v2")
    closed, closed_payment = _failed_payment(stack, "SERVED-LATE-2", "v3")
    assert stack.api.post(f"/v1/orders/{closed['id']}/close").json()["status"] == "closed"
    for payment in (pending_payment, closed_payment):  # the payer pays again, with another card
        paid = stack.control.post("/simulator/payments", json={"code_url": payment["code_url"]})
        assert paid.status_code == 200 and paid.json()["trade_state"] == "SUCCESS", paid.text

    _wait_for("the late payment", lambda: stack.api.get(f"/v1/orders/{pending['id']}").json()["status"] == "paid")
    order = stack.api.get(f"/v1/orders/{pending['id']}").json()
    assert order["paid_amount"] == 900
    assert [a["status"] for a in order["attempts"]] == ["succeeded"]
    assert order["refunds"] == []

    def refunded() -> bool:
        refunds = stack.api.get(f"/v1/orders/{closed['id']}").json()["refunds"]
        return bool(refunds) and refunds[0]["status"] == "succeeded"

    _wait_for("the automatic refund", refunded, timeout_s=90)
    order = stack.api.get(f"/v1/orders/{closed['id']}").json()
    assert order["status"] == "closed"
    [refund] = order["refunds"]
    assert (refund["kind"], refund["amount"]) == ("duplicate_payment", 900)
    at_wechat = stack.control.get("/simulator/orders", params={"out_trade_no": closed_payment["out_trade_no"]})
    [wechat_refund] = at_wechat.json()["orders"][0]["refunds"]
    assert (wechat_refund["status"], wechat_refund["amount_fen"]) == ("SUCCESS", 900)
