"""Auth: merchant API keys (hashed lookup) and mini-program user tokens acting only on their own orders."""

from __future__ import annotations

import pytest

from ..web_harness import OTHER_API_KEY, Harness


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer "}],
)
def test_missing_or_bad_credentials_are_401(harness: Harness, headers: dict[str, str]) -> None:
    response = harness.api.post("/v1/orders", json={"merchant_order_no": "A1", "amount": 1, "description": "x"},
                                headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_user_token_sees_only_own_orders(harness: Harness) -> None:
    alice, alice_auth = harness.login("alice")
    _, bob_auth = harness.login("bob")
    order = harness.create_order(payer_openid=alice)
    assert harness.order(order["id"], alice_auth)["id"] == order["id"]
    denied = harness.api.get(f"/v1/orders/{order['id']}", headers=bob_auth)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "order_not_owned"
    pay_other = harness.api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "miniprogram"},
                                 headers=bob_auth)
    assert pay_other.status_code == 403


def test_user_cannot_pay_as_someone_else_or_use_merchant_endpoints(harness: Harness) -> None:
    alice, alice_auth = harness.login("alice")
    order = harness.create_order(payer_openid=alice)
    spoof = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=alice_auth,
                             json={"channel": "miniprogram", "payer_openid": "o-somebody-else"})
    assert spoof.status_code == 403 and spoof.json()["error"]["code"] == "payer_not_caller"
    create = harness.api.post("/v1/orders", json={"merchant_order_no": "U1", "amount": 1, "description": "x"},
                              headers=alice_auth)
    assert create.status_code == 403 and create.json()["error"]["code"] == "merchant_only"
    refund = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=alice_auth,
                              json={"merchant_refund_no": "R", "amount": 1})
    assert refund.status_code == 403
    events = harness.api.get(f"/v1/orders/{order['id']}/events", headers=alice_auth)
    assert events.status_code == 403


def test_another_merchants_key_cannot_see_the_order(harness: Harness) -> None:
    order = harness.create_order()
    response = harness.api.get(f"/v1/orders/{order['id']}", headers={"Authorization": f"Bearer {OTHER_API_KEY}"})
    assert response.status_code == 404


def test_login_refuses_unknown_appid_and_bad_codes(harness: Harness) -> None:
    unknown = harness.api.post("/v1/login", json={"appid": "wx-not-ours", "code": "abc"})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_appid"
    bad_code = harness.api.post("/v1/login", json={"appid": harness.appid(), "code": "never-issued"})
    assert bad_code.status_code == 502 and bad_code.json()["error"]["code"] == "login_failed"
    missing = harness.api.post("/v1/login", json={"appid": harness.appid()})
    assert missing.status_code == 422


def test_login_never_returns_the_session_key(harness: Harness) -> None:
    code = harness.wechat.post("/simulator/login-codes", json={"appid": harness.appid()}).json()
    body = harness.api.post("/v1/login", json={"appid": harness.appid(), "code": code["code"]}).json()
    assert set(body) == {"openid", "token"}


BASIC = "Basic b3BzOm9wcy1wYXNzd29yZC1mb3ItdGVzdHM="  # ops:ops-password-for-tests


def test_no_secret_appears_in_any_answer(harness: Harness) -> None:
    from ..web_harness import ADMIN_KEY, API_KEY

    openid, user = harness.login()
    order = harness.create_order(payer_openid=openid)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "miniprogram", "api": "v2"},
                               headers=user).json()
    harness.pay(payment, openid)
    harness.deliver()
    answers = [
        harness.api.get(f"/v1/orders/{order['id']}/events", headers=harness.merchant).text,
        harness.api.get("/openapi.json").text,
        harness.api.get("/metrics").text,
        harness.api.get("/healthz").text,
        harness.api.post("/v1/orders", json={"amount": 1.5}, headers=harness.merchant).text,
        harness.api.get(f"/console/orders/{order['id']}", headers={"Authorization": BASIC}).text,
        repr(harness.settings),
    ]
    secrets = [harness.account["apiv2_key"], harness.account["apiv3_key"], API_KEY, ADMIN_KEY,
               *harness.account["app_secrets"].values()]
    for text in answers:
        for secret in secrets:
            assert secret not in text
