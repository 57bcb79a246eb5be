"""``GET /v1/orders/{id}/events`` is a typed timeline with decrypted, redacted notification facts (never ciphertext);
the raw call log is ``GET /v1/orders/{id}/calls``. Both over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from weipay.sdk.v2.wechat_side import build_payment_notification
from weipay.service.jobs import http_sender
from weipay.service.usecases import TIMELINE_TYPES

from ..web_harness import MCHID, OTHER_API_KEY, Harness


def _events(harness: Harness, order_id: str) -> list[dict[str, Any]]:
    answer = harness.api.get(f"/v1/orders/{order_id}/events", headers=harness.merchant)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["order_id"] == order_id
    return list(body["events"])


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == kind]


def _masked(openid: str) -> str:
    return f"{openid[:4]}…{openid[-4:]}"


def _paid(harness: Harness, api: str, openid: str, amount: int = 2500) -> tuple[dict[str, Any], dict[str, Any]]:
    order = harness.create_order(amount)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native", "api": api}).json()  # fmt: skip
    paid = harness.pay(payment, openid)
    harness.deliver()
    return harness.order(order["id"]), paid


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_a_paid_and_refunded_order_reads_as_typed_events(harness: Harness, api: str) -> None:
    openid, _ = harness.login()
    order, paid = _paid(harness, api, openid)
    attempt = order["attempts"][0]
    refund = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "RF-T1", "amount": 1000, "reason": "chipped"}).json()
    harness.deliver(harness.sim.refund_processing_s + 1)
    harness.deliver(1)
    assert harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()["status"] == "succeeded"

    answer = harness.api.get(f"/v1/orders/{order['id']}/events", headers=harness.merchant)
    events = _events(harness, order["id"])
    types = [event["type"] for event in events]
    assert set(types) <= set(TIMELINE_TYPES)
    assert types[0] == "order.created"
    for earlier, later in [("order.created", "payment.started"), ("payment.started", "wechat.call"),
                           ("notification.received", "notification.applied"), ("payment.started", "refund.requested"),
                           ("refund.requested", "refund.succeeded")]:  # fmt: skip
        assert types.index(earlier) < types.index(later), (earlier, later, types)
    assert [event["at"] for event in events] == sorted(event["at"] for event in events)

    (created,) = _of(events, "order.created")
    assert (created["amount"], created["currency"], created["merchant_order_no"]) == (
        2500, "CNY", order["merchant_order_no"])  # fmt: skip
    (started,) = _of(events, "payment.started")
    assert started == {"type": "payment.started", "at": started["at"], "seq": 1,
                       "out_trade_no": attempt["out_trade_no"], "channel": "native", "api": api}  # fmt: skip
    (succeeded,) = _of(events, "payment.succeeded")
    assert (succeeded["transaction_id"], succeeded["amount"]) == (paid["transaction_id"], 2500)
    calls = _of(events, "wechat.call")
    assert calls and all(call["outcome"] == "ok" and call["api"] == api and "body" not in call for call in calls)

    payment_notice, refund_notice = _of(events, "notification.received")
    assert payment_notice["kind"] == "payment" and payment_notice["api"] == api
    facts = payment_notice["facts"]
    assert facts["transaction_id"] == paid["transaction_id"] == attempt["transaction_id"]
    assert (facts["out_trade_no"], facts["amount"], facts["trade_state"], facts["trade_type"], facts["currency"]) == (
        attempt["out_trade_no"], 2500, "SUCCESS", "NATIVE", "CNY")  # fmt: skip
    assert facts["bank_type"] and facts["success_time"]
    assert facts["payer_openid"] == _masked(openid) and openid not in answer.text
    assert {event["event_id"] for event in _of(events, "notification.applied")} == {
        payment_notice["event_id"], refund_notice["event_id"]}  # fmt: skip

    assert refund_notice["kind"] == "refund"
    assert refund_notice["facts"] == {
        "out_trade_no": attempt["out_trade_no"], "out_refund_no": refund["out_refund_no"],
        "refund_id": refund_notice["facts"]["refund_id"], "refund_status": "SUCCESS", "amount": 1000, "total": 2500,
        "success_time": refund_notice["facts"]["success_time"],
    }  # fmt: skip
    (requested,) = _of(events, "refund.requested")
    assert (requested["refund"], requested["amount"], requested["reason"], requested["kind"]) == (
        refund["id"], 1000, "chipped", "merchant")  # fmt: skip
    (refunded,) = _of(events, "refund.succeeded")
    assert refunded["refund_id"] == refund_notice["facts"]["refund_id"] and refunded["refund"] == refund["id"]

    # Ciphertext and raw bodies are the call log's business, not the timeline's.
    assert "ciphertext" not in answer.text and "<xml>" not in answer.text
    if api == "v2":
        assert "req_info" not in answer.text


def test_the_raw_call_log_has_the_bodies_once(harness: Harness) -> None:
    order, _ = _paid(harness, "v3", "o-payer-0123456789abcdef")
    answer = harness.api.get(f"/v1/orders/{order['id']}/calls", headers=harness.merchant)
    assert answer.status_code == 200, answer.text
    calls = answer.json()["calls"]
    inbound = [call for call in calls if call["direction"] == "inbound"]
    assert len(inbound) == 1, "a notification is one row of the call log, not two"
    (notification,) = inbound
    assert (notification["endpoint"], notification["outcome"], notification["wechat_code"]) == (
        "notify/payment", "applied", None)  # fmt: skip
    assert "ciphertext" in notification["body"]
    outbound = [call for call in calls if call["direction"] == "outbound"]
    assert outbound and outbound[0]["endpoint"].endswith("/native") and outbound[0]["outcome"] == "ok"
    assert [call["at"] for call in calls] == sorted(call["at"] for call in calls)


def _replay(harness: Harness, request: httpx.Request) -> httpx.Response:
    sent = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "host")}
    return harness.api.post(request.url.path, content=request.content, headers=sent)


def test_a_notification_of_a_payment_already_known_is_a_duplicate(harness: Harness) -> None:
    order, request = harness.captured_payment(amount=1234)
    harness.clock.advance(harness.settings.notify_expected_after_s + 1)
    assert harness.order(order["id"])["status"] == "paid"  # the overdue notification made the service query
    assert _replay(harness, request).status_code == 204
    events = _events(harness, order["id"])
    (received,) = _of(events, "notification.received")
    assert received["facts"]["amount"] == 1234
    assert _of(events, "notification.duplicate") == [
        {"type": "notification.duplicate", "at": received["at"], "event_id": received["event_id"]}]  # fmt: skip
    assert not _of(events, "notification.applied")
    assert "out-trade-no" in _of(events, "wechat.call")[-1]["endpoint"]  # the query


def test_a_notification_that_contradicts_the_attempt_is_an_anomaly_on_the_timeline(harness: Harness) -> None:
    order = harness.create_order(1500)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native", "api": "v2"}).json()  # fmt: skip
    fields = {
        "result_code": "SUCCESS", "appid": harness.appid("official_account"), "mch_id": MCHID,
        "nonce_str": secrets.token_hex(8), "openid": "o-payer-0123456789abcdef", "trade_type": "NATIVE",
        "bank_type": "CMB_CREDIT", "total_fee": "1", "fee_type": "CNY", "cash_fee": "1",
        "transaction_id": "4200009999202612049999999990", "out_trade_no": payment["out_trade_no"],
        "time_end": "20261204120000",
    }  # fmt: skip
    signed = build_payment_notification(harness.account["apiv2_key"], fields)  # verified: WeChat's own key
    assert harness.api.post(f"/notify/wechatpay/v2/{MCHID}", content=signed).status_code == 200
    events = _events(harness, order["id"])
    (received,) = _of(events, "notification.received")
    assert (received["facts"]["amount"], received["facts"]["bank_type"]) == (1, "CMB_CREDIT")
    assert received["facts"]["payer_openid"] == "o-pa…cdef"
    assert _of(events, "notification.anomaly") == [
        {"type": "notification.anomaly", "at": received["at"], "event_id": received["event_id"]}]  # fmt: skip
    (anomaly,) = _of(events, "anomaly.recorded")
    assert anomaly["kind"] == "notification_mismatch" and "amount" in anomaly["detail"]["fields"]
    assert (anomaly["resolved"], anomaly["occurrences"]) == (False, 1)
    assert harness.order(order["id"])["status"] == "pending"


def test_only_the_merchant_reads_an_orders_timeline_and_calls(harness: Harness) -> None:
    openid, user = harness.login()
    order = harness.create_order(payer_openid=openid)
    other = {"Authorization": f"Bearer {OTHER_API_KEY}"}
    for path in (f"/v1/orders/{order['id']}/events", f"/v1/orders/{order['id']}/calls"):
        assert harness.api.get(path).status_code == 401
        assert harness.api.get(path, headers=user).json()["error"]["code"] == "merchant_only"
        hidden = harness.api.get(path, headers=other)
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "order_not_found"
    assert harness.api.get("/v1/orders/ord_nope/calls", headers=harness.merchant).status_code == 404


def test_webhooks_and_alerts_of_the_order_are_on_its_timeline(harness_factory: Any) -> None:
    harness = harness_factory(webhook_url="https://shop.test/hook", webhook_secret="whsec-test-0123456789abcdef")
    answers = iter([200] + [503] * 100)  # order.paid is taken; the refund's webhook never is
    harness.app.state.services.webhook_sender = http_sender(
        transport=httpx.MockTransport(lambda request: httpx.Response(next(answers))))
    order, _ = _paid(harness, "v3", "o-payer-0123456789abcdef", amount=800)
    harness.run_jobs()
    refund = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "RF-W", "amount": 800}).json()  # fmt: skip
    harness.deliver(harness.sim.refund_processing_s + 1)
    harness.deliver(1)
    for _ in range(70):  # two deliveries in turn, each 12 attempts over 3 days: a week
        harness.run_jobs()
        harness.clock.advance(3 * 3600)
    events = _events(harness, order["id"])
    webhooks = {(e["type"], e["event"]) for e in events if e["type"].startswith("webhook.")}
    assert ("webhook.delivered", "order.paid") in webhooks
    failed = _of(events, "webhook.failed")
    assert {e["event"] for e in failed} == {"refund.succeeded", "order.refunded"}
    assert all((e["attempts"], e["last_error"], e["http_status"]) == (12, "http_503", 503) for e in failed)
    sent = _of(events, "alert.sent")
    assert sent and {"webhook_failed"} <= {e["kind"] for e in sent}, [e["type"] for e in events]
    assert refund["id"] in {e["refund"] for e in _of(events, "refund.succeeded")}
