"""The v3 protocol operations run on the clients unchanged, and the sync client is thread-safe."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from client_fakes import V3Get
from sdk_samples import transaction

from weipay.sdk import v3
from weipay.sdk.errors import UnverifiableResponse, WeChatRefused

TRANSACTION = transaction(out_trade_no="1217752501201407033233368018", success_time="2020-01-04T18:30:59+08:00")
QUERY_PATH = "/v3/pay/transactions/out-trade-no/1217752501201407033233368018"


def test_query_order_operation_end_to_end(wechat, credentials, make_client):
    wechat.route("GET", QUERY_PATH)(lambda request: wechat.signed(200, TRANSACTION))
    transaction = make_client(credentials, wechat).call(v3.QueryOrder(out_trade_no=TRANSACTION["out_trade_no"]))
    assert transaction.trade_state == "SUCCESS" and transaction.amount.total_fen == 100
    assert wechat.received[0].url.query == b"mchid=1230000109" and wechat.auth_failures == 0


def test_query_order_refusal_carries_request_id(wechat, credentials, make_client):
    wechat.route("GET", QUERY_PATH)(
        lambda request: httpx.Response(
            404, json={"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, headers={"Request-ID": "R-9"}
        )
    )
    with pytest.raises(WeChatRefused) as caught:
        make_client(credentials, wechat).call(v3.QueryOrder(out_trade_no=TRANSACTION["out_trade_no"]))
    assert (caught.value.code, caught.value.request_id) == ("ORDER_NOT_EXIST", "R-9")


def test_query_order_with_forged_answer_is_unverifiable(wechat, credentials, make_client, merchant_keys):
    wechat.route("GET", QUERY_PATH)(lambda request: wechat.signed(200, TRANSACTION, key=merchant_keys.private_key))
    with pytest.raises(UnverifiableResponse):
        make_client(credentials, wechat).call(v3.QueryOrder(out_trade_no=TRANSACTION["out_trade_no"]))


def test_threads_share_one_certificate_download(cert_wechat, cert_credentials, make_client):
    def slow(request):
        if request.url.path == "/v3/certificates":
            time.sleep(0.05)
        return cert_wechat(request)

    cert_wechat.route("GET", "/v3/pay/transactions/out-trade-no/T1")(lambda request: cert_wechat.signed(200, {"n": 1}))
    client = make_client(cert_credentials, slow)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: client.call(V3Get()), range(64)))
    assert results == [{"n": 1}] * 64
    assert cert_wechat.certificate_downloads == 1
