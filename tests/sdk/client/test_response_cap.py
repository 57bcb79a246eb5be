"""Answers are read with a cap: an endless or bomb-sized body ends the call, it never fills memory."""

from __future__ import annotations

import gzip

import httpx
import pytest
from client_fakes import V3Get, V3Post

from weipay.sdk.errors import OutcomeUnknown, TransportError

pytestmark = pytest.mark.anyio

QUERY_PATH = "/v3/pay/transactions/out-trade-no/T1"
PREPAY_PATH = "/v3/pay/transactions/native"
CAP = 4096


def _endless() -> httpx.Response:
    def chunks():
        while True:  # a server that never stops talking
            yield b"x" * 1024

    return httpx.Response(200, content=chunks(), headers={"Content-Type": "application/json"})


def _gzip_bomb() -> httpx.Response:
    small = gzip.compress(b"{" + b" " * (10 * CAP) + b"}")  # a few hundred bytes that inflate past the cap
    return httpx.Response(200, content=small, headers={"Content-Type": "application/json",
                                                        "Content-Encoding": "gzip"})  # fmt: skip


@pytest.mark.parametrize("answer", [_endless, _gzip_bomb])
def test_an_answer_over_the_cap_is_an_unknown_outcome_and_a_create_is_not_sent_again(
    wechat, credentials, make_client, answer
):
    wechat.route("POST", PREPAY_PATH)(lambda request: answer())
    client = make_client(credentials, wechat, max_response_bytes=CAP)
    with pytest.raises(TransportError, match="ResponseTooLarge") as caught:
        client.call(V3Post({"out_trade_no": "T1"}))
    assert isinstance(caught.value, OutcomeUnknown)  # WeChat may have created the order: query it
    assert len(wechat.received) == 1


def test_answers_within_the_cap_are_read_whole(wechat, credentials, make_client):
    wechat.route("GET", QUERY_PATH)(lambda request: wechat.signed(200, {"trade_state": "SUCCESS", "pad": "y" * 3000}))
    assert make_client(credentials, wechat, max_response_bytes=CAP).call(V3Get())["pad"] == "y" * 3000


async def test_the_async_client_reads_with_the_same_cap(wechat, credentials, make_async_client):
    def endless_async() -> httpx.Response:
        async def chunks():
            while True:
                yield b"x" * 1024

        return httpx.Response(200, content=chunks())

    wechat.route("GET", QUERY_PATH)(lambda request: endless_async())
    client = make_async_client(credentials, wechat, max_response_bytes=CAP)
    try:
        with pytest.raises(TransportError, match="ResponseTooLarge"):
            await client.call(V3Get())
    finally:
        await client.aclose()
