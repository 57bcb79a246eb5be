"""The payer IP sent to WeChat: an explicit ``client_ip`` must be an address; a peer that is not one is replaced."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ..web_harness import Harness


def test_a_peer_that_is_not_an_ip_address_still_starts_a_v2_payment(harness_factory) -> None:  # type: ignore[no-untyped-def]
    harness: Harness = harness_factory(default_api="v2")
    order = harness.create_order()
    # TestClient reports its peer as "testclient", as a unix socket or odd proxy setup might.
    with_named_peer = TestClient(harness.app, base_url="http://service.test")
    started = with_named_peer.post(f"/v1/orders/{order['id']}/payments", json={"channel": "native", "api": "v2"},
                                   headers=harness.merchant)
    assert started.status_code == 201, started.text
    assert started.json()["code_url"].startswith("weixin://wxpay/bizpayurl")


def test_an_explicit_client_ip_must_be_an_address(harness: Harness) -> None:
    order = harness.create_order()
    answer = harness.api.post(f"/v1/orders/{order['id']}/payments",
                              json={"channel": "native", "client_ip": "not-an-ip"}, headers=harness.merchant)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_client_ip"
    assert harness.order(order["id"])["attempts"] == []
