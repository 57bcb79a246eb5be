"""Retries: which failures are retried, with which delays, and always with the identical request."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from client_fakes import V3Get, V3Post

from weipay.sdk.client import Client
from weipay.sdk.errors import TransportError, WeChatRefused
from weipay.sdk.retry import RetryPolicy

QUERY_PATH = "/v3/pay/transactions/out-trade-no/T1"
PREPAY_PATH = "/v3/pay/transactions/native"


def failing_then(wechat, method, path, failures, success):
    """A route that plays each of ``failures`` once (exception or response factory), then ``success``."""
    plays = list(failures)

    def handler(request):
        if plays:
            play = plays.pop(0)
            if isinstance(play, Exception):
                raise play
            return play()
        return success()

    wechat.route(method, path)(handler)


def test_idempotent_query_is_retried_after_timeouts(wechat, credentials, make_client, sleeps):
    failing_then(
        wechat,
        "GET",
        QUERY_PATH,
        [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("reset")],
        lambda: wechat.signed(200, {"trade_state": "SUCCESS"}),
    )
    assert make_client(credentials, wechat).call(V3Get()) == {"trade_state": "SUCCESS"}
    assert len(wechat.received) == 3
    assert sleeps == [pytest.approx(0.5, rel=1e-3), pytest.approx(1.0, rel=1e-3)]


def test_non_idempotent_post_is_not_retried_after_a_read_timeout(wechat, credentials, make_client, sleeps):
    failing_then(wechat, "POST", PREPAY_PATH, [httpx.ReadTimeout("timed out")], lambda: wechat.signed(200, {}))
    with pytest.raises(TransportError) as caught:
        make_client(credentials, wechat).call(V3Post({"out_trade_no": "T1"}))
    assert len(wechat.received) == 1 and sleeps == []
    assert "ReadTimeout" in str(caught.value) and caught.value.retryable


def test_connect_failure_is_retried_even_when_not_idempotent(wechat, credentials, make_client):
    failing_then(wechat, "POST", PREPAY_PATH, [httpx.ConnectError("refused")], lambda: wechat.signed(200, {"ok": 1}))
    assert make_client(credentials, wechat).call(V3Post({"out_trade_no": "T1"})) == {"ok": 1}
    assert len(wechat.received) == 2


def test_retryable_refusal_is_retried_with_the_identical_body(wechat, credentials, make_client, sleeps):
    error = lambda: httpx.Response(500, json={"code": "SYSTEM_ERROR", "message": "系统繁忙"})  # noqa: E731
    failing_then(wechat, "POST", PREPAY_PATH, [error, error], lambda: wechat.signed(200, {"prepay_id": "wx1"}))

    assert make_client(credentials, wechat).call(V3Post({"out_trade_no": "T1", "amount": {"total": 1}})) == {
        "prepay_id": "wx1"
    }
    bodies = {request.content for request in wechat.received}
    assert len(wechat.received) == 3 and len(bodies) == 1
    assert len({request.headers["Authorization"] for request in wechat.received}) == 3  # fresh nonce per attempt
    assert wechat.auth_failures == 0 and len(sleeps) == 2


def test_retryable_refusal_gives_up_after_max_attempts(wechat, credentials, make_client):
    wechat.route("POST", PREPAY_PATH)(
        lambda request: httpx.Response(429, json={"code": "FREQUENCY_LIMITED", "message": "slow down"})
    )
    with pytest.raises(WeChatRefused) as caught:
        make_client(credentials, wechat).call(V3Post({"out_trade_no": "T1"}))
    assert caught.value.code == "FREQUENCY_LIMITED" and len(wechat.received) == 3


@pytest.mark.parametrize("code", ["PARAM_ERROR", "ORDER_CLOSED", "SIGN_ERROR", "OUT_TRADE_NO_USED"])
def test_final_refusal_gets_exactly_one_attempt(wechat, credentials, make_client, sleeps, code):
    wechat.route("GET", QUERY_PATH)(lambda request: httpx.Response(400, json={"code": code, "message": "no"}))
    with pytest.raises(WeChatRefused) as caught:
        make_client(credentials, wechat).call(V3Get())
    assert caught.value.code == code and len(wechat.received) == 1 and sleeps == []


def test_retry_after_is_honoured_up_to_sixty_seconds(wechat, credentials, make_client, sleeps):
    limited = lambda: httpx.Response(  # noqa: E731
        429, json={"code": "FREQUENCY_LIMITED", "message": "slow"}, headers={"Retry-After": "7"}
    )
    failing_then(wechat, "GET", QUERY_PATH, [limited], lambda: wechat.signed(200, {}))
    make_client(credentials, wechat).call(V3Get())
    assert sleeps == [7.0]


def test_retry_after_beyond_sixty_seconds_ends_the_retries(wechat, credentials, make_client, sleeps):
    wechat.route("GET", QUERY_PATH)(
        lambda request: httpx.Response(
            503, json={"code": "SERVICE_UNAVAILABLE", "message": "busy"}, headers={"Retry-After": "120"}
        )
    )
    with pytest.raises(WeChatRefused):
        make_client(credentials, wechat).call(V3Get())
    assert len(wechat.received) == 1 and sleeps == []


def test_backoff_is_jittered_within_half_to_full_and_capped():
    draws = iter([0.0, 0.5, 0.999999] * 10)
    policy = RetryPolicy(max_attempts=10, initial_delay_s=0.5, max_delay_s=5.0, random=lambda: next(draws))
    delays = [policy.backoff_s(attempt) for attempt in range(1, 9)]
    ceilings = [min(5.0, 0.5 * 2 ** (attempt - 1)) for attempt in range(1, 9)]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 5.0
    assert policy.delay_s(10) is None


def test_single_attempt_policy(wechat, credentials, make_client):
    wechat.route("GET", QUERY_PATH)(lambda request: httpx.Response(500, json={"code": "SYSTEM_ERROR"}))
    with pytest.raises(WeChatRefused):
        make_client(credentials, wechat, retry=RetryPolicy(max_attempts=1)).call(V3Get())
    assert len(wechat.received) == 1


def test_hung_server_times_out_as_transport_error(credentials):
    """A real socket that accepts and never answers: the call ends near the read timeout."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        client = Client(
            credentials,
            base_url=f"http://127.0.0.1:{port}",
            timeout_s=httpx.Timeout(0.2, connect=0.2),
            retry=RetryPolicy(max_attempts=1),
        )
        started = time.perf_counter()
        with client, pytest.raises(TransportError, match="ReadTimeout"):
            client.call(V3Post({"out_trade_no": "T1"}))
        assert time.perf_counter() - started < 0.2 * 1.5 + 0.2
