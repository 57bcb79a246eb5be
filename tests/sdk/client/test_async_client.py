"""The async client runs the same flows: signing, verification, certificates, retries, login."""

from __future__ import annotations

import dataclasses

import anyio
import httpx
import pytest
from client_fakes import V2Refund, V3Get, V3Post

from weipay.sdk.credentials import ClientCertificate
from weipay.sdk.errors import TransportError, UnverifiableResponse, WeChatRefused
from weipay.sdk.miniprogram import Code2Session
from weipay.sdk.retry import RetryPolicy

pytestmark = pytest.mark.anyio

QUERY_PATH = "/v3/pay/transactions/out-trade-no/T1"


async def test_signed_call_and_verified_answer(wechat, credentials, make_async_client):
    wechat.route("POST", "/v3/pay/transactions/jsapi")(lambda request: wechat.signed(200, {"prepay_id": "wx2"}))
    async with make_async_client(credentials, wechat) as client:
        assert await client.call(V3Post({"a": 1}, "/v3/pay/transactions/jsapi")) == {"prepay_id": "wx2"}
    assert wechat.auth_failures == 0
    assert wechat.received[0].headers["Wechatpay-Serial"] == credentials.wechatpay_public_key_id


async def test_tampered_answer_is_unverifiable(wechat, credentials, make_async_client):
    wechat.route("GET", QUERY_PATH)(lambda request: wechat.signed(200, {}, tamper=True))
    async with make_async_client(credentials, wechat) as client:
        with pytest.raises(UnverifiableResponse):
            await client.call(V3Get())


async def test_retries_use_the_policy_sleep(wechat, credentials, make_async_client, sleeps):
    plays = [httpx.ReadTimeout("t"), httpx.ReadTimeout("t")]

    def handler(request):
        if plays:
            raise plays.pop()
        return wechat.signed(200, {"ok": 1})

    wechat.route("GET", QUERY_PATH)(handler)
    async with make_async_client(credentials, wechat) as client:
        assert await client.call(V3Get()) == {"ok": 1}
    assert len(wechat.received) == 3 and len(sleeps) == 2


async def test_awaitable_sleep_and_final_refusal(wechat, credentials, make_async_client):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    wechat.route("POST", "/v3/refund/domestic/refunds")(
        lambda request: httpx.Response(500, json={"code": "SYSTEM_ERROR", "message": "busy"})
    )
    client = make_async_client(credentials, wechat, retry=RetryPolicy(sleep=sleep))
    async with client:
        with pytest.raises(WeChatRefused):
            await client.call(V3Post({"out_refund_no": "R1"}, "/v3/refund/domestic/refunds"))
    assert len(slept) == 2 and len(wechat.received) == 3
    assert len({request.content for request in wechat.received}) == 1


async def test_timeout_on_a_post_is_a_transport_error(wechat, credentials, make_async_client):
    def handler(request):
        raise httpx.WriteTimeout("timed out")

    wechat.route("POST", "/v3/pay/transactions/native")(handler)
    async with make_async_client(credentials, wechat) as client:
        with pytest.raises(TransportError):
            await client.call(V3Post({"a": 1}))
    assert len(wechat.received) == 1


async def test_concurrent_storm_of_unknown_serials_downloads_once(cert_wechat, cert_credentials, make_async_client):
    counter = iter(range(1, 100_000))

    async def handler(request):
        await anyio.sleep(0)  # let the other tasks run while the download is in flight
        if request.url.path == QUERY_PATH:
            return cert_wechat.signed(200, {}, serial=f"{next(counter):040X}")
        return cert_wechat(request)

    cert_wechat.route("GET", QUERY_PATH)(lambda request: pytest.fail("routed through handler"))
    outcomes = []

    async def one(client):
        try:
            await client.call(V3Get())
            outcomes.append("ok")
        except UnverifiableResponse:
            outcomes.append("unverifiable")

    async with make_async_client(cert_credentials, handler) as client, anyio.create_task_group() as group:
        for _ in range(300):
            group.start_soon(one, client)

    assert outcomes == ["unverifiable"] * 300
    assert cert_wechat.certificate_downloads == 1


async def test_concurrent_first_calls_share_one_download(cert_wechat, cert_credentials, make_async_client):
    async def handler(request):
        await anyio.sleep(0.001)
        return cert_wechat(request)

    cert_wechat.route("GET", QUERY_PATH)(lambda request: cert_wechat.signed(200, {"n": 1}))
    results = []
    async with make_async_client(cert_credentials, handler) as client, anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(lambda: _append(results, client.call(V3Get())))
    assert results == [{"n": 1}] * 50
    assert cert_wechat.certificate_downloads == 1


async def _append(results, awaitable):
    results.append(await awaitable)


async def test_login_and_mtls(credentials, make_async_client, tmp_path):
    (tmp_path / "c.pem").write_text("x")
    merchant = dataclasses.replace(
        credentials,
        app_secrets={"miniprogram": "s3cr3t"},
        client_certificate=ClientCertificate(tmp_path / "c.pem", tmp_path / "c.pem"),
    )
    hosts = []

    def handler(request):
        hosts.append(str(request.url).split("?")[0])
        if request.url.path == "/sns/jscode2session":
            return httpx.Response(200, json={"openid": "o9", "session_key": "k"})
        return httpx.Response(200, content=b"<xml/>")

    async with make_async_client(merchant, handler, secure_base_url="https://secure.example") as client:
        assert (await client.call(Code2Session(credentials.appids["miniprogram"], "c"))).openid == "o9"
        assert await client.call(V2Refund()) == b"<xml/>"
    assert hosts == ["https://api.weixin.qq.com/sns/jscode2session", "https://secure.example/secapi/pay/refund"]


async def test_cancelled_download_releases_the_gate(cert_wechat, cert_credentials, make_async_client):
    """A task cancelled while it downloads certificates must not leave the download 'in flight'."""
    started = anyio.Event()

    async def slow_certificates(request):
        if request.url.path == "/v3/certificates":
            started.set()
            await anyio.sleep(10)
        return cert_wechat(request)

    cert_wechat.route("GET", QUERY_PATH)(lambda request: cert_wechat.signed(200, {}))
    async with make_async_client(cert_credentials, slow_certificates) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(client.call, V3Get())
            await started.wait()
            assert client.certificate_gate.in_flight
            group.cancel_scope.cancel()
        assert not client.certificate_gate.in_flight
