"""Official-account web login: ``authorize_url`` (checked against wechatpy's) and ``OAuthAccessToken`` on the wire."""

from __future__ import annotations

import dataclasses
import logging
from urllib.parse import parse_qs

import httpx
import pytest

from weipay.sdk import ConfigurationError, OAuthAccessToken, OAuthToken, ProtocolError, WeChatRefused, authorize_url

APP_SECRET = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
ACCESS_TOKEN = "ACCESS-TOKEN-OF-THE-USER-abcdefghijklmnopqrstuvwxyz"
REFRESH_TOKEN = "REFRESH-TOKEN-OF-THE-USER-abcdefghijklmnopqrstuvwxyz"
OFFICIAL = "wx520c15f417810387"


@pytest.fixture
def oauth_credentials(credentials):
    appids = {**credentials.appids, "official_account": OFFICIAL}
    return dataclasses.replace(credentials, appids=appids, app_secrets={"official_account": APP_SECRET})


@pytest.mark.parametrize("scope", ["snsapi_base", "snsapi_userinfo"])
@pytest.mark.parametrize("state", ["", "STATE123"])
@pytest.mark.parametrize("redirect", ["https://shop.example.com/back", "https://shop.example.com/b?x=1&y=中文"])
def test_authorize_url_is_wechatpys(scope, state, redirect):
    wechatpy_oauth = pytest.importorskip("wechatpy.oauth")
    theirs = wechatpy_oauth.WeChatOAuth(OFFICIAL, APP_SECRET, redirect, scope=scope, state=state).authorize_url
    assert authorize_url(OFFICIAL, redirect, scope, state) == theirs


def test_authorize_url_points_where_it_is_told():
    url = authorize_url(OFFICIAL, "http://127.0.0.1:8000/login", base_url="http://127.0.0.1:8900/")
    assert url.startswith("http://127.0.0.1:8900/connect/oauth2/authorize?appid=wx520c15f417810387&redirect_uri=")


@pytest.mark.parametrize(
    "arguments",
    [
        ("", "https://a.example/b", "snsapi_base", ""),
        (OFFICIAL, "/relative", "snsapi_base", ""),
        (OFFICIAL, "https://a.example/b#frag", "snsapi_base", ""),
        (OFFICIAL, "https://a.example/b", "snsapi_login", ""),
        (OFFICIAL, "https://a.example/b", "snsapi_base", "has space"),
        (OFFICIAL, "https://a.example/b", "snsapi_base", "x" * 129),
    ],
)
def test_authorize_url_refuses_what_wechat_would(arguments):
    with pytest.raises(ConfigurationError):
        authorize_url(*arguments)


def test_code_becomes_a_token_and_nothing_secret_is_logged_or_shown(oauth_credentials, make_client, caplog):
    seen: list[httpx.Request] = []

    def host(request):
        seen.append(request)
        return httpx.Response(200, json={
            "access_token": ACCESS_TOKEN, "expires_in": 7200, "refresh_token": REFRESH_TOKEN,
            "openid": "oLVPpjqs9BhvzwPj5A-vTYAX3GLc", "scope": "snsapi_userinfo", "unionid": "o6_bmasdasdsad6",
            "is_snapshotuser": 1,
        })

    caplog.set_level(logging.DEBUG)
    token = make_client(oauth_credentials, host).call(OAuthAccessToken(OFFICIAL, "061Abc"))

    assert token == OAuthToken("oLVPpjqs9BhvzwPj5A-vTYAX3GLc", "snsapi_userinfo", ACCESS_TOKEN, REFRESH_TOKEN, 7200,
                               "o6_bmasdasdsad6", True)
    (request,) = seen
    assert request.url.host == "api.weixin.qq.com" and request.url.path == "/sns/oauth2/access_token"
    assert parse_qs(request.url.query.decode()) == {
        "appid": [OFFICIAL], "secret": [APP_SECRET], "code": ["061Abc"], "grant_type": ["authorization_code"],
    }
    shown = repr(token) + str(token) + repr(OAuthAccessToken(OFFICIAL, "061Abc")) + caplog.text
    for secret in (ACCESS_TOKEN, REFRESH_TOKEN, APP_SECRET, "061Abc"):
        assert secret not in shown
    assert "/sns/oauth2/access_token" in caplog.text


@pytest.mark.parametrize(
    ("errcode", "code"),
    [(40029, "INVALID_CODE"), (40163, "CODE_BEEN_USED"), (40125, "INVALID_APPSECRET"), (40013, "INVALID_APPID"),
     (41008, "MISSING_CODE"), (50001, "API_UNAUTHORIZED"), (61234, "ERRCODE_61234")],
)
def test_errcodes_are_named_and_final(oauth_credentials, make_client, errcode, code):
    seen = []

    def host(request):
        seen.append(request)
        return httpx.Response(200, json={"errcode": errcode, "errmsg": f"no, rid: {errcode}"})

    with pytest.raises(WeChatRefused) as caught:
        make_client(oauth_credentials, host).call(OAuthAccessToken(OFFICIAL, "c"))
    assert caught.value.code == code and caught.value.detail == {"errcode": errcode} and len(seen) == 1


def test_a_busy_login_host_is_retried(oauth_credentials, make_client):
    answers = iter([{"errcode": -1, "errmsg": "system error"}, {"openid": "o1", "access_token": "t"}])
    token = make_client(oauth_credentials, lambda request: httpx.Response(200, json=next(answers))).call(
        OAuthAccessToken(OFFICIAL, "c"))
    assert token.openid == "o1" and token.expires_in_s == 7200 and token.unionid is None


@pytest.mark.parametrize("answer", [httpx.Response(200, content=b"<html>"), httpx.Response(200, json={"openid": ""}),
                                    httpx.Response(200, json=[1])])
def test_an_answer_without_the_openid_is_a_protocol_error(oauth_credentials, make_client, answer):
    with pytest.raises(ProtocolError):
        make_client(oauth_credentials, lambda request: answer).call(OAuthAccessToken(OFFICIAL, "c"))


def test_an_appid_without_a_secret_is_a_configuration_error(oauth_credentials, make_client):
    with pytest.raises(ConfigurationError):
        make_client(oauth_credentials, lambda request: httpx.Response(500)).call(OAuthAccessToken("wx1", "c"))
    with pytest.raises(ConfigurationError):
        make_client(oauth_credentials, lambda request: httpx.Response(500)).call(OAuthAccessToken(OFFICIAL, ""))
