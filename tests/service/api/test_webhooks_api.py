"""``GET /v1/orders/{id}/webhooks`` and ``POST /v1/webhook-deliveries/{id}/redeliver``: a merchant key sees and
resends its own orders' deliveries only, an admin key any, a user's token none; every attempt is listed."""

from __future__ import annotations

from typing import Any

import httpx

from weipay.service.domain.webhook_signature import verify_webhook
from weipay.service.jobs import http_sender
from weipay.service.usecases.webhook_delivery import RETRY_DELAYS_S

from ..web_harness import ADMIN_KEY, OTHER_API_KEY, Harness

SECRET = "whsec-test-0123456789abcdef"


def _shop(harness_factory: Any) -> tuple[Harness, list[httpx.Request], list[int]]:
    harness: Harness = harness_factory(webhook_url="https://shop.test/hooks", webhook_secret=SECRET)
    received: list[httpx.Request] = []
    answers = [503]  # the status the merchant's system answers; tests change it

    def system(request: httpx.Request) -> httpx.Response:
        request.read()
        received.append(request)
        return httpx.Response(answers[0], text="busy" if answers[0] >= 300 else "ok")

    harness.app.state.services.webhook_sender = http_sender(transport=httpx.MockTransport(system))
    return harness, received, answers


def _paid(harness: Harness) -> dict[str, Any]:
    order = harness.create_order(800)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native", "api": "v3"}).json()  # fmt: skip
    harness.pay(payment)
    harness.deliver()
    return order


def test_the_deliveries_of_an_order_list_every_attempt_and_can_be_redelivered(harness_factory: Any) -> None:
    harness, received, answers = _shop(harness_factory)
    order = _paid(harness)
    harness.run_jobs()
    harness.clock.advance(RETRY_DELAYS_S[0])
    harness.run_jobs()
    url = f"/v1/orders/{order['id']}/webhooks"
    listed = harness.api.get(url, headers=harness.merchant)
    assert listed.status_code == 200, listed.text
    (delivery,) = listed.json()["deliveries"]
    assert (delivery["type"], delivery["status"], delivery["attempts"]) == ("order.paid", "pending", 2)
    assert delivery["event_id"].startswith("evt_") and delivery["next_attempt_at"].endswith("Z")
    assert [(a["attempt"], a["outcome"], a["http_status"], a["error"], a["response_excerpt"])
            for a in delivery["history"]] == [(1, "failed", 503, "http_503", "busy"), (2, "failed", 503, "http_503",
                                                                                      "busy")]  # fmt: skip
    assert all(a["latency_ms"] >= 0 and not a["manual"] for a in delivery["history"])

    redeliver = f"/v1/webhook-deliveries/{delivery['id']}/redeliver"
    answers[0] = 200
    resent = harness.api.post(redeliver, headers=harness.merchant)
    assert resent.status_code == 200, resent.text
    assert (resent.json()["status"], resent.json()["id"]) == ("pending", delivery["id"])
    harness.run_jobs()
    (after,) = harness.api.get(url, headers=harness.merchant).json()["deliveries"]
    assert (after["status"], after["attempts"], after["history"][-1]["manual"]) == ("delivered", 3, True)
    assert received[-1].headers["x-weipay-event-id"] == delivery["event_id"]
    assert verify_webhook(SECRET, received[-1].headers["x-weipay-signature"], received[-1].content,
                          now=harness.clock())  # fmt: skip
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert harness.api.get(url, headers=admin).json()["deliveries"][0]["id"] == delivery["id"]
    assert harness.api.post(redeliver, headers=admin).status_code == 200


def test_another_merchants_deliveries_are_not_found_and_users_are_refused(harness_factory: Any) -> None:
    harness, _, _ = _shop(harness_factory)
    order = _paid(harness)
    harness.run_jobs()
    url = f"/v1/orders/{order['id']}/webhooks"
    (delivery,) = harness.api.get(url, headers=harness.merchant).json()["deliveries"]
    other = {"Authorization": f"Bearer {OTHER_API_KEY}"}
    hidden = harness.api.get(url, headers=other)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "order_not_found"
    redeliver = f"/v1/webhook-deliveries/{delivery['id']}/redeliver"
    refused = harness.api.post(redeliver, headers=other)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "webhook_delivery_not_found"
    assert harness.api.get(url).status_code == 401
    _, user = harness.login()
    assert harness.api.get(url, headers=user).status_code == 403
    assert harness.api.post(redeliver, headers=user).status_code == 403
    assert harness.api.post("/v1/webhook-deliveries/0/redeliver", headers=harness.merchant).status_code == 422
    assert harness.api.post(f"/v1/webhook-deliveries/{2**31}/redeliver", headers=harness.merchant).status_code == 422
    missing = harness.api.post("/v1/webhook-deliveries/999999/redeliver", headers=harness.merchant)
    assert missing.status_code == 404
