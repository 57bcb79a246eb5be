"""``weipay config check --online``: each deliberately wrong credential is named by the probe WeChat answers."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from weipay.cli._config_checks import FAIL, PASS, SKIP
from weipay.cli._config_probe import probe_merchant
from weipay.sdk import Client, RetryPolicy
from weipay.sdk.credentials import MerchantCredentials
from weipay.simulator.bundle import init_bundle
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport

MCHID = "1900000109"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A public-key merchant and a platform-certificate merchant."""
    made = {}
    for verification in ("public_key", "platform_certificate"):
        root = tmp_path_factory.mktemp(verification)
        init_bundle(root, mchid=MCHID, verification=verification)
        made[verification] = root
    return made


@dataclasses.dataclass
class World:
    sim: Simulator
    clock: ManualClock
    credentials: MerchantCredentials
    account: dict[str, Any]

    def probe(self, **wrong: Any) -> dict[str, str]:
        """Run the probes with ``wrong`` credentials; ``{line: mark}``."""
        credentials = dataclasses.replace(self.credentials, **wrong)
        client = Client(credentials, transport=SimulatorTransport(self.sim), base_url=self.account["base_url"],
                        clock=self.clock, retry=RetryPolicy(max_attempts=1))  # fmt: skip
        with client:
            results = list(probe_merchant(client, credentials, self.account["base_url"], clock=self.clock,
                                          transport=SimulatorTransport(self.sim)))  # fmt: skip
        for result in results:  # no secret ever appears in a line
            for secret in (credentials.api_v2_key, credentials.api_v3_key):
                assert not secret or secret not in result.text
        return {result.text: result.mark for result in results}

    def faults(self, **plan: Any) -> None:
        control = httpx.Client(transport=SimulatorTransport(self.sim), base_url=self.account["base_url"])
        assert control.put("/simulator/faults", json=plan).status_code == 200


def failed(lines: dict[str, str]) -> list[str]:
    return [text for text, mark in lines.items() if mark == FAIL]


@pytest.fixture(params=["public_key", "platform_certificate"])
def world(request: pytest.FixtureRequest, bundles: dict[str, Path], tmp_path: Path) -> Iterator[World]:
    directory = shutil.copytree(bundles[request.param], tmp_path / "bundle")
    clock = ManualClock(time.time())
    sim = Simulator(directory, clock=clock)
    credentials = MerchantCredentials.from_bundle(directory / "merchant")
    account = json.loads((directory / "merchant" / "account.json").read_text())
    yield World(sim, clock, credentials, account)
    sim.close()


def test_right_credentials_pass_every_probe(world: World) -> None:
    lines = world.probe()
    assert not failed(lines), lines
    assert any("private key and serial" in text and mark == PASS for text, mark in lines.items())
    assert any("APIv2 key accepted" in text for text in lines)
    assert any(text.startswith("clock agrees") for text in lines)
    if world.account["verification"] == "platform_certificate":
        assert any("APIv3 key decrypts" in text and mark == PASS for text, mark in lines.items())
    else:
        assert any(text.startswith("APIv3 key") and mark == SKIP for text, mark in lines.items())


def test_a_wrong_serial_is_named(world: World) -> None:
    problems = failed(world.probe(merchant_serial_no="1" * 40))
    assert len(problems) == 1 and problems[0].startswith("merchant_serial_no 111"), problems


def test_a_wrong_private_key_is_named(world: World) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    problems = failed(world.probe(private_key=other))
    assert len(problems) == 1 and problems[0].startswith("merchant private key is wrong"), problems


def test_a_wrong_api_v2_key_is_named(world: World) -> None:
    problems = failed(world.probe(api_v2_key="x" * 32))
    assert len(problems) == 1 and problems[0].startswith("APIv2 key is wrong"), problems


def test_a_wrong_api_v3_key_is_named_where_the_account_has_certificates(world: World) -> None:
    problems = failed(world.probe(api_v3_key="y" * 32))
    if world.account["verification"] == "public_key":
        assert not problems  # no certificates to decrypt: nothing online can tell
        return
    assert problems and problems[0].startswith("APIv3 key is wrong"), problems


def test_a_wrong_wechat_pay_public_key_or_id_is_named(world: World) -> None:
    if world.account["verification"] != "public_key":
        pytest.skip("a certificate account has no public key")
    problems = failed(world.probe(wechatpay_public_key_id="PUB_KEY_ID_0000000000000000000000000000000000"))
    assert problems and problems[0].startswith("wechatpay_public_key_id is wrong"), problems
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    problems = failed(world.probe(wechatpay_public_key=other))
    assert len(problems) == 1 and "public key file is wrong" in problems[0], problems


def test_clock_skew_is_named(world: World) -> None:
    world.faults(clock_skew_s=900)
    problems = failed(world.probe())
    assert len(problems) == 1 and re.match(r"clock: this machine is (899|900) s behind WeChat", problems[0]), problems
    assert any(text.startswith("v3 probes not run") for text in world.probe())
