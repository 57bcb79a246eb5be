"""Logging: one line per exchange, and no secret anywhere (RELIABILITY T11, secrets canary)."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import string
import traceback

import httpx
import pytest
from client_fakes import V3Get, V3Post
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from weipay.sdk.errors import WeChatPayError
from weipay.sdk.miniprogram import Code2Session

QUERY_PATH = "/v3/pay/transactions/out-trade-no/T1"


def canary(length: int = 32) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def test_one_line_per_exchange(wechat, credentials, make_client, caplog):
    caplog.set_level(logging.INFO, logger="weipay.sdk")
    wechat.route("GET", QUERY_PATH)(lambda request: wechat.signed(200, {}, extra={"Request-ID": "RID-1"}))
    make_client(credentials, wechat).call(V3Get())

    (record,) = [r for r in caplog.records if r.name == "weipay.sdk"]
    message = record.getMessage()
    assert message.startswith(f"GET {QUERY_PATH}?mchid=1230000109 -> 200 latency_ms=")
    assert message.endswith("request_id=RID-1 attempt=1")


def test_secrets_canary(wechat, credentials, merchant_keys, make_client, caplog, sleeps):
    """Every secret gets a unique random value; none may surface in logs, errors or reprs, at DEBUG."""
    caplog.set_level(logging.DEBUG)
    app_secret, session_key, login_code = canary(), canary(24), canary(16)
    secret_credentials = dataclasses.replace(
        credentials, api_v2_key=canary(), api_v3_key=canary(), app_secrets={"miniprogram": app_secret}
    )
    private_pem = merchant_keys.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    pem_lines = [line for line in private_pem.splitlines() if line and not line.startswith("-----")]
    canaries = [
        secret_credentials.api_v2_key,
        secret_credentials.api_v3_key,
        app_secret,
        session_key,
        login_code,
        *pem_lines,
    ]

    answers = iter(
        [
            lambda: wechat.signed(200, {"ok": 1}),
            lambda: wechat.signed(200, {"ok": 1}, tamper=True),
            lambda: wechat.signed(200, {"ok": 1}, signature="WECHATPAY/SIGNTEST/xyz"),
            lambda: httpx.Response(400, json={"code": "PARAM_ERROR", "message": "bad"}),
            lambda: httpx.Response(500, json={"code": "SYSTEM_ERROR", "message": "busy"}),
        ]
    )

    def timeout():
        raise httpx.ReadTimeout("timed out")

    def v3_route(request):
        return next(answers, timeout)()

    logins = iter(
        [
            {"openid": "o1", "session_key": session_key},
            {"errcode": 40029, "errmsg": "invalid code"},
            httpx.ConnectTimeout("connect timed out"),
            httpx.ConnectTimeout("connect timed out"),
            httpx.ConnectTimeout("connect timed out"),
        ]
    )

    def handler(request):
        if request.url.host == "api.weixin.qq.com":
            answer = next(logins)
            if isinstance(answer, Exception):
                raise answer
            return httpx.Response(200, json=answer)
        return wechat(request)

    wechat.route("GET", QUERY_PATH)(v3_route)
    wechat.route("POST", "/v3/pay/transactions/native")(v3_route)
    client = make_client(secret_credentials, handler)
    seen: list[str] = [repr(client.credentials), str(client.credentials)]

    operations = [V3Get(), V3Get(), V3Get(), V3Post({"a": 1}), V3Post({"a": 1}), V3Get()]
    appid = credentials.appids["miniprogram"]
    operations += [Code2Session(appid, login_code)] * 3
    for operation in operations:
        seen.append(repr(operation))
        try:
            seen.append(repr(client.call(operation)))
        except WeChatPayError as exc:
            seen.extend([str(exc), repr(exc), *traceback.format_exception(exc)])

    assert all(word in "".join(seen) for word in ("PARAM_ERROR", "ReadTimeout", "ConnectTimeout", "INVALID_CODE"))
    haystack = caplog.text + "\n".join(seen)
    assert "/sns/jscode2session" in caplog.text  # the login was logged, without its query
    leaked = [value for value in canaries if value in haystack]
    assert leaked == []


@pytest.mark.parametrize("logger_name", ["httpx"])
def test_httpx_request_lines_are_masked(credentials, make_client, caplog, logger_name):
    caplog.set_level(logging.INFO, logger=logger_name)
    secret = canary()
    client = make_client(
        dataclasses.replace(credentials, app_secrets={"miniprogram": secret}),
        lambda request: httpx.Response(200, json={"openid": "o", "session_key": "k"}),
    )
    client.call(Code2Session(credentials.appids["miniprogram"], "code"))
    assert "HTTP Request" in caplog.text and "secret=<redacted>" in caplog.text and secret not in caplog.text
