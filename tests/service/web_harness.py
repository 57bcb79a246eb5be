"""The service over HTTP with the simulator as WeChat: shared by the API, console and end-to-end tests.

* the app: ``create_app(settings, wechat_transport=SimulatorTransport(sim), ...)`` on ``database_url``
  (SQLite and PostgreSQL), driven through ``httpx.ASGITransport`` (bridged to a sync client by an anyio
  blocking portal, so the simulator's synchronous notifier can deliver into the same app);
* the simulator: in-process, on a manual clock shared with the service, its notifier POSTing into the app;
* the payer: the simulator's control API (login codes, payments) over its own transport.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from weipay.service.api import create_app
from weipay.service.db import upgrade
from weipay.service.gateway import WeChatGateway
from weipay.service.settings import Settings, load_settings
from weipay.simulator.bundle import init_bundle
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport

MCHID = "1900000109"
API_KEY = "test-merchant-key-0123456789"
OTHER_API_KEY = "test-other-merchant-key-987654"
OTHER_MCHID = "1900000209"
ADMIN_KEY = "test-admin-key-0123456789abcdef"
SERVICE_URL = "http://service.test"


class PortalTransport(httpx.BaseTransport):
    """A sync transport running ``httpx.ASGITransport(app)`` on an anyio portal's event loop."""

    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward one request and read the whole answer."""

        async def forward() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return self._portal.call(forward)


@pytest.fixture(scope="session")
def bundle_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulator bundle per session (keys take a while); tests copy it."""
    root = tmp_path_factory.mktemp("service-bundle")
    init_bundle(root, mchid=MCHID)
    return root


@pytest.fixture(scope="session")
def certificate_bundle_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same merchant in platform-certificate mode (answers and notifications signed by a certificate)."""
    root = tmp_path_factory.mktemp("service-bundle-certificates")
    init_bundle(root, mchid=MCHID, verification="platform_certificate")
    return root


def copy_bundle(template: Path, target: Path) -> Path:
    """A private copy with an empty ledger."""
    shutil.copytree(template, target, dirs_exist_ok=True)
    ledger = target / "simulator" / "ledger.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(ledger) + suffix).unlink(missing_ok=True)
    return target


def service_settings(database_url: str, bundle: Path, sim: Simulator, **merchant: Any) -> Settings:
    """Settings for one simulator merchant plus a second, key-only merchant (for cross-merchant checks)."""
    return load_settings(
        environ={},
        overrides={
            "database_url": database_url,
            "public_base_url": SERVICE_URL,
            "notify_expected_after_s": 10,
            "admin": {"api_keys": [ADMIN_KEY], "username": "ops", "password": "ops-password-for-tests"},
            "merchants": [
                {
                    "mchid": MCHID,
                    "bundle_dir": str(bundle / "merchant"),
                    "api_keys": [API_KEY],
                    "wechat": {"base_url": sim.base_url, "https_base_url": sim.https_base_url,
                               "login_base_url": sim.base_url},
                    **merchant,
                },
                {"mchid": OTHER_MCHID, "api_v2_key": "k" * 32, "api_keys": [OTHER_API_KEY]},
            ],
        },
    )


class _MerchantDown(httpx.BaseTransport):
    """A merchant that is down: keeps each delivery and answers 500 (WeChat will retry later)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return httpx.Response(500)


