"""Every channel on API v2 and v3, WeChat signing by public key or by platform certificates, from order to paid
to refunded, over HTTP into create_app with the simulator as WeChat (in-process transports; the simulator's
notifier delivers into the app). SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from .web_harness import Harness, bundle_template, certificate_bundle_template, harness, harness_factory

__all__ = ["bundle_template", "certificate_bundle_template", "harness", "harness_factory"]

CHANNELS = ["jsapi", "miniprogram", "native", "app", "h5"]


def payer_for(harness: Harness, channel: str) -> str | None:
    """A payer openid under the appid the channel pays with (jsapi: official account; miniprogram: mini program)."""
    kind = {"jsapi": "official_account", "miniprogram": "miniprogram"}.get(channel)
    if kind is None:
        return None
    code = harness.wechat.post("/simulator/login-codes", json={"appid": harness.appid(kind), "user": "bob"}).json()
    return str(code["openid"])


def check_client_params(channel: str, payment: dict[str, Any]) -> None:
    if channel in ("jsapi", "miniprogram"):
        assert set(payment["request_payment"]) >= {"timeStamp", "nonceStr", "package", "signType", "paySign"}
        assert payment["request_payment"]["package"].startswith("prepay_id=")
    elif channel == "app":
        assert payment["app_payment"]
    elif channel == "native":
        assert payment["code_url"].startswith("weixin://")
        assert "/qr.svg?sig=" in payment["qr_url"]
    else:
        assert payment["h5_url"].startswith("http")


@pytest.mark.parametrize("verification", ["public_key", "platform_certificate"])
@pytest.mark.parametrize("api", ["v3", "v2"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_order_paid_then_refunded(harness_factory: Any, channel: str, api: str, verification: str) -> None:
    harness: Harness = harness_factory(verification=verification)
    openid = payer_for(harness, channel)
    order = harness.create_order(2500, payer_openid=openid)
    started = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": channel, "api": api, "payer_openid": openid})
    assert started.status_code == 201, started.text
    payment = started.json()
    assert (payment["channel"], payment["api"], payment["status"]) == (channel, api, "pending")
    check_client_params(channel, payment)

    harness.pay(payment, openid)
    harness.deliver()
    paid = harness.order(order["id"])
    assert paid["status"] == "paid" and paid["paid_amount"] == 2500
    assert paid["attempts"][0]["transaction_id"]

    refund = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "RF-1", "amount": 1000, "reason": "too big"})
    assert refund.status_code == 201, refund.text
    assert refund.json()["status"] in ("processing", "succeeded")
    second = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "RF-2", "amount": 1500})
    assert second.status_code == 201, second.text

    harness.deliver(advance_s=harness.sim.refund_processing_s + 1)
    harness.deliver(advance_s=1)
    for created in (refund.json(), second.json()):
        current = harness.api.get(f"/v1/refunds/{created['id']}", headers=harness.merchant).json()
        assert current["status"] == "succeeded", current
    final = harness.order(order["id"])
    assert final["status"] == "refunded" and final["refunded_amount"] == 2500

    events = harness.api.get(f"/v1/orders/{order['id']}/events", headers=harness.merchant)
    assert events.status_code == 200
    types = [e["type"] for e in events.json()["events"]]
    assert types.count("refund.succeeded") == 2 and "notification.applied" in types
    calls = harness.api.get(f"/v1/orders/{order['id']}/calls", headers=harness.merchant)
    assert calls.status_code == 200
    assert "notify" in " ".join(e["endpoint"] for e in calls.json()["calls"])
