"""Keys and credentials for SDK tests: generated once per session, never real."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID

from weipay.sdk.credentials import MerchantCredentials

MCHID = "1230000109"
APPIDS = {"miniprogram": "wxd678efh567hg6787", "app": "wx8888888888888888", "official_account": "wxd930ea5d5a258f4f"}
API_V2_KEY = "192006250b4c09247ec02edce69f6a2d"
API_V3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"


@dataclass(frozen=True)
class KeyPair:
    """An RSA key with a self-signed certificate (its serial is WeChat-style upper hex)."""

    private_key: RSAPrivateKey
    certificate: x509.Certificate

    @property
    def serial(self) -> str:
        return f"{self.certificate.serial_number:X}"


def make_key_pair(common_name: str, *, days_valid: int = 3650, not_before_days: int = -1) -> KeyPair:
    """A fresh RSA-2048 key and a self-signed certificate valid from ``not_before_days``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=not_before_days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days_valid))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(key, cert)


@pytest.fixture(scope="session")
def merchant_keys() -> KeyPair:
    """The merchant's API key pair (signs v3 requests, client certificate for v2 mTLS)."""
    return make_key_pair("1230000109 merchant")


@pytest.fixture(scope="session")
def wechatpay_keys() -> KeyPair:
    """WeChat Pay's key pair: its public key is the 'WeChat Pay public key' and the platform cert."""
    return make_key_pair("Tenpay.com Root CA platform")


@pytest.fixture(scope="session")
def credentials(merchant_keys: KeyPair, wechatpay_keys: KeyPair) -> MerchantCredentials:
    """A merchant in public-key verification mode with every secret present."""
    return MerchantCredentials(
        mchid=MCHID,
        appids=dict(APPIDS),
        api_v2_key=API_V2_KEY,
        api_v3_key=API_V3_KEY,
        private_key=merchant_keys.private_key,
        merchant_serial_no=merchant_keys.serial,
        wechatpay_public_key=wechatpay_keys.private_key.public_key(),
        wechatpay_public_key_id=PUBLIC_KEY_ID,
    )
