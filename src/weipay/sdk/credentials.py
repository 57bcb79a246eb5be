"""A merchant's identity and secrets, loaded once, never printed.

:class:`MerchantCredentials` is a plain value handed to clients; the SDK never reads the environment.
Its ``repr`` names the merchant and which secrets are present, never their values.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import pkcs12

from .crypto import load_certificate, load_private_key, load_public_key
from .errors import ConfigurationError

__all__ = ["ClientCertificate", "MerchantCredentials"]


@dataclass(frozen=True, slots=True, repr=False)
class ClientCertificate:
    """The merchant API certificate for v2 mutual TLS, as PEM files on disk."""

    cert_path: Path
    key_path: Path

    def __repr__(self) -> str:
        return f"ClientCertificate(cert_path={str(self.cert_path)!r}, key=<redacted>)"

    def as_httpx_cert(self) -> tuple[str, str]:
        """The ``(cert, key)`` pair httpx takes."""
        return (str(self.cert_path), str(self.key_path))

    @classmethod
    def from_pkcs12(cls, p12_path: Path, password: str, out_dir: Path) -> ClientCertificate:
        """Unpack ``apiclient_cert.p12`` (password = mchid) into a PEM pair with mode 0600."""
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        try:
            key, cert, _ = pkcs12.load_key_and_certificates(p12_path.read_bytes(), password.encode())
        except (ValueError, OSError) as exc:
            raise ConfigurationError(f"cannot open PKCS#12 {p12_path.name} (password is the mchid)") from exc
        if key is None or cert is None:
            raise ConfigurationError(f"{p12_path.name} holds no key/certificate pair")
        out_dir.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = out_dir / "client_cert.pem", out_dir / "client_key.pem"
        cert_path.write_bytes(cert.public_bytes(Encoding.PEM))
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        return cls(cert_path, key_path)


@dataclass(frozen=True, slots=True, repr=False)
class MerchantCredentials:
    """Everything a merchant holds to talk to WeChat Pay.

    Only ``mchid`` is always required; each API checks for the secrets it needs and raises
    :class:`ConfigurationError` naming the missing one.
    """

    mchid: str
    appids: dict[str, str] = field(default_factory=dict)
    api_v2_key: str | None = None
    api_v3_key: str | None = None
    private_key: RSAPrivateKey | None = None
    merchant_serial_no: str | None = None
    wechatpay_public_key: RSAPublicKey | None = None
    wechatpay_public_key_id: str | None = None
    client_certificate: ClientCertificate | None = None
    app_secrets: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.mchid or not self.mchid.isdigit():
            raise ConfigurationError("mchid must be the merchant's digits")
        if self.api_v3_key is not None and len(self.api_v3_key.encode()) != 32:
            raise ConfigurationError("api_v3_key must be 32 bytes")
        if (self.wechatpay_public_key is None) != (self.wechatpay_public_key_id is None):
            raise ConfigurationError("wechatpay_public_key and wechatpay_public_key_id go together")

    def __repr__(self) -> str:
        held = [
            name
            for name in ("api_v2_key", "api_v3_key", "private_key", "wechatpay_public_key", "client_certificate")
            if getattr(self, name) is not None
        ]
        return f"MerchantCredentials(mchid={self.mchid!r}, appids={self.appids!r}, secrets=<{','.join(held)}>)"

    __str__ = __repr__

    def require_v2_key(self) -> str:
        """The APIv2 key, or a clear error."""
        if not self.api_v2_key:
            raise ConfigurationError(f"merchant {self.mchid} has no api_v2_key")
        return self.api_v2_key

    def require_v3_key(self) -> bytes:
        """The APIv3 key as bytes, or a clear error."""
        if not self.api_v3_key:
            raise ConfigurationError(f"merchant {self.mchid} has no api_v3_key")
        return self.api_v3_key.encode()

    def require_signer(self) -> tuple[RSAPrivateKey, str]:
        """The merchant private key and certificate serial used to sign v3 requests."""
        if self.private_key is None or not self.merchant_serial_no:
            raise ConfigurationError(f"merchant {self.mchid} has no private key / merchant_serial_no")
        return self.private_key, self.merchant_serial_no

    def appid(self, kind: str) -> str:
        """The appid for ``kind`` (miniprogram, app, official_account), or a clear error."""
        try:
            return self.appids[kind]
        except KeyError:
            raise ConfigurationError(f"merchant {self.mchid} has no appid for {kind!r}") from None

    @classmethod
    def from_files(
        cls,
        *,
        mchid: str,
        appids: dict[str, str] | None = None,
        api_v2_key: str | None = None,
        api_v3_key: str | None = None,
        private_key_path: Path | None = None,
        merchant_serial_no: str | None = None,
        merchant_cert_path: Path | None = None,
        wechatpay_public_key_path: Path | None = None,
        wechatpay_public_key_id: str | None = None,
        app_secrets: dict[str, str] | None = None,
        strict_permissions: bool = False,
    ) -> MerchantCredentials:
        """Load keys from PEM files. The serial is read from the merchant certificate when not given.

        With ``strict_permissions`` a private key readable by group or others is refused.
        """
        private_key = None
        if private_key_path is not None:
            _check_readable(private_key_path, strict_permissions)
            private_key = load_private_key(private_key_path.read_bytes())
        if merchant_serial_no is None and merchant_cert_path is not None:
            merchant_serial_no = f"{load_certificate(_read(merchant_cert_path)).serial_number:X}"
        client_certificate = None
        if private_key_path is not None and merchant_cert_path is not None:
            client_certificate = ClientCertificate(merchant_cert_path, private_key_path)
        public_key = None
        if wechatpay_public_key_path is not None:
            public_key = load_public_key(_read(wechatpay_public_key_path))
        return cls(
            mchid=mchid,
            appids=dict(appids or {}),
            api_v2_key=api_v2_key,
            api_v3_key=api_v3_key,
            private_key=private_key,
            merchant_serial_no=merchant_serial_no,
            wechatpay_public_key=public_key,
            wechatpay_public_key_id=wechatpay_public_key_id if public_key is not None else None,
            client_certificate=client_certificate,
            app_secrets=dict(app_secrets or {}),
        )

    @classmethod
    def from_bundle(cls, merchant_dir: Path) -> MerchantCredentials:
        """Load a simulator merchant bundle (``DIR/merchant``: account.json and the PEM files)."""
        account = _read_account(merchant_dir / "account.json")
        public_key_path = merchant_dir / "wechatpay_public_key.pem"
        use_public_key = account.get("verification", "public_key") == "public_key"
        return cls.from_files(
            mchid=str(account["mchid"]),
            appids=dict(account.get("appids", {})),
            api_v2_key=account.get("apiv2_key"),
            api_v3_key=account.get("apiv3_key"),
            private_key_path=merchant_dir / "apiclient_key.pem",
            merchant_serial_no=account.get("merchant_serial_no"),
            merchant_cert_path=merchant_dir / "apiclient_cert.pem",
            wechatpay_public_key_path=public_key_path if use_public_key else None,
            wechatpay_public_key_id=account.get("wechatpay_public_key_id") if use_public_key else None,
            app_secrets=dict(account.get("app_secrets", {})),
        )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None


def _check_readable(path: Path, strict: bool) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    if strict and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"{path} is readable by others: chmod 600 {path}")


def _read_account(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_read(path))
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict) or "mchid" not in data:
        raise ConfigurationError(f"{path} must be an object with at least 'mchid'")
    return data
