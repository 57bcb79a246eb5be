"""Official-account web login and app login against the simulator: the authorize page, the redirect, the code
exchange with its errors, driven by the SDK's ``authorize_url`` and ``OAuthAccessToken`` as a merchant would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from weipay.sdk import Client, MerchantCredentials, OAuthAccessToken, WeChatRefused, authorize_url
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport

from .conftest import BASE_URL

REDIRECT = "https://shop.example.com/wechat/back?from=menu"


@pytest.fixture
def browser(sim: Simulator) -> Iterator[httpx.Client]:
    """The WeChat in-app browser: follows nothing by itself, so each redirect can be looked at."""
    with httpx.Client(transport=SimulatorTransport(sim), base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def client(sim: Simulator, bundle_dir: Path, clock: ManualClock) -> Iterator[Client]:
    credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")
    with Client(credentials, base_url=BASE_URL, login_base_url=BASE_URL, transport=SimulatorTransport(sim),
                clock=clock) as client:
        yield client


def _query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query, keep_blank_values=True)


def test_snsapi_base_redirects_at_once_with_a_code_the_server_trades_for_the_openid(
    sim: Simulator, browser: httpx.Client, client: Client
) -> None:
    appid = sim.account["appids"]["official_account"]
    url = authorize_url(appid, REDIRECT, "snsapi_base", "cart42", base_url=BASE_URL)

    assert url.endswith("#wechat_redirect")  # the browser never sends the fragment
    landed = browser.get(url.split("#")[0] + "&user=alice")  # user=: who is browsing (the simulator's own)

    assert landed.status_code == 302
    location = landed.headers["location"]
    assert location.startswith("https://shop.example.com/wechat/back?from=menu&code=")
    query = _query(location)
    assert query["state"] == ["cart42"] and query["from"] == ["menu"]
    token = client.call(OAuthAccessToken(appid, query["code"][0]))
    assert token.openid == sim.openid_for(appid, "alice") and token.scope == "snsapi_base"
    assert token.expires_in_s == 7200 and token.access_token not in repr(token)
    with pytest.raises(WeChatRefused) as used:
        client.call(OAuthAccessToken(appid, query["code"][0]))
    assert used.value.code == "CODE_BEEN_USED" and used.value.detail == {"errcode": 40163}


def test_snsapi_userinfo_asks_first_then_redirects_with_a_code_or_without_one(
    sim: Simulator, browser: httpx.Client, client: Client
) -> None:
    appid = sim.account["appids"]["official_account"]
    url = authorize_url(appid, REDIRECT, "snsapi_userinfo", "s1", base_url=BASE_URL).split("#")[0]

    page = browser.get(url)
    assert page.status_code == 200 and "授权登录" in page.text
    allow = page.text.split("id='allow' href='")[1].split("'")[0].replace("&amp;", "&")
    deny = page.text.split("id='deny' href='")[1].split("'")[0].replace("&amp;", "&")

    refused = _query(browser.get(deny).headers["location"])
    assert refused == {"from": ["menu"], "state": ["s1"]}  # no code: the user said no
    granted = _query(browser.get(allow).headers["location"])
    token = client.call(OAuthAccessToken(appid, granted["code"][0]))
    assert token.scope == "snsapi_userinfo" and token.openid == sim.openid_for(appid, "payer")


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({"appid": "miniprogram"}, 10016),
        ({"redirect_uri": "not a url"}, 10011),
        ({"scope": "snsapi_login"}, 10005),
        ({"response_type": "token"}, 10008),
    ],
)
def test_the_authorize_page_refuses_bad_parameters(
    sim: Simulator, browser: httpx.Client, change: dict[str, str], errcode: int
) -> None:
    params = {"appid": sim.account["appids"]["official_account"], "redirect_uri": REDIRECT,
              "response_type": "code", "scope": "snsapi_base", "state": "x", **change}
    if params["appid"] == "miniprogram":
        params["appid"] = sim.account["appids"]["miniprogram"]
    page = browser.get("/connect/oauth2/authorize", params=params)
    assert page.status_code == 400 and f"errcode: {errcode}" in page.text and "location" not in page.headers


def test_code_exchange_errors(sim: Simulator, browser: httpx.Client, client: Client, clock: ManualClock) -> None:
    official, app, mini = (sim.account["appids"][kind] for kind in ("official_account", "app", "miniprogram"))

    def refusal(appid: str, code: str) -> str:
        with pytest.raises(WeChatRefused) as caught:
            client.call(OAuthAccessToken(appid, code))
        return caught.value.code

    assert refusal(official, "made-up") == "INVALID_CODE"
    app_code = browser.post("/simulator/oauth-codes", json={"appid": app, "user": "alice"}).json()
    assert refusal(official, app_code["code"]) == "INVALID_CODE"  # another app's code
    assert client.call(OAuthAccessToken(app, app_code["code"])).openid == app_code["openid"]  # app login
    mini_code = browser.post("/simulator/login-codes", json={"appid": mini}).json()
    assert refusal(mini, mini_code["code"]) == "INVALID_APPID"  # a mini-program logs in with jscode2session
    stale = browser.post("/simulator/oauth-codes", json={}).json()
    clock.advance(301)
    assert refusal(official, stale["code"]) == "INVALID_CODE"

    raw = {"appid": official, "secret": "wrong", "code": "x", "grant_type": "authorization_code"}
    answer = browser.get("/sns/oauth2/access_token", params=raw).json()
    assert answer["errcode"] == 40125 and "rid:" in answer["errmsg"]
    assert browser.get("/sns/oauth2/access_token", params={**raw, "code": ""}).json()["errcode"] == 41008
    assert browser.get("/sns/oauth2/access_token", params={**raw, "grant_type": "x"}).json()["errcode"] == 40002


@pytest.mark.parametrize("body", [{"appid": "wx0000000000000000"}, {"user": ""}, {"scope": "snsapi_login"},
                                  {"appid": "miniprogram"}])
def test_oauth_code_minting_errors(sim: Simulator, browser: httpx.Client, body: dict[str, str]) -> None:
    if body.get("appid") == "miniprogram":
        body = {"appid": sim.account["appids"]["miniprogram"]}
    response = browser.post("/simulator/oauth-codes", json=body)
    assert response.status_code == 400 and response.json()["code"] == "PARAM_ERROR"
