"""The abnormal-refund contract over the service's HTTP API and console: ``POST /v1/refunds/{id}/abnormal-refund``
(v3: WeChat's apply-abnormal-refund), ``POST /v1/refunds/{id}/resolve`` (v2: the operator's record), the
``abnormal`` status and ``refund.abnormal`` webhook, and a refund made outside weipay (``kind`` external)."""

from __future__ import annotations

from typing import Any

from ..admin.test_console import csrf, login
from ..web_harness import MCHID, Harness

CARD = {"bank_type": "ICBC_DEBIT", "bank_account": "6222020200001234567", "real_name": "张三"}


def _abnormal(harness: Harness, api: str = "v3", amount: int = 3000) -> tuple[dict[str, Any], dict[str, Any]]:
    order = harness.create_order(amount)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native", "api": api}).json()  # fmt: skip
    harness.pay(payment)
    harness.deliver()
    refund = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "AB1", "amount": 1000}).json()  # fmt: skip
    ended = harness.wechat.post("/simulator/refunds", json={"out_refund_no": refund["out_refund_no"],
                                                           "status": "ABNORMAL"})  # fmt: skip
    assert ended.status_code == 200, ended.text
    harness.deliver()
    current = harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()
    assert current["status"] == "abnormal"
    return order, current


def _webhooks(harness: Harness, order_id: str) -> list[str]:
    with harness.app.state.services.uow.read() as tx:
        return [j.payload["event"] for j in tx.jobs.list(order_id=order_id) if j.kind == "deliver_webhook"]


def test_abnormal_refund_to_the_payer_card_over_http(harness: Harness) -> None:
    order, refund = _abnormal(harness)
    held = harness.order(order["id"])
    assert (held["status"], held["refunded_amount"]) == ("paid", 0)
    assert "refund.abnormal" in _webhooks(harness, order["id"]) and "refund.failed" not in _webhooks(
        harness, order["id"])  # fmt: skip
    url = f"/v1/refunds/{refund['id']}/abnormal-refund"
    assert harness.api.post(url, json={"type": "user_bank_card", **CARD}).status_code == 401
    missing = harness.api.post(url, headers=harness.merchant,
                               json={"type": "user_bank_card", "bank_type": "ICBC_DEBIT"})  # fmt: skip
    assert missing.status_code == 422
    wrong_type = harness.api.post(url, headers=harness.merchant, json={"type": "balance"})
    assert wrong_type.status_code == 422
    answer = harness.api.post(url, headers=harness.merchant, json={"type": "user_bank_card", **CARD})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "processing"
    again = harness.api.post(url, headers=harness.merchant, json={"type": "merchant_bank_card"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "refund_not_abnormal"
    harness.deliver(advance_s=harness.sim.refund_processing_s + 1)
    assert harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()["status"] == "succeeded"
    final = harness.order(order["id"])
    assert (final["status"], final["refunded_amount"]) == ("partially_refunded", 1000)
    assert CARD["bank_account"] not in harness.api.get(f"/v1/orders/{order['id']}/events",
                                                       headers=harness.merchant).text  # fmt: skip


def test_v2_abnormal_refund_is_resolved_over_http(harness: Harness) -> None:
    order, refund = _abnormal(harness, "v2")
    redirect = harness.api.post(f"/v1/refunds/{refund['id']}/abnormal-refund", headers=harness.merchant,
                                json={"type": "merchant_bank_card"})  # fmt: skip
    assert redirect.status_code == 409 and redirect.json()["error"]["code"] == "abnormal_refund_unavailable"
    url = f"/v1/refunds/{refund['id']}/resolve"
    assert harness.api.post(url, headers=harness.merchant, json={"outcome": "maybe"}).status_code == 422
    resolved = harness.api.post(url, headers=harness.merchant, json={"outcome": "succeeded", "note": "bank transfer"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "succeeded"
    assert harness.order(order["id"])["refunded_amount"] == 1000
    events = harness.api.get(f"/v1/orders/{order['id']}/events", headers=harness.merchant).text
    assert "bank transfer" in events


def test_console_redirects_an_abnormal_refund(harness: Harness) -> None:
    order, refund = _abnormal(harness)
    login(harness)
    detail = harness.api.get(f"/console/orders/{order['id']}")
    assert "abnormal-refund" in detail.text
    sent = harness.api.post(f"/console/refunds/{refund['id']}/abnormal-refund",
                            data={"csrf_token": csrf(detail.text), "type": "merchant_bank_card"})  # fmt: skip
    assert sent.status_code == 303 and "failed" not in sent.headers["location"], sent.headers["location"]
    assert harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()["status"] == "processing"
    refused = harness.api.post(f"/console/refunds/{refund['id']}/resolve",
                               data={"csrf_token": csrf(detail.text), "outcome": "succeeded"})  # fmt: skip
    assert refused.status_code == 303 and "failed=" in refused.headers["location"]


def test_a_portal_refund_shows_as_an_external_refund(harness: Harness) -> None:
    from weipay.sdk import v3 as sdk_v3

    order = harness.create_order(3000)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()  # fmt: skip
    harness.pay(payment)
    harness.deliver()
    gateway = harness.app.state.services.gateway
    gateway.client(MCHID).call(sdk_v3.CreateRefund(
        out_refund_no="PORTAL-9", refund_fen=3000, total_fen=3000, out_trade_no=payment["out_trade_no"],
        notify_url=gateway.notify_url(MCHID, "v3")))  # fmt: skip
    harness.deliver(advance_s=harness.sim.refund_processing_s + 1)
    final = harness.order(order["id"])
    assert (final["status"], final["refunded_amount"]) == ("refunded", 3000)
    assert [(r["kind"], r["status"], r["out_refund_no"]) for r in final["refunds"]] == [
        ("external", "succeeded", "PORTAL-9")]  # fmt: skip
    assert "refund.succeeded" in _webhooks(harness, order["id"])
