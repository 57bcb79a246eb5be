"""The merchant bundle ``weipay simulator init DIR`` writes: what a merchant would receive from WeChat Pay.

Layout (the contract in ARCHITECTURE.md)::

    DIR/merchant/account.json, apiclient_key.pem, apiclient_cert.pem, apiclient_cert.p12 (password = mchid),
                 wechatpay_public_key.pem, simulator_ca.pem
    DIR/simulator/  the simulator's own keys (CA, HTTPS, WeChat Pay key, platform certificate) and state

The simulator reads only ``DIR/simulator``; ``DIR/simulator/account.json`` is its copy of the merchant's
account with the extra secrets WeChat holds (platform serial, the simulator's token secret).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import os
import secrets
import shutil
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from weipay.sdk.crypto import load_certificate, load_private_key, load_public_key

__all__ = [
    "APPID_KINDS",
    "VERIFICATION_MODES",
    "BundleExists",
    "BundlePaths",
    "init_bundle",
    "load_simulator_account",
]

VERIFICATION_MODES = ("public_key", "platform_certificate")
APPID_KINDS = ("miniprogram", "app", "official_account")
_ALNUM = string.ascii_letters + string.digits


class BundleExists(Exception):
    """``init`` was asked to write over an existing bundle without ``force``."""


@dataclass(frozen=True)
class BundlePaths:
    """Where every file of a bundle lives."""

    root: Path

    @property
    def merchant(self) -> Path:
        """``DIR/merchant``: the merchant's files."""
        return self.root / "merchant"

    @property
    def simulator(self) -> Path:
        """``DIR/simulator``: the simulator's keys and state."""
        return self.root / "simulator"

    @property
    def ledger(self) -> Path:
        """The SQLite ledger."""
        return self.simulator / "ledger.sqlite3"

    @property
    def https_cert(self) -> Path:
        """The HTTPS server certificate (127.0.0.1 / localhost), signed by the simulator CA."""
        return self.simulator / "https_cert.pem"

    @property
    def https_key(self) -> Path:
        """The HTTPS server key."""
        return self.simulator / "https_key.pem"

    @property
    def ca_cert(self) -> Path:
        """The simulator CA (also ``merchant/simulator_ca.pem``)."""
        return self.simulator / "ca_cert.pem"


