"""One configured merchant: its settings, credentials, SDK client (routed to the simulator or WeChat) and the
use cases' view of it. Building one makes no network call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from weipay.sdk import Client
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
    client = Client(
        credentials,
        transport=_route_login(wechat_transport, login_transport, merchant),
        secure_transport=secure_transport,
        base_url=base_url,
        secure_base_url=https_base_url,
        login_base_url=login_base_url,
        timeout_s=wechat.timeout_s,
        clock=clock,
        verify_tls=str(ca_path) if ca_path is not None else True,
        download_certificates=merchant.platform_certificates,
    )
    config = MerchantConfig(
        mchid=merchant.mchid,
        appids=credentials.appids,
        default_api=ApiVersion(merchant.default_api),
        refund_approval_required=merchant.refund_approval_required,
        notify_expected_after_s=settings.notify_expected_after_s,
        webhook_url=merchant.webhook_url,
        webhook_secret=merchant.webhook_secret.get_secret_value() if merchant.webhook_secret else None,
    )
    return Merchant(merchant, credentials, client, config)


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
