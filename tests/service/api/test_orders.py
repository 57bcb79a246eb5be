"""Orders over HTTP: creation, idempotency, bad input (4xx with a code, never 500), close, QR images."""

from __future__ import annotations

from typing import Any

import pytest

from ..web_harness import Harness

ORDER = {"merchant_order_no": "SO-1", "amount": 1999, "description": "mug"}


def post_order(harness: Harness, body: Any, **headers: str) -> Any:
    return harness.api.post("/v1/orders", json=body, headers={**harness.merchant, **headers})


def test_same_body_returns_the_same_order_and_a_different_body_conflicts(harness: Harness) -> None:
    first = post_order(harness, ORDER)
    assert first.status_code == 201
    again = post_order(harness, ORDER)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    changed = post_order(harness, {**ORDER, "amount": 2000})
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_conflict"


def test_idempotency_key_header(harness: Harness) -> None:
    first = post_order(harness, {**ORDER, "merchant_order_no": "SO-K1"}, **{"Idempotency-Key": "key-1"})
    again = post_order(harness, {**ORDER, "merchant_order_no": "SO-K1"}, **{"Idempotency-Key": "key-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other_body = post_order(harness, {**ORDER, "merchant_order_no": "SO-K2"}, **{"Idempotency-Key": "key-1"})
    assert other_body.status_code == 409


@pytest.mark.parametrize(
    ("amount", "code"),
    [(19.99, "invalid_amount"), (True, "invalid_amount"), (0, "invalid_amount"), (-5, "invalid_amount"),
     ("1999", "invalid_amount"), (10**13, "invalid_amount"), (None, "invalid_amount")],
)
def test_amounts_must_be_positive_integer_fen(harness: Harness, amount: Any, code: str) -> None:
    response = post_order(harness, {**ORDER, "amount": amount})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert "amount" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [{}, {**ORDER, "currency": "USD"}, {**ORDER, "merchant_order_no": "has space"}, {**ORDER, "description": ""},
     {**ORDER, "extra": 1}, [1, 2], "text"],
)
def test_malformed_bodies_are_422_with_a_code(harness: Harness, body: Any) -> None:
    response = post_order(harness, body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["message"]


@pytest.mark.parametrize("expire_in_s", [5, 299, "600", 8 * 24 * 3600])
def test_an_order_lifetime_wechat_cannot_honour_is_invalid_expiry(harness: Harness, expire_in_s: Any) -> None:
    response = post_order(harness, {**ORDER, "expire_in_s": expire_in_s})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_expiry" and "expire_in_s" in error["message"]


def test_broken_json_and_wrong_content(harness: Harness) -> None:
    broken = harness.api.post("/v1/orders", content=b'{"amount": 1', headers={**harness.merchant,
                                                                               "Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_json"
    huge = harness.api.post("/v1/orders", content=b"\xff\xfe" * 10, headers={**harness.merchant,
                                                                            "Content-Type": "application/json"})
    assert 400 <= huge.status_code < 500


def test_unknown_ids_and_methods(harness: Harness) -> None:
    assert harness.api.get("/v1/orders/ord_000000000000000000000000", headers=harness.merchant).status_code == 404
    assert harness.api.get("/v1/orders/../../etc/passwd", headers=harness.merchant).status_code == 404
    assert harness.api.get("/v1/refunds/nope", headers=harness.merchant).json()["error"]["code"] == "refund_not_found"
    wrong = harness.api.delete("/v1/orders", headers=harness.merchant)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    channel = harness.api.post(f"/v1/orders/{harness.create_order()['id']}/payments", headers=harness.merchant,
                               json={"channel": "bitcoin"})
    assert channel.status_code == 422


def test_close_unpaid_order_and_refuse_closing_a_paid_one(harness: Harness) -> None:
    order = harness.create_order()
    started = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"})
    assert started.status_code == 201
    closed = harness.api.post(f"/v1/orders/{order['id']}/close", headers=harness.merchant)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["attempts"][0]["status"] == "closed"
    again = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant, json={"channel": "native"})
    assert again.status_code == 409

    paid = harness.create_order()
    payment = harness.api.post(f"/v1/orders/{paid['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()
    harness.pay(payment)
    harness.deliver()
    refused = harness.api.post(f"/v1/orders/{paid['id']}/close", headers=harness.merchant)
    assert refused.status_code == 409
    assert harness.order(paid["id"])["status"] == "paid"


def test_refund_over_paid_amount_is_refused(harness: Harness) -> None:
    order = harness.create_order(1000)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()
    harness.pay(payment)
    harness.deliver()
    too_much = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                                json={"merchant_refund_no": "R1", "amount": 1001})
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "refund_exceeds_paid"
    floaty = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "R1", "amount": 10.5})
    assert floaty.status_code == 422 and floaty.json()["error"]["code"] == "invalid_amount"
    ok = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                          json={"merchant_refund_no": "R1", "amount": 400})
    same = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                            json={"merchant_refund_no": "R1", "amount": 400})
    assert (ok.status_code, same.status_code) == (201, 200) and ok.json()["id"] == same.json()["id"]
    different = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                                 json={"merchant_refund_no": "R1", "amount": 300})
    assert different.status_code == 409


def test_refund_of_unpaid_order_is_a_conflict(harness: Harness) -> None:
    order = harness.create_order()
    response = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                                json={"merchant_refund_no": "R1", "amount": 1})
    assert response.status_code == 409 and response.json()["error"]["code"] == "order_not_refundable"


def test_native_qr_image_needs_the_signed_url(harness: Harness) -> None:
    order = harness.create_order()
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()
    path = payment["qr_url"].removeprefix("http://service.test")
    image = harness.api.get(path)
    assert image.status_code == 200 and image.headers["content-type"] == "image/svg+xml"
    assert image.content.startswith(b"<svg")
    forged = harness.api.get(path.replace("sig=", "sig=0"))
    assert forged.status_code == 404 and forged.json()["error"]["code"] == "qr_not_found"


def test_overdue_payment_is_resolved_by_query_on_get(harness: Harness) -> None:
    order = harness.create_order()
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native", "api": "v2"}).json()
    assert harness.wechat.put("/simulator/faults", json={"notify_drop_rate": 1.0}).status_code == 200
    harness.pay(payment)
    harness.deliver()
    assert harness.order(order["id"])["status"] == "pending"  # no notification, not yet overdue
    harness.clock.advance(30)
    assert harness.order(order["id"])["status"] == "paid"
