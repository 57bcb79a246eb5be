"""Fixtures for client tests: a hand-moved clock, WeChat on the wire, clients wired to it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from client_fakes import FakeClock, FakeWeChat

from weipay.sdk.async_client import AsyncClient
from weipay.sdk.client import Client
from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.retry import RetryPolicy


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def retry(sleeps: list[float]) -> RetryPolicy:
    """Real policy, recorded instead of slept; jitter pinned to the top of its range."""
    return RetryPolicy(sleep=sleeps.append, random=lambda: 0.999999)


@pytest.fixture
def wechat(clock: FakeClock, merchant_keys: Any, wechatpay_keys: Any, credentials: MerchantCredentials) -> FakeWeChat:
    """WeChat signing with its public key (PUB_KEY_ID_ mode)."""
    return FakeWeChat(
        clock=clock,
        mchid=credentials.mchid,
        merchant_public_key=merchant_keys.private_key.public_key(),
        signer_key=wechatpay_keys.private_key,
        signer_serial=str(credentials.wechatpay_public_key_id),
        api_v3_key=str(credentials.api_v3_key),
    )


@pytest.fixture
def cert_wechat(
    clock: FakeClock, merchant_keys: Any, wechatpay_keys: Any, credentials: MerchantCredentials
) -> FakeWeChat:
    """WeChat signing with a platform certificate, served by /v3/certificates."""
    return FakeWeChat(
        clock=clock,
        mchid=credentials.mchid,
        merchant_public_key=merchant_keys.private_key.public_key(),
        signer_key=wechatpay_keys.private_key,
        signer_serial=wechatpay_keys.serial,
        api_v3_key=str(credentials.api_v3_key),
        platform_certificates=[wechatpay_keys],
    )


@pytest.fixture
def cert_credentials(credentials: MerchantCredentials) -> MerchantCredentials:
    """The same merchant in platform-certificate mode (no WeChat Pay public key)."""
    return dataclasses.replace(credentials, wechatpay_public_key=None, wechatpay_public_key_id=None)


@pytest.fixture
def make_client(clock: FakeClock, retry: RetryPolicy) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(credentials: MerchantCredentials, handler: Any, **options: Any) -> Client:
        options.setdefault("clock", clock)
        options.setdefault("retry", retry)
        client = Client(credentials, transport=httpx.MockTransport(handler), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def make_async_client(clock: FakeClock, retry: RetryPolicy) -> Callable[..., AsyncClient]:
    def make(credentials: MerchantCredentials, handler: Any, **options: Any) -> AsyncClient:
        options.setdefault("clock", clock)
        options.setdefault("retry", retry)
        return AsyncClient(credentials, transport=httpx.MockTransport(handler), **options)

    return make


@pytest.fixture
def new_key_pair(request: pytest.FixtureRequest, merchant_keys: Any) -> Callable[..., Any]:
    """tests/sdk/conftest.py's ``make_key_pair`` (found through its module: tests are not a package)."""
    plugins = request.config.pluginmanager.get_plugins()
    module = next(plugin for plugin in plugins if getattr(plugin, "KeyPair", None) is type(merchant_keys))
    return module.make_key_pair  # type: ignore[no-any-return]
