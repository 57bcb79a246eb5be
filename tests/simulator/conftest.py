"""Simulator fixtures: a bundle generated once per session (copied per test), a simulator on a manual clock,
and a v3 merchant that signs raw httpx requests with our signing primitives."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from weipay.sdk.clock import new_nonce
from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.v3.signing import authorization
from weipay.sdk.v3.verifier import SignedHeaders, Verifier
from weipay.simulator.bundle import init_bundle
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport

BASE_URL = "http://127.0.0.1:8900"


@pytest.fixture(scope="session")
def _bundle_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    templates = {}
    for mode in ("public_key", "platform_certificate"):
        root = tmp_path_factory.mktemp(f"bundle-{mode}")
        init_bundle(root, verification=mode, mchid="1900000109")
        templates[mode] = root
    return templates


def copy_bundle(templates: dict[str, Path], mode: str, target: Path) -> Path:
    """A private copy of a session bundle (so each test has its own ledger)."""
    shutil.copytree(templates[mode], target, dirs_exist_ok=True)
    ledger = target / "simulator" / "ledger.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(ledger) + suffix).unlink(missing_ok=True)
    return target


@pytest.fixture(params=["public_key"])
def verification(request: pytest.FixtureRequest) -> str:
    """The merchant's verification mode (override with parametrize to run both)."""
    return str(request.param)


@pytest.fixture
def bundle_dir(_bundle_templates: dict[str, Path], tmp_path: Path, verification: str) -> Path:
    """A fresh bundle directory (DIR with merchant/ and simulator/)."""
    return copy_bundle(_bundle_templates, verification, tmp_path / "bundle")


@pytest.fixture
def clock() -> ManualClock:
    """Simulated time, moved by hand."""
    return ManualClock(time.time())


@pytest.fixture
def notify_log() -> list[httpx.Request]:
    """Every notification the simulator POSTed (see ``sim``)."""
    return []


@pytest.fixture
def notify_handler() -> dict[str, Any]:
    """A mutable slot: set ``["handler"]`` to a function(request) -> httpx.Response to play the merchant."""
    return {"handler": lambda request: httpx.Response(204)}


@pytest.fixture
def sim(bundle_dir: Path, clock: ManualClock, notify_log: list[httpx.Request],
        notify_handler: dict[str, Any]) -> Iterator[Simulator]:
    """A simulator on a manual clock whose notifications go to ``notify_handler``."""

    def receive(request: httpx.Request) -> httpx.Response:
        request.read()
        notify_log.append(request)
        response: httpx.Response = notify_handler["handler"](request)
        return response

    simulator = Simulator(bundle_dir, clock=clock, notify_transport=httpx.MockTransport(receive))
    yield simulator
    simulator.close()


@dataclass
class V3Merchant:
    """A v3 merchant speaking raw httpx through the in-process transport, signing with our primitives."""

    credentials: MerchantCredentials
    client: httpx.Client
    clock: ManualClock
    verifier: Verifier
    send_serial: str | None = None

    def request(self, method: str, path: str, body: Any = None, *, sign: bool = True,
                timestamp: float | None = None) -> httpx.Response:
        """Send a signed request; ``path`` includes the query string."""
        content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        private_key, serial = self.credentials.require_signer()
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.send_serial:
            headers["Wechatpay-Serial"] = self.send_serial
        if sign:
            headers["Authorization"] = authorization(
                mchid=self.credentials.mchid, serial_no=serial, private_key=private_key, method=method,
                canonical_url=path, body=content, timestamp=str(int(timestamp or self.clock())), nonce=new_nonce(),
            )
        return self.client.request(method, BASE_URL + path, content=content, headers=headers)

    def verify(self, response: httpx.Response) -> None:
        """Raise unless the response carries WeChat's valid signature."""
        self.verifier.verify(SignedHeaders.from_headers(response.headers), response.content)


@pytest.fixture
def merchant(sim: Simulator, bundle_dir: Path, clock: ManualClock) -> Iterator[V3Merchant]:
    """The bundle's merchant, talking to ``sim`` in-process; its verifier trusts the public key and platform cert."""
    credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")
    verifier = Verifier(clock=clock)
    verifier.add_public_key(sim.account["wechatpay_public_key_id"], sim.account["wechatpay_public_key"])
    verifier.add_certificate(sim.account["platform_certificate"])
    with httpx.Client(transport=SimulatorTransport(sim)) as client:
        yield V3Merchant(credentials, client, clock, verifier)
