"""The payment service's core (use cases, gateway, jobs) over a real database with the simulator as WeChat.

WeChat is faked only at the wire: the SDK client talks to an in-process ``Simulator`` through
``SimulatorTransport``; the simulator's notifier POSTs into a handler that verifies through the gateway
and applies the use case, exactly as the web layer does. Service and simulator share one manual clock.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from weipay.sdk import Client
from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.errors import ProtocolError, SignatureError
from weipay.sdk.retry import RetryPolicy
from weipay.sdk.v2 import notify as v2_notify
from weipay.service.db import SqlUnitOfWork, upgrade
from weipay.service.domain import ApiVersion
from weipay.service.gateway import WeChatGateway, verify_v2_payment, verify_v2_refund, verify_v3
from weipay.service.jobs import run_due_jobs
from weipay.service.usecases import (
    MerchantConfig,
    PaymentNotification,
    accept_payment_notification,
    accept_refund_notification,
    record_anomaly,
)
from weipay.simulator.bundle import init_bundle
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport

MCHID = "1900000109"
SERVICE_URL = "http://service.test"
START = 1_790_000_000.0


@pytest.fixture(scope="session")
def core_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulator bundle per session (key generation is slow); tests copy it."""
    root = tmp_path_factory.mktemp("core-bundle") / "bundle"
    init_bundle(root, mchid=MCHID)
    return root


@dataclass
class Core:
    """Everything a core test needs, wired like production."""

    uow: SqlUnitOfWork
    gateway: WeChatGateway
    clock: ManualClock
    sim: Simulator
    merchant: MerchantConfig
    control: httpx.Client
    notify_log: list[tuple[str, int]] = field(default_factory=list)
    captured: list[httpx.Request] | None = None

    # -- the payer and time -------------------------------------------------------------------------
    def pay(self, out_trade_no: str, outcome: str = "success", *, deliver: bool = True) -> dict[str, Any]:
        """The payer pays at WeChat (the simulator's control API); then notifications are delivered."""
        answer = self.control.post(
            "/simulator/payments", json={"mchid": MCHID, "out_trade_no": out_trade_no, "outcome": outcome}
        )
        assert answer.status_code == 200, answer.text
        if deliver:
            self.sim.tick()
        return answer.json()

    def advance(self, seconds: float) -> None:
        """Move the shared clock and let the simulator do what is due."""
        self.clock.advance(seconds)
        self.sim.tick()

    def run_jobs(self, rounds: int = 5) -> int:
        """Run due jobs until none are due (bounded)."""
        total = 0
        for _ in range(rounds):
            ran = run_due_jobs(self.uow, self.gateway, self.clock, 50, merchants={MCHID: self.merchant})
            total += ran
            if ran == 0:
                break
        return total

    def faults(self, **plan: Any) -> None:
        """Replace the simulator's fault plan (and balances)."""
        answer = self.control.put("/simulator/faults", json=plan)
        assert answer.status_code == 200, answer.text

    def sim_order(self, out_trade_no: str) -> Any:
        """WeChat's view of an order (ground truth)."""
        return self.sim.ledger.order(MCHID, out_trade_no)

    def capture_notifications(self) -> list[httpx.Request]:
        """Deliver what is due to a recorder instead of the service (answered 500: WeChat will retry)."""
        self.captured = []
        try:
            self.sim.tick()
            return self.captured
        finally:
            self.captured = None

    # -- the notify endpoint, as the web layer implements it -------------------------------------------
    def notify(self, request: httpx.Request) -> httpx.Response:
        """Verify, apply, then answer: success only after the commit."""
        if self.captured is not None:
            request.read()
            self.captured.append(request)
            return httpx.Response(500, json={"code": "FAIL", "message": "captured"})
        api = request.url.path.split("/")[3]
        body = request.read()
        try:
            if api == "v3":
                notice = verify_v3(self.gateway, MCHID, dict(request.headers), body)
            elif b"req_info" in body:
                notice = verify_v2_refund(self.gateway, MCHID, body)
            else:
                notice = verify_v2_payment(self.gateway, MCHID, body)
        except (SignatureError, ProtocolError) as error:
            record_anomaly(self.uow, self.clock, "unverifiable_notification", mchid=MCHID, reason=type(error).__name__)
            self.notify_log.append((api, 401))
            return httpx.Response(401, json={"code": "FAIL", "message": "unverified"})
        if isinstance(notice, PaymentNotification):
            accept_payment_notification(self.uow, self.merchant, notice, self.clock)
        else:
            accept_refund_notification(self.uow, self.merchant, notice, self.clock)
        self.notify_log.append((api, 200))
        if api == "v3":
            return httpx.Response(204)
        return httpx.Response(200, content=v2_notify.success_reply())


def make_core(database_url: str, bundle: Path, directory: Path, **merchant_options: Any) -> Core:
    """A fresh simulator (copied bundle) and a migrated database."""
    shutil.copytree(bundle, directory)
    clock = ManualClock(START)
    holder: dict[str, Core] = {}
    sim = Simulator(directory, clock=clock, notify_transport=httpx.MockTransport(lambda r: holder["core"].notify(r)))
    credentials = MerchantCredentials.from_bundle(directory / "merchant")
    account = json.loads((directory / "merchant" / "account.json").read_text())
    client = Client(
        credentials,
        transport=SimulatorTransport(sim),
        secure_transport=SimulatorTransport(sim, mtls=True),
        base_url=account["base_url"],
        secure_base_url=account["https_base_url"],
        clock=clock,
        retry=RetryPolicy(max_attempts=1),
    )
    upgrade(database_url)
    uow = SqlUnitOfWork.from_url(database_url)
    gateway = WeChatGateway({MCHID: client}, notify_base_url=SERVICE_URL, clock=clock)
    merchant = MerchantConfig(mchid=MCHID, appids=dict(account["appids"]), **merchant_options)
    control = httpx.Client(transport=SimulatorTransport(sim), base_url=account["base_url"])
    core = Core(uow=uow, gateway=gateway, clock=clock, sim=sim, merchant=merchant, control=control)
    holder["core"] = core
    return core


@pytest.fixture
def core(database_url: str, core_bundle: Path, tmp_path: Path) -> Iterator[Core]:
    """The core on SQLite and PostgreSQL, with the simulator as WeChat."""
    built = make_core(database_url, core_bundle, tmp_path / "sim")
    yield built
    built.control.close()
    built.gateway.client(MCHID).close()
    built.sim.close()
    built.uow.dispose()


__all__ = ["MCHID", "SERVICE_URL", "START", "ApiVersion", "Core", "core", "core_bundle", "make_core"]