@dataclass
class Harness:
    """Everything a test drives: ``api`` (the service), ``wechat`` (the simulator's control API), ``sim``, ``clock``."""

    api: httpx.Client
    wechat: httpx.Client
    sim: Simulator
    clock: ManualClock
    settings: Settings
    app: Any
    account: dict[str, Any]

    @property
    def merchant(self) -> dict[str, str]:
        """Merchant auth header."""
        return {"Authorization": f"Bearer {API_KEY}"}

    def production_rules(self) -> None:
        """WeChat's production rules from here on: the strict simulator (no close in an order's first five
        minutes, https notify_url without a port) and a service that tells WeChat an https notify_url."""
        services = self.app.state.services
        self.sim.strict = True
        services.gateway = WeChatGateway(
            {MCHID: services.gateway.client(MCHID)}, notify_base_url="https://service.test", clock=self.clock
        )

    def appid(self, kind: str = "miniprogram") -> str:
        """The bundle's appid of ``kind``."""
        return str(self.account["appids"][kind])

    def login(self, user: str = "alice") -> tuple[str, dict[str, str]]:
        """``(openid, auth header)`` of a mini-program user logged in through the service."""
        code = self.wechat.post("/simulator/login-codes", json={"appid": self.appid(), "user": user}).json()
        answer = self.api.post("/v1/login", json={"appid": self.appid(), "code": code["code"]})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["openid"] == code["openid"]
        return body["openid"], {"Authorization": f"Bearer {body['token']}"}

    def create_order(self, amount: int = 1999, *, payer_openid: str | None = None, number: str | None = None,
                     **extra: Any) -> dict[str, Any]:
        """A new pending order."""
        body = {"merchant_order_no": number or f"SO-{time.time_ns()}", "amount": amount, "description": "mug",
                "payer_openid": payer_openid, **extra}
        response = self.api.post("/v1/orders", json=body, headers=self.merchant)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def pay(self, payment: dict[str, Any], openid: str | None = None, outcome: str = "success") -> dict[str, Any]:
        """Play the payer at the simulator for a started payment."""
        if payment.get("request_payment"):
            target: dict[str, Any] = {"prepay_id": payment["request_payment"]["package"].removeprefix("prepay_id=")}
        elif payment.get("app_payment"):
            app = payment["app_payment"]
            target = {"prepay_id": app.get("prepayid") or app.get("prepay_id")}
        elif payment.get("code_url"):
            target = {"code_url": payment["code_url"]}
        else:
            target = {"mchid": MCHID, "out_trade_no": payment["out_trade_no"]}
        answer = self.wechat.post("/simulator/payments", json={**target, "openid": openid, "outcome": outcome})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def captured_payment(self, amount: int = 1234, api: str = "v3") -> tuple[dict[str, Any], httpx.Request]:
        """A native order paid at WeChat whose one payment notification was captured instead of delivered.

        The merchant plays "down" (500) for the one delivery, so the test can replay, tamper or re-sign it.
        """
        order = self.create_order(amount)
        payment = self.api.post(f"/v1/orders/{order['id']}/payments", headers=self.merchant,
                                json={"channel": "native", "api": api}).json()  # fmt: skip
        recorder, original = _MerchantDown(), self.sim.notify_transport
        self.sim.notify_transport = recorder
        try:
            self.pay(payment)
            self.deliver()
        finally:
            self.sim.notify_transport = original
        assert len(recorder.requests) == 1
        return order, recorder.requests[0]

    def deliver(self, advance_s: float = 0.0) -> dict[str, int]:
        """Move simulated time and let the simulator do its due work (refunds, notifications)."""
        if advance_s:
            self.clock.advance(advance_s)
        return self.sim.tick()

    def order(self, order_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """GET the order (200 expected)."""
        response = self.api.get(f"/v1/orders/{order_id}", headers=headers or self.merchant)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def run_jobs(self) -> int:
        """Run the worker's due jobs once."""
        return int(self.app.state.services.run_due_jobs())


@pytest.fixture
def harness_factory(
    bundle_template: Path, tmp_path: Path, database_url: str, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """Build a harness (optionally with merchant overrides such as ``refund_approval_required``).

    ``verification="platform_certificate"`` gives a merchant whose WeChat signs with platform certificates.
    """
    made: list[tuple[Any, Simulator, httpx.Client, httpx.Client]] = []
    with start_blocking_portal() as portal:

        def make(verification: str = "public_key", **merchant: Any) -> Harness:
            template = (bundle_template if verification == "public_key"
                        else request.getfixturevalue("certificate_bundle_template"))  # fmt: skip
            bundle = copy_bundle(template, tmp_path / f"bundle{len(made)}")
            clock = ManualClock(time.time())
            notify = _LateBound()
            sim = Simulator(bundle, clock=clock, notify_transport=notify)
            settings = service_settings(database_url, bundle, sim, **merchant)
            upgrade(database_url)
            app = create_app(settings, wechat_transport=SimulatorTransport(sim),
                             secure_transport=SimulatorTransport(sim, mtls=True), clock=clock)
            transport = PortalTransport(app, portal)
            notify.target = transport
            api = httpx.Client(transport=transport, base_url=SERVICE_URL)
            wechat = httpx.Client(transport=SimulatorTransport(sim), base_url=sim.base_url)
            made.append((app, sim, api, wechat))
            import json

            account = json.loads((bundle / "merchant" / "account.json").read_text())
            return Harness(api, wechat, sim, clock, settings, app, account)

        yield make
        for app, sim, api, wechat in made:
            api.close()
            wechat.close()
            app.state.api.close()
            sim.close()


@pytest.fixture
def harness(harness_factory: Any) -> Harness:
    """The default harness: v3 merchant, no refund approval."""
    return harness_factory()  # type: ignore[no-any-return]


class _LateBound(httpx.BaseTransport):
    """The simulator needs its notify transport before the app exists; this points at it once built."""

    target: httpx.BaseTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert self.target is not None
        return self.target.handle_request(request)
