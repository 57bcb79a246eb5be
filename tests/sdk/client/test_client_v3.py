"""v3 calls through the blocking client: signing on the way out, verification on the way back."""

from __future__ import annotations

import json

import httpx
import pytest
from client_fakes import Absolute, V3Get, V3Post

from weipay.sdk.crypto import rsa_verify
from weipay.sdk.errors import SignatureError, SignTestProbe, UnverifiableResponse, WeChatRefused
from weipay.sdk.v3.signing import parse_authorization, request_message


def test_request_carries_a_valid_authorization_over_the_exact_bytes(wechat, credentials, merchant_keys, make_client):
    seen: list[httpx.Request] = []

    @wechat.route("POST", "/v3/pay/transactions/native")
    def prepay(request):
        seen.append(request)
        return wechat.signed(200, {"code_url": "weixin://wxpay/bizpayurl?pr=abc"})

    client = make_client(credentials, wechat)
    result = client.call(V3Post({"description": "图书", "out_trade_no": "T1", "amount": {"total": 100}}))

    assert result == {"code_url": "weixin://wxpay/bizpayurl?pr=abc"}
    request = seen[0]
    params = parse_authorization(request.headers["Authorization"])
    message = request_message(
        "POST", "/v3/pay/transactions/native", params.timestamp, params.nonce_str, request.content
    )
    assert rsa_verify(merchant_keys.private_key.public_key(), message, params.signature)
    assert params.mchid == credentials.mchid and params.serial_no == merchant_keys.serial
    assert json.loads(request.content)["description"] == "图书"
    assert request.headers["Wechatpay-Serial"] == credentials.wechatpay_public_key_id
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("weipay/")
    assert request.url.host == "api.mch.weixin.qq.com"


def test_query_string_is_signed_as_sent(wechat, credentials, make_client):
    wechat.route("GET", "/v3/pay/transactions/out-trade-no/T/1")(lambda request: wechat.signed(200, {"ok": 1}))
    client = make_client(credentials, wechat)

    assert client.call(V3Get("/v3/pay/transactions/out-trade-no/T%2F1?mchid=1230000109&x=a%20b")) == {"ok": 1}
    assert wechat.auth_failures == 0


def test_absolute_url_wins_and_is_signed_with_its_own_path(wechat, credentials, make_client):
    wechat.route("GET", "/v3/billdownload/file")(lambda request: httpx.Response(200, content=b"bill,csv"))
    client = make_client(credentials, wechat)

    body = client.call(Absolute("https://api.mch.weixin.qq.com/v3/billdownload/file?token=abc"))

    assert body == b"bill,csv"
    assert wechat.received[-1].url.path == "/v3/billdownload/file"
    assert wechat.auth_failures == 0


def test_empty_204_answer_is_verified(wechat, credentials, make_client):
    wechat.route("POST", "/v3/pay/transactions/out-trade-no/T1/close")(lambda request: wechat.signed(204))
    client = make_client(credentials, wechat)

    assert client.call(V3Post({"mchid": credentials.mchid}, "/v3/pay/transactions/out-trade-no/T1/close")) == {}


@pytest.mark.parametrize(
    ("how", "cause"),
    [
        ({"tamper": True}, SignatureError),
        ({"drop": "Wechatpay-Signature"}, SignatureError),
        ({"drop": "Wechatpay-Timestamp"}, SignatureError),
        ({"signature": "WECHATPAY/SIGNTEST/abcdefg"}, SignTestProbe),
        ({"timestamp_offset": -300}, SignatureError),
        ({"timestamp_offset": 400}, SignatureError),
        ({"serial": "NOT-A-SERIAL"}, SignatureError),
        ({"extra": {"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}}, SignatureError),
    ],
)
def test_unverifiable_2xx_is_outcome_unknown(wechat, credentials, make_client, how, cause):
    options = dict(how)
    if "timestamp_offset" in options:
        options["timestamp"] = int(wechat.clock()) + options.pop("timestamp_offset")
    wechat.route("GET", "/v3/pay/transactions/out-trade-no/T1")(
        lambda request: wechat.signed(200, {"trade_state": "SUCCESS"}, **options)
    )
    client = make_client(credentials, wechat)

    with pytest.raises(UnverifiableResponse) as caught:
        client.call(V3Get())

    assert isinstance(caught.value.__cause__, cause)
    assert caught.value.request_id is not None or "Request-ID" in str(options)
    assert len(wechat.received) == 1  # an unverifiable answer is never retried


def test_answer_signed_by_another_key_is_refused(wechat, credentials, merchant_keys, make_client):
    wechat.route("GET", "/v3/pay/transactions/out-trade-no/T1")(
        lambda request: wechat.signed(200, {"trade_state": "SUCCESS"}, key=merchant_keys.private_key)
    )
    with pytest.raises(UnverifiableResponse):
        make_client(credentials, wechat).call(V3Get())


def test_unsigned_answer_is_accepted_only_when_the_operation_says_so(wechat, credentials, make_client):
    wechat.route("GET", "/v3/pay/transactions/out-trade-no/T1")(lambda request: httpx.Response(200, json={"a": 1}))
    client = make_client(credentials, wechat)

    with pytest.raises(UnverifiableResponse):
        client.call(V3Get())
    assert client.call(V3Get(verify_response=False)) == {"a": 1}


def test_error_answers_are_not_verified_and_reach_parse(wechat, credentials, make_client):
    wechat.route("GET", "/v3/pay/transactions/out-trade-no/T1")(
        lambda request: httpx.Response(
            404, json={"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, headers={"Request-ID": "RID-404"}
        )
    )
    with pytest.raises(WeChatRefused) as caught:
        make_client(credentials, wechat).call(V3Get())

    assert (caught.value.code, caught.value.status, caught.value.request_id) == ("ORDER_NOT_EXIST", 404, "RID-404")
    assert not caught.value.retryable


def test_merchant_without_private_key_gets_a_configuration_error(wechat, credentials, make_client):
    import dataclasses

    from weipay.sdk.errors import ConfigurationError

    unsigned = dataclasses.replace(credentials, private_key=None)
    with pytest.raises(ConfigurationError, match="private key"):
        make_client(unsigned, wechat).call(V3Get())
    assert wechat.received == []
