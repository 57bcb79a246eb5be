"""Fixtures for the v3 protocol tests: the published wechatpay-go test key and certificate, contexts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.crypto import load_certificate, load_private_key
from weipay.sdk.operation import Context

VECTORS = Path(__file__).parent / "vectors"


@pytest.fixture(scope="session")
def go_key() -> RSAPrivateKey:
    """wechatpay-go's ``testPrivateKeyStr`` (core/auth/signers/sha256withrsa_signer_test.go)."""
    return load_private_key((VECTORS / "wechatpay_go_test_key.pem").read_bytes())


@pytest.fixture(scope="session")
def go_cert() -> x509.Certificate:
    """wechatpay-go's ``wechatPayCertificate`` (core/notify/notify_test.go), serial D7CE59D1F522D701."""
    return load_certificate((VECTORS / "wechatpay_go_test_cert.pem").read_bytes())


@pytest.fixture
def make_ctx(credentials: MerchantCredentials) -> Callable[..., Context]:
    """A Context with a frozen clock (``now``) and a fixed nonce."""

    def make(now: float = 1_700_000_000.0, creds: MerchantCredentials | None = None) -> Context:
        return Context(credentials=creds or credentials, clock=lambda: now, nonce=lambda: "N" * 32)

    return make


@pytest.fixture(scope="session")
def certificate_for() -> Callable[..., x509.Certificate]:
    """A self-signed certificate for ``private_key`` valid between two datetimes."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    def make(private_key: RSAPrivateKey, not_before: object, not_after: object) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "platform")])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)  # type: ignore[arg-type]
            .not_valid_after(not_after)  # type: ignore[arg-type]
            .sign(private_key, hashes.SHA256())
        )

    return make
