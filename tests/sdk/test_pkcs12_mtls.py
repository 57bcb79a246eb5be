"""The v2 refund over real mutual TLS with the client certificate unpacked from ``apiclient_cert.p12``.

The simulator's HTTPS port completes the handshake only with a certificate its CA signed, so a refund that
succeeds here proves the PKCS#12 pair (password = mchid) reached the TLS layer intact.
"""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from weipay.sdk import Client, ConfigurationError, MerchantCredentials
from weipay.sdk.credentials import ClientCertificate
from weipay.sdk.v2.orders import UnifiedOrder
from weipay.sdk.v2.refunds import Refund
from weipay.simulator import init_bundle
from weipay.simulator.core import Simulator
from weipay.simulator.server import start_in_thread


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bundle")
    init_bundle(directory, verification="public_key", port=0, https_port=0)
    return directory


def test_unpacked_pair_is_private_and_matches_the_pem_files(bundle: Path, tmp_path: Path) -> None:
    merchant = bundle / "merchant"
    mchid = MerchantCredentials.from_bundle(merchant).mchid
    pair = ClientCertificate.from_pkcs12(merchant / "apiclient_cert.p12", mchid, tmp_path / "tls")
    assert stat.S_IMODE(pair.key_path.stat().st_mode) == 0o600
    assert pair.cert_path.read_bytes() == (merchant / "apiclient_cert.pem").read_bytes()
    assert "PRIVATE KEY" not in repr(pair) and "redacted" in repr(pair)


def test_wrong_password_is_a_configuration_error_that_says_what_to_fix(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="password is the mchid"):
        ClientCertificate.from_pkcs12(bundle / "merchant" / "apiclient_cert.p12", "not-the-mchid", tmp_path)


@pytest.fixture
def server(bundle: Path) -> Iterator[object]:
    sim = Simulator(bundle)
    running = start_in_thread(sim)
    try:
        yield running
    finally:
        running.stop()
        sim.close()


def test_refund_over_mutual_tls_with_the_pkcs12_pair(bundle: Path, server: object, tmp_path: Path) -> None:
    merchant = bundle / "merchant"
    from_pem = MerchantCredentials.from_bundle(merchant)
    pair = ClientCertificate.from_pkcs12(merchant / "apiclient_cert.p12", from_pem.mchid, tmp_path / "tls")
    credentials = dataclasses.replace(from_pem, client_certificate=pair)
    appid = credentials.appid("miniprogram")
    base_url, https_base_url = server.base_url, server.https_base_url  # type: ignore[attr-defined]
    with Client(credentials, base_url=base_url, secure_base_url=https_base_url,
                verify_tls=str(merchant / "simulator_ca.pem")) as client:
        client.call(UnifiedOrder(
            trade_type="NATIVE", appid=appid, body="mTLS 测试", out_trade_no="P12MTLS0001", total_fee_fen=300,
            spbill_create_ip="127.0.0.1", notify_url="http://127.0.0.1:9/notify",
        ))
        paid = httpx.post(f"{base_url}/simulator/payments",
                          json={"mchid": credentials.mchid, "out_trade_no": "P12MTLS0001", "outcome": "success"})
        assert paid.json()["trade_state"] == "SUCCESS"
        accepted = client.call(Refund(appid=appid, out_refund_no="P12R0001", total_fee_fen=300, refund_fee_fen=120,
                                      out_trade_no="P12MTLS0001"))
    assert accepted.out_refund_no == "P12R0001" and accepted.refund_fee_fen == 120

    # Without a client certificate the SDK refuses to send the refund at all.
    bare = dataclasses.replace(from_pem, client_certificate=None)
    with Client(bare, base_url=base_url, secure_base_url=https_base_url,
                verify_tls=str(merchant / "simulator_ca.pem")) as client, \
            pytest.raises(ConfigurationError, match="no client certificate"):
        client.call(Refund(appid=appid, out_refund_no="P12R0002", total_fee_fen=300, refund_fee_fen=100,
                           out_trade_no="P12MTLS0001"))
