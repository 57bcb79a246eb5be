"""``weipay config check --config FILE [--online]`` over the service's settings, against a served simulator."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from weipay.cli.config_cmd import config
from weipay.simulator.bundle import init_bundle
from weipay.simulator.core import Simulator
from weipay.simulator.server import RunningSimulator, start_in_thread

MCHID = "1900000109"
V2_ONLY = "1900000209"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSimulator, Path]]:
    """``weipay simulator serve`` in a thread (HTTP only), on its own bundle."""
    root = tmp_path_factory.mktemp("served")
    init_bundle(root, mchid=MCHID)
    running = start_in_thread(Simulator(root), https_port=None)
    yield running, root / "merchant"
    running.stop()
    running.sim.close()


def write_settings(path: Path, served: tuple[RunningSimulator, Path], **merchant: Any) -> Path:
    """A JSON settings file with the simulator merchant (key files, as in production) and a v2-only one."""
    running, merchant_dir = served
    account = json.loads((merchant_dir / "account.json").read_text())
    first = {
        "mchid": MCHID, "private_key_path": str(merchant_dir / "apiclient_key.pem"),
        "merchant_cert_path": str(merchant_dir / "apiclient_cert.pem"),
        "merchant_serial_no": account["merchant_serial_no"], "api_v2_key": account["apiv2_key"],
        "api_v3_key": account["apiv3_key"], "appids": {"miniprogram": account["appids"]["miniprogram"]},
        "wechatpay_public_key_path": str(merchant_dir / "wechatpay_public_key.pem"),
        "wechatpay_public_key_id": account["wechatpay_public_key_id"],
        "wechat": {"base_url": running.base_url}, **merchant,
    }  # fmt: skip
    second = {"mchid": V2_ONLY, "api_v2_key": "k" * 32, "wechat": {"base_url": running.base_url}}  # never real WeChat
    path.write_text(json.dumps({"database_url": "sqlite:///unused.sqlite3", "merchants": [first, second]}))
    return path


def run(*args: str) -> Any:
    env = {name: None for name in os.environ if name.startswith("WEIPAY_")}
    return CliRunner().invoke(config, ["check", *args], env=env)


def test_offline_checks_each_merchant_of_the_settings(served: Any, tmp_path: Path) -> None:
    result = run("--config", str(write_settings(tmp_path / "weipay.json", served)))
    assert result.exit_code == 0, result.output
    assert f"merchant {MCHID}:" in result.output and f"merchant {V2_ONLY}:" in result.output
    assert "APIv2 only" in result.output and "configuration OK" in result.output


def test_online_names_a_wrong_api_v2_key_and_exits_1(served: Any, tmp_path: Path) -> None:
    good = run("--config", str(write_settings(tmp_path / "good.json", served)), "--online")
    assert good.exit_code == 0, good.output
    first, second = good.output.split(f"merchant {V2_ONLY}:")
    assert "APIv2 key: no appid configured to query with" in second  # v2-only, no appid: nothing to ask with
    assert "✗" not in good.output and "merchant private key and serial" in first and "APIv2 key accepted" in first
    wrong = run("--config", str(write_settings(tmp_path / "wrong.json", served, api_v2_key="x" * 32)), "--online")
    assert wrong.exit_code == 1
    first, _ = wrong.output.split(f"merchant {V2_ONLY}:")
    assert [line.strip() for line in first.splitlines() if "✗" in line] == [
        "✗ APIv2 key is wrong: WeChat answers 签名错误 to a signed v2 orderquery "
        "(set it again in the merchant platform, API安全 → APIv2密钥)"
    ]
    assert "x" * 32 not in wrong.output


def test_an_unreadable_settings_file_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"merchants": [{"mchid": "abc"}]}')
    result = run("--config", str(broken))
    assert result.exit_code == 2 and "Error:" in result.output


def test_help_explains_the_online_probes_and_exit_codes() -> None:
    text = run("--help").output
    assert "--online" in text and "SIGN_ERROR" in text and "Exit status: 0" in text
