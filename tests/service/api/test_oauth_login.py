"""``/v1/login`` with an official account's or an app's appid: OAuth, not jscode2session, end to end."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from weipay.sdk import authorize_url

from ..web_harness import Harness

SHOP = "https://shop.example.com/pay"


def _redirect_code(harness: Harness, user: str, state: str) -> str:
    """The payer opens the authorize URL in WeChat; WeChat redirects to the shop with a code."""
    url = authorize_url(harness.appid("official_account"), SHOP, "snsapi_base", state, base_url=harness.sim.base_url)
    landed = harness.wechat.get(url.split("#")[0] + f"&user={user}")
    assert landed.status_code == 302
    query = parse_qs(urlsplit(landed.headers["location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


def test_official_account_login_then_jsapi_payment(harness: Harness) -> None:
    appid = harness.appid("official_account")
    code = _redirect_code(harness, "alice", "s42")

    answer = harness.api.post("/v1/login", json={"appid": appid, "code": code})

    assert answer.status_code == 200, answer.text
    openid = answer.json()["openid"]
    assert openid == harness.sim.openid_for(appid, "alice") and set(answer.json()) == {"openid", "token"}
    user = {"Authorization": f"Bearer {answer.json()['token']}"}
    order = harness.create_order(payer_openid=openid)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", json={"channel": "jsapi"}, headers=user)
    assert payment.status_code == 201, payment.text
    assert payment.json()["request_payment"]["appId"] == appid
    harness.pay(payment.json(), openid)
    harness.deliver()
    assert harness.order(order["id"], user)["status"] == "paid"
    again = harness.api.post("/v1/login", json={"appid": appid, "code": code})
    assert again.status_code == 502 and again.json()["error"]["code"] == "login_failed"


def test_app_login_uses_oauth_too(harness: Harness) -> None:
    appid = harness.appid("app")
    minted = harness.wechat.post("/simulator/oauth-codes", json={"appid": appid, "user": "bob",
                                                                 "scope": "snsapi_userinfo"}).json()
    answer = harness.api.post("/v1/login", json={"appid": appid, "code": minted["code"]})
    assert answer.status_code == 200 and answer.json()["openid"] == minted["openid"]


@pytest.mark.parametrize("kind", ["official_account", "app"])
def test_a_bad_oauth_code_is_login_failed(harness: Harness, kind: str) -> None:
    answer = harness.api.post("/v1/login", json={"appid": harness.appid(kind), "code": "never-issued"})
    assert answer.status_code == 502 and answer.json()["error"]["code"] == "login_failed"


def test_a_mini_program_code_is_not_an_official_account_code(harness: Harness) -> None:
    mini = harness.wechat.post("/simulator/login-codes", json={"appid": harness.appid()}).json()
    answer = harness.api.post("/v1/login", json={"appid": harness.appid("official_account"), "code": mini["code"]})
    assert answer.status_code == 502 and answer.json()["error"]["code"] == "login_failed"
