"""Mini-program login (code2Session) through the client, against api.weixin.qq.com on the wire."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs

import httpx
import pytest

from weipay.sdk.errors import ConfigurationError, ProtocolError, WeChatRefused
from weipay.sdk.miniprogram import Code2Session, Session

APP_SECRET = "3f1e9d0c7b6a5f4e3d2c1b0a9f8e7d6c"
SESSION_KEY = "D1ZWEygStjuLCnZ9IN2l4Q=="


@pytest.fixture
def login_credentials(credentials):
    return dataclasses.replace(credentials, app_secrets={"miniprogram": APP_SECRET})


def login_host(answers):
    """api.weixin.qq.com answering each request with the next of ``answers`` (dicts or exceptions)."""
    seen = []

    def handler(request):
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    return handler, seen


def test_code_becomes_a_session(login_credentials, make_client):
    handler, seen = login_host([{"openid": "o16wA0b4", "session_key": SESSION_KEY, "unionid": "or4zX05h"}])
    appid = login_credentials.appids["miniprogram"]

    session = make_client(login_credentials, handler).call(Code2Session(appid, "081aBc"))

    assert session == Session("o16wA0b4", SESSION_KEY, "or4zX05h")
    assert SESSION_KEY not in repr(session) and SESSION_KEY not in str(session)
    (request,) = seen
    assert request.url.host == "api.weixin.qq.com" and request.url.path == "/sns/jscode2session"
    assert parse_qs(request.url.query.decode()) == {
        "appid": [appid],
        "secret": [APP_SECRET],
        "js_code": ["081aBc"],
        "grant_type": ["authorization_code"],
    }
    assert "Authorization" not in request.headers


def test_unionid_is_optional(login_credentials, make_client):
    handler, _ = login_host([{"openid": "o1", "session_key": SESSION_KEY}])
    session = make_client(login_credentials, handler).call(Code2Session(login_credentials.appids["miniprogram"], "c"))
    assert session.unionid is None


@pytest.mark.parametrize(
    ("errcode", "code"),
    [
        (40029, "INVALID_CODE"),
        (40163, "CODE_BEEN_USED"),
        (40125, "INVALID_APPSECRET"),
        (40226, "CODE_BLOCKED"),
        (61234, "ERRCODE_61234"),
    ],
)
def test_final_errcodes_are_named_and_tried_once(login_credentials, make_client, errcode, code):
    handler, seen = login_host([{"errcode": errcode, "errmsg": f"oops, rid: 652d44d0-{errcode}"}])
    with pytest.raises(WeChatRefused) as caught:
        make_client(login_credentials, handler).call(Code2Session(login_credentials.appids["miniprogram"], "c"))
    assert caught.value.code == code and not caught.value.retryable
    assert caught.value.message.startswith("oops") and caught.value.detail == {"errcode": errcode}
    assert len(seen) == 1


@pytest.mark.parametrize(("errcode", "code"), [(45011, "FREQUENCY_LIMITED"), (-1, "SYSTEM_BUSY")])
def test_busy_errcodes_are_retried(login_credentials, make_client, sleeps, errcode, code):
    busy = {"errcode": errcode, "errmsg": "busy"}
    handler, seen = login_host([busy, busy, {"openid": "o1", "session_key": SESSION_KEY}])
    session = make_client(login_credentials, handler).call(Code2Session(login_credentials.appids["miniprogram"], "c"))
    assert session.openid == "o1" and len(seen) == 3 and len(sleeps) == 2

    handler, seen = login_host([busy])
    with pytest.raises(WeChatRefused) as caught:
        make_client(login_credentials, handler).call(Code2Session(login_credentials.appids["miniprogram"], "c"))
    assert caught.value.code == code and caught.value.retryable and len(seen) == 3


def test_answers_that_are_not_sessions(login_credentials, make_client):
    appid = login_credentials.appids["miniprogram"]
    for answer in ([{"openid": "o1"}], [httpx.Response(200, content=b"<html>")]):
        handler, _ = login_host(answer)
        with pytest.raises(ProtocolError):
            make_client(login_credentials, handler).call(Code2Session(appid, "c"))
    handler, seen = login_host([httpx.Response(502, content=b"bad gateway")])
    with pytest.raises(WeChatRefused) as caught:
        make_client(login_credentials, handler).call(Code2Session(appid, "c"))
    assert caught.value.code == "HTTP_502" and len(seen) == 3


def test_unknown_app_or_missing_secret_sends_nothing(credentials, login_credentials, make_client):
    handler, seen = login_host([{}])
    with pytest.raises(ConfigurationError, match="not one of"):
        make_client(login_credentials, handler).call(Code2Session("wx0000000000000000", "c"))
    with pytest.raises(ConfigurationError, match="no app secret"):
        make_client(credentials, handler).call(Code2Session(credentials.appids["miniprogram"], "c"))
    assert seen == []


def test_login_host_is_configurable(login_credentials, make_client):
    handler, seen = login_host([{"openid": "o1", "session_key": SESSION_KEY}])
    client = make_client(login_credentials, handler, login_base_url="http://127.0.0.1:8900")
    client.call(Code2Session(login_credentials.appids["miniprogram"], "c"))
    assert str(seen[0].url).startswith("http://127.0.0.1:8900/sns/jscode2session?")
