"""One HTTP exchange ends by its deadline, whatever the upstream does on a real socket (P8, T13/T14).

httpx's timeouts bound each socket operation alone: an upstream that drips a byte every 50 ms never trips a
0.5 s read timeout. These tests run real sockets on 127.0.0.1 because the deadline lives in the network layer.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from weipay.sdk.async_client import AsyncClient
from weipay.sdk.client import Client
from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.errors import OutcomeUnknown, WeChatRefused
from weipay.sdk.retry import RetryPolicy
from weipay.sdk.v3.orders import CreateOrder, QueryOrder

TIMEOUT_S = 0.5
DRIP_EVERY_S = 0.05
ANSWER = b'{"code":"SYSTEM_ERROR","message":"busy"}'


@contextmanager
def upstream(mode: str, accepted: list[int] | None = None) -> Iterator[str]:
    """A local upstream: ``hang`` never answers, ``drip_headers``/``drip_body`` send a byte every 50 ms,
    ``slow`` answers whole after 60 % of the timeout."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    stop = threading.Event()

    def serve(connection: socket.socket) -> None:
        with connection:
            try:
                request = connection.recv(65536)
                if mode == "slow":  # keep-alive: answer each request on this connection
                    while request and not stop.wait(TIMEOUT_S * 0.6):
                        head = b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                        connection.sendall(head + b"Content-Length: %d\r\n\r\n" % len(ANSWER) + ANSWER)
                        request = connection.recv(65536)
                    return
                if mode == "drip_body":
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                byte = b"X-Slow: " if mode == "drip_headers" else b" "
                # Give up after 10 timeouts so that a missing deadline fails the test instead of hanging it.
                gives_up_at = time.monotonic() + TIMEOUT_S * 10
                while not stop.wait(DRIP_EVERY_S) and time.monotonic() < gives_up_at:
                    if mode != "hang":
                        connection.sendall(byte[:1])
                        byte = byte[1:] or b"a"
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            if accepted is not None:
                accepted.append(1)
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        server.close()


def _options(base_url: str) -> dict[str, object]:
    return {"base_url": base_url, "timeout_s": TIMEOUT_S, "retry": RetryPolicy(max_attempts=1)}


@pytest.mark.parametrize("mode", ["hang", "drip_headers", "drip_body"])
def test_a_blocking_call_ends_by_its_deadline(credentials: MerchantCredentials, mode: str) -> None:
    with upstream(mode) as base_url, Client(credentials, **_options(base_url)) as client:  # type: ignore[arg-type]
        started = time.perf_counter()
        with pytest.raises(OutcomeUnknown):
            client.call(QueryOrder(out_trade_no="DEADLINE1"))
        assert time.perf_counter() - started <= TIMEOUT_S * 1.1


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["hang", "drip_headers", "drip_body"])
async def test_an_async_call_ends_by_its_deadline(credentials: MerchantCredentials, mode: str) -> None:
    with upstream(mode) as base_url:
        async with AsyncClient(credentials, **_options(base_url)) as client:  # type: ignore[arg-type]
            started = time.perf_counter()
            with pytest.raises(OutcomeUnknown):
                await client.call(QueryOrder(out_trade_no="DEADLINE2"))
            assert time.perf_counter() - started <= TIMEOUT_S * 1.1


def test_a_create_cut_by_its_deadline_is_unknown_and_not_sent_again(credentials: MerchantCredentials) -> None:
    """A create whose answer never completed may have reached WeChat: unknown, never refused, one send."""
    with (
        upstream("drip_body") as base_url,
        Client(
            credentials, base_url=base_url, timeout_s=TIMEOUT_S, retry=RetryPolicy(max_attempts=3, sleep=lambda _: None)
        ) as client,
    ):
        started = time.perf_counter()
        with pytest.raises(OutcomeUnknown):
            client.call(
                CreateOrder(
                    channel="native",
                    appid="wxd678efh567hg6787",
                    description="deadline",
                    out_trade_no="DEADLINE3",
                    notify_url="https://shop.example/notify",
                    amount_fen=1,
                )
            )
        assert time.perf_counter() - started <= TIMEOUT_S * 1.1


def test_an_answer_inside_the_deadline_is_read_and_the_connection_reused(credentials: MerchantCredentials) -> None:
    """The deadline is per exchange, not per connection: two slow-but-timely answers on one pooled socket."""
    accepted: list[int] = []
    with upstream("slow", accepted) as base_url, Client(credentials, **_options(base_url)) as client:  # type: ignore[arg-type]
        for _ in range(3):
            with pytest.raises(WeChatRefused):  # WeChat's SYSTEM_ERROR answer was read whole
                client.call(QueryOrder(out_trade_no="DEADLINE4"))
    assert len(accepted) == 1


def test_the_default_deadline_is_the_longest_timeout(credentials: MerchantCredentials) -> None:
    with Client(credentials, timeout_s=httpx.Timeout(10.0, connect=3.0)) as client:
        assert client.deadline_s == 10.0
    with Client(credentials, timeout_s=2.0, deadline_s=1.5) as client:
        assert client.deadline_s == 1.5
