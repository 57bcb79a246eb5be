"""Access tokens on the wire: fetched once, refreshed before expiry, single-flight, retried once when rejected.

The mini-program platform is an httpx MockTransport handler (``Platform``) that mints stable tokens and
accepts only the current ones; nothing of ours is replaced.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

import anyio
import httpx
import pytest

from weipay.sdk import (
    AccessToken,
    AccessTokenRejected,
    MemoryTokenCache,
    StableToken,
    WeChatRefused,
    acall_with_access_token,
    call_with_access_token,
    with_access_token,
)
from weipay.sdk.errors import TransportError
from weipay.sdk.shipping import IsTradeManaged, LogisticsType, OrderKey, ShippingItem, UploadShippingInfo

APP_SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
LIFETIME_S = 7200


class Platform:
    """api.weixin.qq.com for one app: ``/cgi-bin/stable_token`` and the shipping endpoints."""

    def __init__(self, appid: str, *, mint_delay_s: float = 0.0) -> None:
        self.appid = appid
        self.mint_delay_s = mint_delay_s
        self.generation = 0
        self.valid: set[str] = set()
        self.token_requests: list[dict] = []
        self.api_requests: list[httpx.Request] = []
        self.lock = threading.Lock()
        self.reject_always = False
        self.repeat_rejected_token = False  # normal mode keeps answering a token the API rejects
        self.token_errcode: int | None = None

    def current(self) -> str:
        return f"TOKEN-{self.generation:03d}-{self.appid}-k9Zq"

    def rotate(self) -> None:
        """WeChat replaced the token behind our back (another system forced a refresh)."""
        with self.lock:
            self.generation += 1
            self.valid = {self.current()}

    def token_answer(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self.lock:
            self.token_requests.append(body)
            if self.token_errcode is not None:
                return httpx.Response(200, json={"errcode": self.token_errcode, "errmsg": "invalid appsecret"})
            if body["force_refresh"] or (not self.valid and not self.repeat_rejected_token):
                self.generation += 1
                self.valid = {self.current()}
            return httpx.Response(200, json={"access_token": self.current(), "expires_in": LIFETIME_S})

    def api_answer(self, request: httpx.Request) -> httpx.Response:
        self.api_requests.append(request)
        token = parse_qs(request.url.query.decode())["access_token"][0]
        if self.reject_always or token not in self.valid:
            errmsg = f"invalid credential, access_token is invalid or not latest: {token} rid: 6a1b"
            return httpx.Response(200, json={"errcode": 40001, "errmsg": errmsg})
        if request.url.path == "/wxa/sec/order/is_trade_managed":
            return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "is_trade_managed": True})
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            if self.mint_delay_s:
                time.sleep(self.mint_delay_s)
            return self.token_answer(request)
        return self.api_answer(request)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token" and self.mint_delay_s:
            await anyio.sleep(self.mint_delay_s)  # other tasks run meanwhile
            return self.token_answer(request)
        return self(request)

    def sequence(self) -> list[str]:
        return [request.url.path.rsplit("/", 1)[-1] for request in self.api_requests]


@pytest.fixture
def app_credentials(credentials):
    return dataclasses.replace(credentials, app_secrets={"miniprogram": APP_SECRET})


@pytest.fixture
def appid(app_credentials):
    return app_credentials.appids["miniprogram"]


@pytest.fixture
def platform(appid):
    return Platform(appid)


def test_the_token_is_fetched_once_and_reused(app_credentials, appid, platform, make_client):
    client, tokens = make_client(app_credentials, platform), MemoryTokenCache()
    assert call_with_access_token(client, IsTradeManaged(appid), tokens) is True
    assert call_with_access_token(client, IsTradeManaged(appid), tokens) is True

    assert platform.token_requests == [
        {"grant_type": "client_credential", "appid": appid, "secret": APP_SECRET, "force_refresh": False}
    ]
    assert [parse_qs(r.url.query.decode())["access_token"] for r in platform.api_requests] == [
        ["TOKEN-001-" + appid + "-k9Zq"]
    ] * 2
    assert all(r.url.host == "api.weixin.qq.com" for r in platform.api_requests)


def test_refreshed_before_expiry_with_a_margin(app_credentials, appid, platform, make_client, clock):
    client, tokens = make_client(app_credentials, platform), MemoryTokenCache()
    call_with_access_token(client, IsTradeManaged(appid), tokens)
    stored = tokens.load(appid)
    assert stored is not None and stored.expires_at_s == clock.now + LIFETIME_S

    clock.advance(LIFETIME_S - 301)  # still more than the 300 s margin to live
    call_with_access_token(client, IsTradeManaged(appid), tokens)
    assert len(platform.token_requests) == 1

    clock.advance(2)  # inside the margin: fetch the next one before the old one dies
    platform.valid.clear()  # WeChat's normal mode hands out the next token in the last 5 minutes
    call_with_access_token(client, IsTradeManaged(appid), tokens)
    assert len(platform.token_requests) == 2 and tokens.load(appid).value == platform.current()

    call_with_access_token(client, IsTradeManaged(appid), tokens, refresh_margin_s=LIFETIME_S + 1)
    assert len(platform.token_requests) == 3  # a margin longer than the lifetime refreshes every time


def test_concurrent_threads_refresh_once(app_credentials, appid, make_client):
    platform = Platform(appid, mint_delay_s=0.2)
    client, tokens = make_client(app_credentials, platform), MemoryTokenCache()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: call_with_access_token(client, IsTradeManaged(appid), tokens), range(16)))
    assert results == [True] * 16
    assert len(platform.token_requests) == 1 and len(platform.api_requests) == 16


@pytest.mark.anyio
async def test_concurrent_tasks_refresh_once(app_credentials, appid, make_async_client):
    platform = Platform(appid, mint_delay_s=0.2)
    client, tokens = make_async_client(app_credentials, platform.handle_async), MemoryTokenCache()
    async with client:
        calls = [acall_with_access_token(client, IsTradeManaged(appid), tokens) for _ in range(16)]
        results = await asyncio.gather(*calls)
    assert results == [True] * 16
    assert len(platform.token_requests) == 1 and len(platform.api_requests) == 16


def test_a_rejected_token_is_refreshed_and_the_call_retried_once(app_credentials, appid, platform, make_client):
    client, tokens = make_client(app_credentials, platform), MemoryTokenCache()
    call_with_access_token(client, IsTradeManaged(appid), tokens)
    platform.rotate()  # the cached token is now stale at WeChat

    assert call_with_access_token(client, upload(appid), tokens) is None
    assert platform.sequence() == ["is_trade_managed", "upload_shipping_info", "upload_shipping_info"]
    assert len(platform.token_requests) == 2 and tokens.load(appid).value == platform.current()
    sent_tokens = [parse_qs(r.url.query.decode())["access_token"][0] for r in platform.api_requests[1:]]
    assert sent_tokens[0] != sent_tokens[1] == platform.current()


def test_a_second_rejection_is_raised(app_credentials, appid, platform, make_client):
    client, tokens = make_client(app_credentials, platform), MemoryTokenCache()
    platform.reject_always = True
    with pytest.raises(AccessTokenRejected) as caught:
        call_with_access_token(client, upload(appid), tokens)
    assert caught.value.code == "INVALID_CREDENTIAL" and not caught.value.retryable
    assert platform.sequence() == ["upload_shipping_info", "upload_shipping_info"]  # one retry, no more
    assert all(token not in str(caught.value) for token in platform.valid | {platform.current()})


def test_the_same_rejected_token_again_forces_a_refresh(app_credentials, appid, platform, make_client):
    client, tokens = make_client(app_credentials, platform), MemoryTokenCache()
    call_with_access_token(client, IsTradeManaged(appid), tokens)
    platform.valid.clear()
    platform.repeat_rejected_token = True
    assert call_with_access_token(client, IsTradeManaged(appid), tokens) is True
    assert [body["force_refresh"] for body in platform.token_requests] == [False, False, True]


def test_a_failed_refresh_releases_the_claim(app_credentials, appid, platform, make_client):
    client, tokens = make_client(app_credentials, platform), MemoryTokenCache()
    platform.token_errcode = 40125
    with pytest.raises(WeChatRefused) as caught:
        call_with_access_token(client, IsTradeManaged(appid), tokens)
    assert caught.value.code == "INVALID_APPSECRET" and platform.api_requests == []
    platform.token_errcode = None
    started = time.perf_counter()
    assert call_with_access_token(client, IsTradeManaged(appid), tokens) is True
    assert time.perf_counter() - started < 1.0  # no waiting out the dead claim's lease


@pytest.mark.anyio
async def test_async_refresh_and_retry(app_credentials, appid, platform, make_async_client):
    client, tokens = make_async_client(app_credentials, platform), MemoryTokenCache()
    async with client:
        assert await acall_with_access_token(client, IsTradeManaged(appid), tokens) is True
        platform.rotate()
        assert await acall_with_access_token(client, upload(appid), tokens) is None
    assert len(platform.token_requests) == 2
    assert platform.sequence() == ["is_trade_managed", "upload_shipping_info", "upload_shipping_info"]


def test_a_token_of_your_own(app_credentials, appid, platform, make_client):
    client = make_client(app_credentials, platform)
    token = client.call(StableToken(appid))
    assert isinstance(token, AccessToken) and token.value not in repr(token) and token.value not in str(token)
    bound = with_access_token(IsTradeManaged(appid), token)
    assert token.value not in repr(bound)
    assert client.call(bound) is True
    with pytest.raises(AccessTokenRejected):
        client.call(with_access_token(IsTradeManaged(appid), "TOKEN-999"))


def test_no_token_in_logs_errors_or_reprs(app_credentials, appid, platform, make_client, caplog, sleeps):
    caplog.set_level(logging.DEBUG)
    client, tokens = make_client(app_credentials, platform), MemoryTokenCache()
    call_with_access_token(client, IsTradeManaged(appid), tokens)
    platform.rotate()
    call_with_access_token(client, upload(appid), tokens)  # rejected once, with the token echoed in errmsg
    platform.reject_always = True
    errors: list[BaseException] = []
    try:
        call_with_access_token(client, IsTradeManaged(appid), tokens)
    except AccessTokenRejected as exc:
        errors.append(exc)

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    broken = make_client(app_credentials, unreachable)
    try:
        call_with_access_token(broken, IsTradeManaged(appid), tokens)
    except TransportError as exc:
        errors.append(exc)

    secrets = {f"TOKEN-{generation:03d}" for generation in range(1, platform.generation + 1)} | {APP_SECRET}
    texts = [record.getMessage() for record in caplog.records]
    texts += [text for error in errors for text in (str(error), repr(error), error.message)]
    texts += [repr(tokens), repr(upload(appid))]
    assert len(errors) == 2 and any("/wxa/sec/order/is_trade_managed" in text for text in texts)
    leaks = [text for text in texts for secret in secrets if secret in text]
    assert not leaks
    # httpx logs every URL at INFO: its query is masked there too.
    assert any("access_token=<redacted>" in record.getMessage() for record in caplog.records if record.name == "httpx")
    assert "".join(traceback.format_exception(errors[0])).count("TOKEN-") == 0


def upload(appid: str) -> UploadShippingInfo:
    return UploadShippingInfo(
        appid=appid,
        order_key=OrderKey(transaction_id="4200001858202306300646157659"),
        logistics_type=LogisticsType.VIRTUAL,
        shipping_list=(ShippingItem(item_desc="会员月卡"),),
        payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    )
