"""Verification of WeChat's signed responses and notifications (API v3).

A :class:`Verifier` holds the keys a merchant trusts, indexed by ``Wechatpay-Serial``: the WeChat Pay
public key (``PUB_KEY_ID_…``) and/or platform certificates (upper-case hex serials). Both may be present
during the migration between the two modes. Checks, in order: headers present and well-formed,
signature type, timestamp within the window, key known, signature valid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ..clock import Clock, system_clock
from ..crypto import certificate_serial, rsa_verify
from ..errors import ConfigurationError, SignatureError, SignTestProbe
from .signing import SCHEME, response_message

__all__ = [
    "SIGNTEST_PREFIX",
    "TIMESTAMP_WINDOW_S",
    "SignedHeaders",
    "UnknownSerial",
    "Verifier",
    "is_valid_serial",
]

TIMESTAMP_WINDOW_S = 300
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SERIAL = re.compile(r"PUB_KEY_ID_[0-9A-Za-z_]{1,64}|[0-9A-Fa-f]{1,64}")


def is_valid_serial(serial: str) -> bool:
    """True for a hex certificate serial or a ``PUB_KEY_ID_…`` id; everything else is junk."""
    return _SERIAL.fullmatch(serial) is not None


class UnknownSerial(SignatureError):
    """``Wechatpay-Serial`` is well-formed but names no key we hold (maybe a new platform cert)."""

    def __init__(self, serial: str) -> None:
        super().__init__("unknown Wechatpay-Serial")
        self.serial = serial


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """The ``Wechatpay-*`` headers of one response or notification."""

    timestamp: str
    nonce: str
    signature: str
    serial: str
    signature_type: str = SCHEME
    request_id: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> SignedHeaders:
        """Read the headers (case-insensitively); a missing one is a :class:`SignatureError`."""
        lowered = {name.lower(): value for name, value in headers.items()}
        try:
            return cls(
                timestamp=lowered["wechatpay-timestamp"],
                nonce=lowered["wechatpay-nonce"],
                signature=lowered["wechatpay-signature"],
                serial=lowered["wechatpay-serial"],
                # A missing type is refused rather than assumed: WeChat always sends it, forgers may not.
                signature_type=lowered["wechatpay-signature-type"],
                request_id=lowered.get("request-id"),
            )
        except KeyError as exc:
            raise SignatureError(f"missing header {exc.args[0]}") from None


@dataclass(frozen=True, slots=True)
class _TrustedKey:
    key: RSAPublicKey
    not_before: float | None = None
    not_after: float | None = None


class Verifier:
    """The set of WeChat keys a merchant trusts, and the one way to check a signed message."""

    def __init__(self, *, clock: Clock = system_clock, window_s: int = TIMESTAMP_WINDOW_S) -> None:
        self._keys: dict[str, _TrustedKey] = {}
        self._clock = clock
        self._window_s = window_s

    def add_public_key(self, key_id: str, public_key: RSAPublicKey) -> None:
        """Trust the WeChat Pay public key ``key_id`` (``PUB_KEY_ID_…``).

        A hex ``key_id`` is also accepted: it trusts a bare platform key under its certificate serial
        without a validity window (wechatpayv3's public-key mode allows the same; test vectors use it).
        """
        if not is_valid_serial(key_id):
            raise ConfigurationError("WeChat Pay public key id must look like PUB_KEY_ID_…")
        self._keys[key_id] = _TrustedKey(public_key)

    def add_certificate(self, certificate: x509.Certificate) -> str:
        """Trust a platform certificate during its validity; returns its serial."""
        public_key = certificate.public_key()
        if not isinstance(public_key, RSAPublicKey):
            raise ConfigurationError("platform certificate is not RSA")
        serial = certificate_serial(certificate)
        self._keys[serial] = _TrustedKey(
            public_key,
            certificate.not_valid_before_utc.timestamp(),
            certificate.not_valid_after_utc.timestamp(),
        )
        return serial

    def add_certificates(self, certificates: Iterable[x509.Certificate]) -> None:
        """Trust several platform certificates (old and new overlap during rotation)."""
        for certificate in certificates:
            self.add_certificate(certificate)

    def serials(self) -> list[str]:
        """Every serial or key id currently trusted."""
        return sorted(self._keys)

    def certificate_expiries(self) -> list[float]:
        """Expiry times (Unix s) of the trusted platform certificates."""
        return [key.not_after for key in self._keys.values() if key.not_after is not None]

    def knows(self, serial: str) -> bool:
        """True when ``serial`` names a trusted key (valid now, for certificates)."""
        return self._usable(serial) is not None

    def preferred_serial(self) -> str | None:
        """The serial to send as ``Wechatpay-Serial``: the public key id if held, else the newest cert."""
        for serial in self._keys:
            if serial.startswith("PUB_KEY_ID_"):
                return serial
        usable = [s for s in self._keys if self._usable(s) is not None]
        if not usable:
            return None
        return max(usable, key=lambda s: self._keys[s].not_after or 0.0)

    def public_key(self, serial: str) -> RSAPublicKey:
        """The trusted key for ``serial`` (for RSA-OAEP encryption of sensitive fields)."""
        trusted = self._usable(serial)
        if trusted is None:
            raise UnknownSerial(serial)
        return trusted.key

    def _usable(self, serial: str) -> _TrustedKey | None:
        trusted = self._keys.get(serial) or self._keys.get(serial.upper())
        if trusted is None:
            return None
        now = self._clock()
        if trusted.not_before is not None and now < trusted.not_before:
            return None
        if trusted.not_after is not None and now > trusted.not_after:
            return None
        return trusted

    def verify(self, headers: SignedHeaders, body: bytes) -> None:
        """Raise :class:`SignatureError` unless ``body`` carries WeChat's valid, fresh signature."""
        if headers.signature.startswith(SIGNTEST_PREFIX):
            raise SignTestProbe("WeChat signature probe (WECHATPAY/SIGNTEST/) rejected")
        if headers.signature_type != SCHEME:
            raise SignatureError("unsupported Wechatpay-Signature-Type")
        if not is_valid_serial(headers.serial):
            raise SignatureError("malformed Wechatpay-Serial")
        if _TIMESTAMP.fullmatch(headers.timestamp) is None:
            raise SignatureError("malformed Wechatpay-Timestamp")
        timestamp = int(headers.timestamp)
        if abs(self._clock() - timestamp) >= self._window_s:
            raise SignatureError("Wechatpay-Timestamp outside the 5-minute window")
        trusted = self._usable(headers.serial)
        if trusted is None:
            raise UnknownSerial(headers.serial)
        message = response_message(headers.timestamp, headers.nonce, body)
        if not rsa_verify(trusted.key, message, headers.signature):
            raise SignatureError("signature does not verify")


def parse_rfc3339(text: str) -> float:
    """Unix time of an RFC 3339 timestamp such as ``2018-06-08T10:34:56+08:00``."""
    return datetime.fromisoformat(text).timestamp()
