"""A call that got no answer says which host and the likely cause; a v2 refund sent to the wrong host says so.

Real sockets on loopback, no mocks: the simulator's HTTPS port (a CA the system does not trust), a port with
nothing listening, a listener that never answers, a name that cannot resolve, and the simulator's plain HTTP
port standing in for a ``secure_base_url`` left at its default.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from weipay.sdk import Client, MerchantCredentials, TransportError, WeChatRefused
from weipay.sdk.retry import RetryPolicy
from weipay.sdk.v2.refunds import Refund
from weipay.sdk.v3.orders import QueryOrder
from weipay.simulator import init_bundle
from weipay.simulator.core import Simulator
from weipay.simulator.server import RunningSimulator, start_in_thread

ONCE = RetryPolicy(max_attempts=1)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bundle")
    init_bundle(directory, verification="public_key", port=0, https_port=0)
    return directory


@pytest.fixture(scope="module")
def server(bundle: Path) -> Iterator[RunningSimulator]:
    sim = Simulator(bundle)
    running = start_in_thread(sim)
    yield running
    running.stop()
    sim.close()


@pytest.fixture(scope="module")
def credentials(bundle: Path) -> MerchantCredentials:
    return MerchantCredentials.from_bundle(bundle / "merchant")


def failure(credentials: MerchantCredentials, base_url: str, **options: object) -> str:
    client = Client(credentials, base_url=base_url, retry=ONCE, **options)  # type: ignore[arg-type]
    with client, pytest.raises(TransportError) as caught:
        client.call(QueryOrder(out_trade_no="DIAG0001"))
    message = str(caught.value)
    assert credentials.api_v3_key not in message and "Authorization" not in message
    return message


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_untrusted_certificate_is_named_as_tls_verification(
    credentials: MerchantCredentials, server: RunningSimulator
) -> None:
    assert server.https_base_url is not None
    port = httpx.URL(server.https_base_url).port
    message = failure(credentials, server.https_base_url)
    query = f"GET /v3/pay/transactions/out-trade-no/DIAG0001?mchid={credentials.mchid}"
    assert message.startswith(f"{query} to 127.0.0.1:{port} failed (ConnectError)")
    assert "TLS verification failed (self-signed certificate in certificate chain)" in message
    assert "verify_tls=<bundle>/merchant/simulator_ca.pem" in message


def test_a_refused_connection_names_host_and_port(credentials: MerchantCredentials) -> None:
    port = free_port()
    message = failure(credentials, f"http://127.0.0.1:{port}")
    assert f"to 127.0.0.1:{port} failed (ConnectError): connection refused: nothing listens on 127.0.0.1:{port}. " \
           "Check the base URL and that the server runs." in message  # fmt: skip


def test_a_name_that_does_not_resolve(credentials: MerchantCredentials) -> None:
    message = failure(credentials, "https://api.mch.weixin.invalid")
    assert "to api.mch.weixin.invalid:443 failed (ConnectError): the host name api.mch.weixin.invalid does not " \
           "resolve" in message  # fmt: skip


def test_a_read_timeout_says_how_long_and_to_query_before_retrying(credentials: MerchantCredentials) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        message = failure(credentials, f"http://127.0.0.1:{port}", timeout_s=0.3)
    assert f"to 127.0.0.1:{port} failed (ReadTimeout): no answer within 0.3 s (read timeout)" in message
    assert "query with the same identifiers before retrying" in message


def test_a_v2_refund_left_on_the_plain_host_hints_at_secure_base_url(
    credentials: MerchantCredentials, server: RunningSimulator
) -> None:
    refund = Refund(appid=credentials.appid("miniprogram"), out_refund_no="DIAGR001", total_fee_fen=100,
                    refund_fee_fen=100, out_trade_no="DIAG0001")  # fmt: skip
    with Client(credentials, base_url=server.base_url, retry=ONCE) as client, pytest.raises(WeChatRefused) as caught:
        client.call(refund)
    refused = caught.value
    assert refused.status == 403 and refused.code == "HTTP_ERROR"
    assert f"WeChat answered HTTP 403 from {server.base_url} (secure_base_url defaults to base_url)" in str(refused)
    assert "Set secure_base_url to that host (the simulator's https_base_url" in refused.message


def test_the_async_client_says_the_same(credentials: MerchantCredentials) -> None:
    import asyncio

    from weipay.sdk import AsyncClient

    port = free_port()

    async def call() -> str:
        async with AsyncClient(credentials, base_url=f"http://127.0.0.1:{port}", retry=ONCE) as client:
            with pytest.raises(TransportError) as caught:
                await client.call(QueryOrder(out_trade_no="DIAG0001"))
        return str(caught.value)

    assert f"to 127.0.0.1:{port} failed (ConnectError): connection refused" in asyncio.run(call())
