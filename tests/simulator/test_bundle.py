"""The merchant bundle written by ``weipay simulator init`` follows the ARCHITECTURE.md contract."""

from __future__ import annotations

import json
import re
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import pkcs12

from weipay.cli.simulator_cmd import simulator
from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.crypto import load_certificate, load_private_key, load_public_key, rsa_sign, rsa_verify
from weipay.simulator.bundle import BundleExists, init_bundle, load_simulator_account

ACCOUNT_KEYS = {"mchid", "appids", "app_secrets", "apiv2_key", "apiv3_key", "merchant_serial_no",
                "wechatpay_public_key_id", "verification", "base_url", "https_base_url"}
MERCHANT_FILES = {"account.json", "apiclient_key.pem", "apiclient_cert.pem", "apiclient_cert.p12",
                  "wechatpay_public_key.pem", "simulator_ca.pem"}


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
    except Exception:
        return False
    return cert.issuer == issuer.subject


@pytest.mark.parametrize("mode", ["public_key", "platform_certificate"])
def test_bundle_contract(tmp_path: Path, mode: str) -> None:
    account = init_bundle(tmp_path, verification=mode, mchid="1900000109", port=9100, https_port=9101)
    merchant = tmp_path / "merchant"
    assert {p.name for p in merchant.iterdir()} == MERCHANT_FILES
    on_disk = json.loads((merchant / "account.json").read_text())
    assert on_disk == account
    assert set(on_disk) == ACCOUNT_KEYS
    assert set(on_disk["appids"]) == set(on_disk["app_secrets"]) == {"miniprogram", "app", "official_account"}
    assert all(re.fullmatch(r"wx[0-9a-f]{16}", appid) for appid in on_disk["appids"].values())
    assert len(set(on_disk["appids"].values())) == 3
    assert re.fullmatch(r"[A-Za-z0-9]{32}", on_disk["apiv2_key"])
    assert re.fullmatch(r"[A-Za-z0-9]{32}", on_disk["apiv3_key"])
    assert re.fullmatch(r"PUB_KEY_ID_\d+", on_disk["wechatpay_public_key_id"])
    assert on_disk["verification"] == mode
    assert on_disk["base_url"] == "http://127.0.0.1:9100"
    assert on_disk["https_base_url"] == "https://127.0.0.1:9101"

    cert = load_certificate((merchant / "apiclient_cert.pem").read_bytes())
    assert on_disk["merchant_serial_no"] == f"{cert.serial_number:X}"
    assert re.fullmatch(r"[0-9A-F]+", on_disk["merchant_serial_no"])
    key = load_private_key((merchant / "apiclient_key.pem").read_bytes())
    assert rsa_verify(cert.public_key(), b"m", rsa_sign(key, b"m"))  # the pair matches
    p12 = (merchant / "apiclient_cert.p12").read_bytes()
    p12_key, p12_cert, _ = pkcs12.load_key_and_certificates(p12, b"1900000109")
    assert p12_cert == cert and p12_key is not None
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates((merchant / "apiclient_cert.p12").read_bytes(), b"wrong")

    ca = load_certificate((merchant / "simulator_ca.pem").read_bytes())
    assert _signed_by(cert, ca)
    https_cert = load_certificate((tmp_path / "simulator" / "https_cert.pem").read_bytes())
    assert _signed_by(https_cert, ca)
    names = https_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]

    # Every private key (and the secrets file) is readable by the owner only.
    simulator_private = ("ca_key.pem", "https_key.pem", "platform_key.pem", "wechatpay_private_key.pem", "account.json")
    private = [merchant / "apiclient_key.pem", merchant / "apiclient_cert.p12", merchant / "account.json",
               *(tmp_path / "simulator" / name for name in simulator_private)]
    assert len(private) == 8
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    sim_account = load_simulator_account(tmp_path)
    public_key = load_public_key((merchant / "wechatpay_public_key.pem").read_bytes())
    assert public_key.public_numbers() == sim_account["wechatpay_private_key"].public_key().public_numbers()
    platform = sim_account["platform_certificate"]
    assert sim_account["platform_serial_no"] == f"{platform.serial_number:X}"
    assert platform.not_valid_before_utc.timestamp() < time.time() < platform.not_valid_after_utc.timestamp()

    credentials = MerchantCredentials.from_bundle(merchant)
    assert credentials.merchant_serial_no == on_disk["merchant_serial_no"]
    assert (credentials.wechatpay_public_key_id is not None) == (mode == "public_key")
    # No secret leaks into the repr.
    assert on_disk["apiv3_key"] not in repr(credentials)


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    first = init_bundle(tmp_path)
    with pytest.raises(BundleExists, match="--force"):
        init_bundle(tmp_path)
    second = init_bundle(tmp_path, force=True)
    assert second["apiv3_key"] != first["apiv3_key"]


def test_init_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="verification"):
        init_bundle(tmp_path, verification="both")
    with pytest.raises(ValueError, match="mchid"):
        init_bundle(tmp_path, mchid="12ab")


def test_cli_init_and_help(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "b"
    result = runner.invoke(simulator, ["init", str(target), "--verification", "platform_certificate",
                                       "--mchid", "1230000109", "--port", "9200", "--https-port", "9201"])
    assert result.exit_code == 0, result.output
    assert "1230000109" in result.output
    account = json.loads((target / "merchant" / "account.json").read_text())
    assert account["verification"] == "platform_certificate"
    assert account["base_url"] == "http://127.0.0.1:9200"
    again = runner.invoke(simulator, ["init", str(target)])
    assert again.exit_code != 0
    assert "already holds a simulator bundle" in again.output and "Traceback" not in again.output
    bad = runner.invoke(simulator, ["init", str(tmp_path / "c"), "--mchid", "x"])
    assert bad.exit_code != 0 and "mchid" in bad.output
    serve_help = runner.invoke(simulator, ["serve", "--help"])
    assert serve_help.exit_code == 0
    for option in ("--host", "--port", "--https-port", "--time-scale", "--strict", "--seed"):
        assert option in serve_help.output