def _new_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "weipay simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _issue(
    subject: str,
    key: RSAPrivateKey,
    *,
    issuer: tuple[x509.Certificate, RSAPrivateKey] | None,
    days: int,
    ca: bool = False,
    server_names: tuple[str, ...] = (),
    client: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    issuer_name = issuer[0].subject if issuer else _name(subject)
    signing_key = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False
        )
    if server_names:
        alt: list[x509.GeneralName] = []
        for name in server_names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if client:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _key_pem(key: RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(path, 0o600)
    else:
        path.write_bytes(data)


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def init_bundle(
    directory: Path,
    *,
    verification: str = "public_key",
    mchid: str | None = None,
    port: int = 8900,
    https_port: int = 8901,
    force: bool = False,
) -> dict[str, Any]:
    """Write a complete merchant bundle under ``directory`` and return the merchant's account.json.

    Raises :class:`BundleExists` when a bundle is already there and ``force`` is false, and
    :class:`ValueError` for a bad verification mode or mchid.
    """
    if verification not in VERIFICATION_MODES:
        raise ValueError(f"verification must be one of {', '.join(VERIFICATION_MODES)}")
    mchid = mchid or "19" + _random(string.digits, 8)
    if not mchid.isdigit() or not 8 <= len(mchid) <= 10:
        raise ValueError("mchid must be 8 to 10 digits")
    paths = BundlePaths(Path(directory))
    if (paths.merchant / "account.json").exists() or (paths.simulator / "account.json").exists():
        if not force:
            raise BundleExists(
                f"{paths.root} already holds a simulator bundle; pass --force to replace it "
                "(this discards its keys and every order in its ledger)"
            )
        shutil.rmtree(paths.merchant, ignore_errors=True)
        shutil.rmtree(paths.simulator, ignore_errors=True)

    ca_key = _new_key()
    ca_cert = _issue("weipay simulator CA", ca_key, issuer=None, days=3650, ca=True)
    https_key = _new_key()
    https_cert = _issue(
        "127.0.0.1", https_key, issuer=(ca_cert, ca_key), days=825, server_names=("127.0.0.1", "localhost", "::1")
    )
    merchant_key = _new_key()
    merchant_cert = _issue(f"{mchid} merchant API certificate", merchant_key, issuer=(ca_cert, ca_key), days=1825,
                           client=True)
    wechatpay_key = _new_key()
    platform_key = _new_key()
    platform_cert = _issue("Tenpay.com platform certificate", platform_key, issuer=(ca_cert, ca_key), days=1825)

    merchant_serial_no = f"{merchant_cert.serial_number:X}"
    public_key_id = "PUB_KEY_ID_" + "00000000" + mchid.zfill(16) + _random(string.digits, 10)
    appids = {kind: "wx" + secrets.token_hex(8) for kind in APPID_KINDS}
    account: dict[str, Any] = {
        "mchid": mchid,
        "appids": appids,
        "app_secrets": {kind: secrets.token_hex(16) for kind in APPID_KINDS},
        "apiv2_key": _random(_ALNUM, 32),
        "apiv3_key": _random(_ALNUM, 32),
        "merchant_serial_no": merchant_serial_no,
        "wechatpay_public_key_id": public_key_id,
        "verification": verification,
        "base_url": f"http://127.0.0.1:{port}",
        "https_base_url": f"https://127.0.0.1:{https_port}",
    }
    public_pem = wechatpay_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    p12 = pkcs12.serialize_key_and_certificates(
        b"apiclient", merchant_key, merchant_cert, None,
        serialization.BestAvailableEncryption(mchid.encode()),
    )

    m, s = paths.merchant, paths.simulator
    _write(m / "apiclient_key.pem", _key_pem(merchant_key), private=True)
    _write(m / "apiclient_cert.pem", _cert_pem(merchant_cert))
    _write(m / "apiclient_cert.p12", p12, private=True)
    _write(m / "wechatpay_public_key.pem", public_pem)
    _write(m / "simulator_ca.pem", _cert_pem(ca_cert))

    _write(s / "ca_key.pem", _key_pem(ca_key), private=True)
    _write(s / "ca_cert.pem", _cert_pem(ca_cert))
    _write(s / "https_key.pem", _key_pem(https_key), private=True)
    _write(s / "https_cert.pem", _cert_pem(https_cert))
    _write(s / "wechatpay_private_key.pem", _key_pem(wechatpay_key), private=True)
    _write(s / "wechatpay_public_key.pem", public_pem)
    _write(s / "platform_key.pem", _key_pem(platform_key), private=True)
    _write(s / "platform_cert.pem", _cert_pem(platform_cert))
    _write(s / "merchant_cert.pem", _cert_pem(merchant_cert))
    simulator_account = dict(account, platform_serial_no=f"{platform_cert.serial_number:X}",
                             token_secret=secrets.token_hex(32))
    _write(s / "account.json", json.dumps(simulator_account, indent=2).encode(), private=True)
    # Written last: its presence marks a complete bundle.
    _write(m / "account.json", (json.dumps(account, indent=2, ensure_ascii=False) + "\n").encode(), private=True)
    return account


@functools.lru_cache(maxsize=64)
def _private_key(pem: bytes) -> RSAPrivateKey:
    # Loading checks the RSA key, which is slow; the same bundle is loaded on every restart and in every test.
    return load_private_key(pem)


def load_simulator_account(directory: Path) -> dict[str, Any]:
    """The simulator's view of the account: account.json fields plus loaded keys.

    Extra keys: ``merchant_certificate``, ``merchant_public_key``, ``wechatpay_private_key``,
    ``wechatpay_public_key``, ``platform_private_key``, ``platform_certificate``, ``platform_serial_no``,
    ``token_secret`` (bytes).
    """
    paths = BundlePaths(Path(directory))
    account_path = paths.simulator / "account.json"
    if not account_path.exists():
        raise FileNotFoundError(f"{paths.root} is not a simulator bundle: run `weipay simulator init {paths.root}`")
    account: dict[str, Any] = json.loads(account_path.read_text())
    s = paths.simulator
    merchant_certificate = load_certificate((s / "merchant_cert.pem").read_bytes())
    account.update(
        merchant_certificate=merchant_certificate,
        merchant_public_key=load_public_key((s / "merchant_cert.pem").read_bytes()),
        wechatpay_private_key=_private_key((s / "wechatpay_private_key.pem").read_bytes()),
        wechatpay_public_key=load_public_key((s / "wechatpay_public_key.pem").read_bytes()),
        platform_private_key=_private_key((s / "platform_key.pem").read_bytes()),
        platform_certificate=load_certificate((s / "platform_cert.pem").read_bytes()),
        token_secret=bytes.fromhex(account["token_secret"]),
    )
    return account
