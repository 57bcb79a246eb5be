"""The service's collaborators, built once from the settings: what every entry point starts from.

``weipay serve`` (through ``api.create_app``), ``weipay worker``, ``weipay reconcile``, the demo and the console
all build one :class:`Services` and hand its parts to the use cases and the job worker. No web framework is
imported here, so a worker process never loads one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx
import sqlalchemy as sa

from ..alerts import AlertRouter
from ..db import SerializedWrites, SqlTokenCache, ThreadLane, create_engine_for
from ..domain import InvalidInput, NotFound
from ..gateway import AsyncWeChat, H5Site, WeChatGateway
from ..jobs import WebhookSender, http_sender, run_due_jobs
from ..settings import MerchantSettings, Settings
from ..usecases import MerchantConfig
from .alerts import router_from_settings
from .merchants import Merchant, build_merchant

__all__ = ["Services", "build_services"]

# Worker threads of the API's two database lanes (FastAPI's own pool of 40 serves the plain ``def`` handlers). A
# flow's step is short; more threads than the database can run at once would only wait for its locks.
STEP_THREADS = 16
READ_THREADS = 8


@dataclass
class Services:
    """The unit of work, the merchants (one SDK client each), the gateway over them, the clock, the webhook sender.

    ``gateway`` runs the use cases' WeChat calls blocking (worker, CLI); ``wechat`` runs the same flows for the API
    on its event loop, at most ``max_in_flight`` per merchant. ``gateway`` is a field, not a constant: a test may
    swap it (e.g. for one that tells WeChat an https notify_url).
    """

    settings: Settings
    uow: SerializedWrites
    merchants: Mapping[str, Merchant]
    gateway: WeChatGateway
    clock: Callable[[], float]
    wechat: AsyncWeChat
    #: Threads for the API's plain reads (health, an order's state): never taken by a writer waiting for a lock.
    reads: ThreadLane = field(default_factory=lambda: ThreadLane("reads", READ_THREADS))
    webhook_sender: WebhookSender = field(default_factory=http_sender)
    #: Where the worker's ``alert`` jobs go (the log alone until ``settings.alerts`` names robots).
    alerts: AlertRouter = field(default_factory=AlertRouter.log_only)

    def merchant_config(self, mchid: str) -> MerchantConfig:
        """The use cases' view of a configured merchant, or ``merchant_not_found``."""
        merchant = self.merchants.get(mchid)
        if merchant is None:
            raise NotFound("merchant_not_found", "no such merchant")
        return merchant.config

    def merchant_for_appid(self, appid: str) -> MerchantConfig:
        """The (first) merchant collecting for ``appid``, or ``unknown_appid``."""
        for merchant in self.merchants.values():
            if appid in merchant.credentials.appids.values():
                return merchant.config
        raise InvalidInput("unknown_appid", "no configured merchant uses this appid")

    @cached_property
    def merchant_configs(self) -> dict[str, MerchantConfig]:
        """Every merchant's config by mchid."""
        return {mchid: merchant.config for mchid, merchant in self.merchants.items()}

    def run_due_jobs(self, limit: int = 50) -> int:
        """One pass of the job worker (queries, expiries, refunds, webhooks); the number run."""
        return run_due_jobs(self.uow, self.gateway, self.clock, limit, merchants=self.merchant_configs,
                            webhook_sender=self.webhook_sender, alerts=self.alerts)  # fmt: skip

    def health(self) -> dict[str, Any]:
        """``status: ok`` when the database answers."""
        with self.uow.read() as tx:
            tx.connection.execute(sa.text("SELECT 1"))
        return {"status": "ok", "database": self.uow.dialect, "merchants": sorted(self.merchants)}

    def close(self) -> None:
        """Close the SDK clients' HTTP pools and the database connections."""
        for merchant in self.merchants.values():
            merchant.client.close()
        self.uow.dispose()


def build_services(
    settings: Settings,
    *,
    wechat_transport: httpx.BaseTransport | None = None,
    secure_transport: httpx.BaseTransport | None = None,
    login_transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] | None = None,
) -> Services:
    """Open the database and one SDK client per merchant (no network call happens here).

    Transports and clock are the test seams: the simulator plugs in there.
    """
    clock = clock or time.time
    merchants = {
        m.mchid: build_merchant(m, settings, wechat_transport=wechat_transport, secure_transport=secure_transport,
                                login_transport=login_transport, clock=clock)
        for m in settings.merchants
    }  # fmt: skip
    uow = SerializedWrites(create_engine_for(settings.database_url))
    # Mini-program access tokens live in the database: every process (API, workers) shares one token per app.
    gateway = WeChatGateway(
        {mchid: m.client for mchid, m in merchants.items()}, notify_base_url=settings.public_base_url, clock=clock,
        h5_sites={m.mchid: h5_site(m, settings.public_base_url) for m in settings.merchants},
        tokens=SqlTokenCache(uow.engine, clock),
    )
    wechat = AsyncWeChat(
        lambda mchid, pool: merchants[mchid].async_client(pool),
        {mchid: m.settings.wechat.max_in_flight for mchid, m in merchants.items()},
        clock,
        ThreadLane("flow steps", STEP_THREADS),
    )
    return Services(settings, uow, merchants, gateway, clock, wechat, alerts=router_from_settings(settings.alerts))


def h5_site(merchant: MerchantSettings, public_base_url: str) -> H5Site:
    """The site a merchant's H5 payments name: its settings, else the service's address and the payee's name."""
    display_name = merchant.display_name
    if display_name is not None and len(display_name.encode("utf-8")) > 64:  # WeChat's app_name limit
        display_name = None
    return H5Site(merchant.h5_site_url or public_base_url.rstrip("/"),
                  merchant.h5_site_name or display_name or merchant.mchid)
