"""``v3.RawRequest`` / ``client.v3_request``: an unmodelled v3 call is signed, sent and verified like any other."""

from __future__ import annotations

import json

import httpx
import pytest

from weipay.sdk import v3
from weipay.sdk.errors import (
    ConfigurationError,
    ProtocolError,
    TransportError,
    UnverifiableResponse,
    WeChatRefused,
)

PATH = "/v3/profitsharing/orders/P20150806125346"


def test_get_with_query_is_signed_as_sent_and_its_answer_verified(wechat, credentials, make_client):
    seen: list[httpx.Request] = []

    @wechat.route("GET", PATH)
    def query(request):
        seen.append(request)
        return wechat.signed(200, {"order_id": "3008450740201411110007820472", "state": "FINISHED"})

    client = make_client(credentials, wechat)
    answer = client.v3_request("GET", PATH, query={"transaction_id": "4208450740201411110007820472", "n": 2})

    assert answer.status == 200 and answer.data == {"order_id": "3008450740201411110007820472", "state": "FINISHED"}
    assert answer.request_id is not None and answer.request_id.startswith("08F1")
    assert answer.headers["content-type"].startswith("application/json")
    assert wechat.auth_failures == 0
    assert seen[0].url.raw_path.decode() == PATH + "?transaction_id=4208450740201411110007820472&n=2"
    assert seen[0].content == b"" and "Content-Type" not in seen[0].headers


def test_post_body_is_serialised_like_every_v3_body(wechat, credentials, make_client):
    seen: list[httpx.Request] = []

    @wechat.route("POST", "/v3/profitsharing/orders")
    def create(request):
        seen.append(request)
        return wechat.signed(200, {"state": "PROCESSING"})

    client = make_client(credentials, wechat)
    body = {"appid": "wx8888888888888888", "description": "分给商户", "unfreeze_unsplit": True, "absent": None}
    answer = client.call(v3.RawRequest("POST", "/v3/profitsharing/orders", body=body))

    assert answer.data == {"state": "PROCESSING"} and wechat.auth_failures == 0
    assert seen[0].content == '{"appid":"wx8888888888888888","description":"分给商户","unfreeze_unsplit":true}'.encode()
    assert seen[0].headers["Content-Type"] == "application/json"


def test_no_content_answer_has_no_data(wechat, credentials, make_client):
    wechat.route("POST", "/v3/pay/transactions/out-trade-no/T-0001/close")(lambda request: wechat.signed(204))
    client = make_client(credentials, wechat)

    answer = client.v3_request("POST", "/v3/pay/transactions/out-trade-no/T-0001/close",
                               body={"mchid": credentials.mchid})

    assert answer.status == 204 and answer.data is None


def test_an_answer_that_does_not_verify_is_outcome_unknown(wechat, credentials, make_client):
    wechat.route("GET", PATH)(lambda request: wechat.signed(200, {"state": "FINISHED"}, tamper=True))
    client = make_client(credentials, wechat)

    with pytest.raises(UnverifiableResponse):
        client.v3_request("GET", PATH)


def test_a_refusal_carries_wechats_code_and_detail(wechat, credentials, make_client):
    refusal = {"code": "PARAM_ERROR", "message": "参数错误", "detail": {"field": "transaction_id"}}
    wechat.route("GET", PATH)(lambda request: wechat.signed(400, refusal))
    client = make_client(credentials, wechat)

    with pytest.raises(WeChatRefused) as caught:
        client.v3_request("GET", PATH)

    assert caught.value.code == "PARAM_ERROR" and caught.value.status == 400
    assert caught.value.detail == {"field": "transaction_id"} and caught.value.request_id is not None


def test_a_2xx_answer_that_is_not_json_is_a_protocol_error(wechat, credentials, make_client):
    wechat.route("GET", PATH)(lambda request: wechat.signed(200, b"<html>"))
    client = make_client(credentials, wechat)

    with pytest.raises(ProtocolError) as caught:
        client.v3_request("GET", PATH)
    assert caught.value.request_id is not None


@pytest.mark.parametrize("idempotent, attempts", [(None, 1), (True, 2)])
def test_a_post_is_retried_after_a_timeout_only_when_declared_idempotent(
    wechat, credentials, make_client, idempotent, attempts
):
    calls: list[int] = []

    @wechat.route("POST", "/v3/profitsharing/orders")
    def flaky(request):
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ReadTimeout("lost", request=request)
        return wechat.signed(200, {"state": "PROCESSING"})

    client = make_client(credentials, wechat)
    operation = v3.RawRequest("POST", "/v3/profitsharing/orders", body={"a": "b"}, idempotent=idempotent)
    if attempts == 1:
        with pytest.raises(TransportError):
            client.call(operation)
    else:
        assert client.call(operation).data == {"state": "PROCESSING"}
    assert len(calls) == attempts


@pytest.mark.parametrize(
    "method, path, query, body",
    [
        ("GET", "/v2/pay/orderquery", None, None),  # not v3
        ("GET", PATH + "?x=1", None, None),  # query inside the path
        ("GET", "/v3/profitsharing/orders/有中文", None, None),  # would be re-encoded after signing
        ("GET", "/v3/profitsharing/orders/a b", None, None),
        ("GET", PATH, None, {"a": 1}),  # GET has no body
        ("TRACE", PATH, None, None),
        ("POST", PATH, None, {"emoji": "🙂"}),  # 4-byte UTF-8 is refused by v3
    ],
)
def test_requests_that_would_not_be_signed_as_sent_are_refused_before_sending(
    wechat, credentials, make_client, method, path, query, body
):
    client = make_client(credentials, wechat)

    with pytest.raises(ConfigurationError):
        client.call(v3.RawRequest(method, path, query, body))
    assert wechat.received == []


@pytest.mark.anyio
async def test_async_client_runs_the_same_request(wechat, credentials, make_async_client):
    wechat.route("GET", PATH)(lambda request: wechat.signed(200, {"state": "FINISHED"}))
    async with make_async_client(credentials, wechat) as client:
        answer = await client.v3_request("GET", PATH, query={"transaction_id": "42"})

    assert answer.data == {"state": "FINISHED"} and wechat.auth_failures == 0
    assert wechat.received[-1].url.query == b"transaction_id=42"
    assert json.loads(wechat.received[-1].content or b"null") is None
