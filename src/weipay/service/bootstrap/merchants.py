"""One configured merchant: its settings, credentials, SDK client (routed to the simulator or WeChat) and the
use cases' view of it. Building one makes no network call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from anyio import to_thread

from weipay.sdk import AsyncClient, Client
from weipay.sdk.credentials import MerchantCredentials

from ..domain import ApiVersion
from ..settings import MerchantSettings, Settings
from ..usecases import MerchantConfig

__all__ = ["Merchant", "build_merchant"]


@dataclass(frozen=True)
class Merchant:
    """One merchant: its settings, credentials, SDK client and the use cases' view of it (``config``)."""

    settings: MerchantSettings
    credentials: MerchantCredentials
    client: Client
    config: MerchantConfig
    #: Builds an ``AsyncClient`` of this merchant with a pool of that many connections (it shares ``client``'s
    #: verifier and certificates).
    async_client: Callable[[int], AsyncClient]

    @property
    def mchid(self) -> str:
        """The merchant id."""
        return self.settings.mchid


def build_merchant(
    merchant: MerchantSettings,
    settings: Settings,
    *,
    wechat_transport: httpx.BaseTransport | None,
    secure_transport: httpx.BaseTransport | None,
    login_transport: httpx.BaseTransport | None,
    clock: Callable[[], float],
) -> Merchant:
    """The merchant's SDK client and config. Explicit ``wechat`` settings win over the bundle's account.json."""
    credentials = merchant.credentials()
    account = merchant.bundle_account()
    wechat = merchant.wechat
    explicit = wechat.model_fields_set
    base_url = wechat.base_url if "base_url" in explicit or not account else account.get("base_url", wechat.base_url)
    https_base_url = wechat.https_base_url or account.get("https_base_url") or base_url
    login_base_url = wechat.login_base_url if "login_base_url" in explicit or not account else base_url
    ca_path = wechat.ca_path
    if ca_path is None and merchant.bundle_dir is not None and (merchant.bundle_dir / "simulator_ca.pem").exists():
        ca_path = merchant.bundle_dir / "simulator_ca.pem"
    transport = _route_login(wechat_transport, login_transport, merchant)
    client = Client(
        credentials,
        transport=transport,
        secure_transport=secure_transport,
        base_url=base_url,
        secure_base_url=https_base_url,
        login_base_url=login_base_url,
        timeout_s=wechat.timeout_s,
        clock=clock,
        verify_tls=str(ca_path) if ca_path is not None else True,
        download_certificates=merchant.platform_certificates,
    )
    def async_client(pool: int) -> AsyncClient:
        return AsyncClient(
            credentials,
            transport=_async(transport),
            secure_transport=_async(secure_transport),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            base_url=base_url,
            secure_base_url=https_base_url,
            login_base_url=login_base_url,
            timeout_s=wechat.timeout_s,
            clock=clock,
            verify_tls=client.verify_tls,
            verifier=client.verifier,
            download_certificates=client.download_certificates,
        )

    config = MerchantConfig(
        mchid=merchant.mchid,
        appids=credentials.appids,
        default_api=ApiVersion(merchant.default_api),
        refund_approval_required=merchant.refund_approval_required,
        notify_expected_after_s=settings.notify_expected_after_s,
        webhook_url=merchant.webhook_url,
        webhook_secret=merchant.webhook_secret.get_secret_value() if merchant.webhook_secret else None,
        more_appids={kind: tuple(appids) for kind, appids in merchant.more_appids.items()},
        shipping_auto_virtual=merchant.shipping.auto_upload_virtual,
        shipping_deadline_s=merchant.shipping.deadline_h * 3600,
        shipping_warn_before_s=merchant.shipping.warn_before_h * 3600,
    )
    return Merchant(merchant, credentials, client, config, async_client)


def _async(transport: httpx.BaseTransport | None) -> httpx.AsyncBaseTransport | None:
    """The async side of a test transport: the simulator's and httpx's mock are both; any other blocking one runs
    on a worker thread (tests only: production clients open their own connections)."""
    if transport is None or isinstance(transport, httpx.AsyncBaseTransport):
        return transport
    return _ThreadedTransport(transport)


class _ThreadedTransport(httpx.AsyncBaseTransport):
    """A blocking transport made awaitable by running each request on a worker thread."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send on a worker thread; the body is read there too."""
        body = await request.aread()

        def send() -> httpx.Response:
            blocking = httpx.Request(request.method, request.url, headers=request.headers, content=body,
                                     extensions=request.extensions)  # fmt: skip
            response = self._transport.handle_request(blocking)
            content = response.read()
            return httpx.Response(response.status_code, headers=response.headers, content=content,
                                  extensions=response.extensions)  # fmt: skip

        return await to_thread.run_sync(send)


class _LoginRouter(httpx.BaseTransport):
    """Sends requests for the login host to ``login``, everything else to ``api``."""

    def __init__(self, api: httpx.BaseTransport, login: httpx.BaseTransport, login_host: str) -> None:
        self._api, self._login, self._login_host = api, login, login_host

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Route by host."""
        target = self._login if request.url.host == self._login_host else self._api
        return target.handle_request(request)

    def close(self) -> None:
        """Close both."""
        self._api.close()
        self._login.close()


def _route_login(
    api: httpx.BaseTransport | None, login: httpx.BaseTransport | None, merchant: MerchantSettings
) -> httpx.BaseTransport | None:
    """A test seam: ``login`` (jscode2session) may be a transport apart from WeChat Pay's."""
    if login is None or login is api:
        return api
    login_host = httpx.URL(merchant.wechat.login_base_url).host
    return _LoginRouter(api or httpx.HTTPTransport(), login, login_host)
