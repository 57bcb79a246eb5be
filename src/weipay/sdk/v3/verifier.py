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
_SERIAL = re.compile(r"PUB_KEY_ID_[0-9A-Za-z_]{1,64}|[0-9A-Fa-f]{1,64}")
# (lower-case, canonical) spellings: frameworks hand over one or the other, so two dict look-ups
# usually find a header without lower-casing every name the request carried.
_TIMESTAMP_HEADER = ("wechatpay-timestamp", "Wechatpay-Timestamp")
_NONCE_HEADER = ("wechatpay-nonce", "Wechatpay-Nonce")
_SIGNATURE_HEADER = ("wechatpay-signature", "Wechatpay-Signature")
_SERIAL_HEADER = ("wechatpay-serial", "Wechatpay-Serial")
_SIGNATURE_TYPE_HEADER = ("wechatpay-signature-type", "Wechatpay-Signature-Type")
_REQUEST_ID_HEADER = ("request-id", "Request-ID")


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
        timestamp, nonce, signature, serial, signature_type = _signed_values(headers)
        return cls(timestamp, nonce, signature, serial, signature_type, _header(headers, _REQUEST_ID_HEADER))


def _header(headers: Mapping[str, str], spellings: tuple[str, str]) -> str | None:
    lower, canonical = spellings
    value = headers.get(lower)
    if value is None:
        value = headers.get(canonical)
        if value is None:
            # Any other spelling ("WECHATPAY-SERIAL"): fall back to a case-insensitive scan.
            for name, candidate in headers.items():
                if name.lower() == lower:
                    value = candidate
    return value


def _required(headers: Mapping[str, str], spellings: tuple[str, str]) -> str:
    value = _header(headers, spellings)
    if value is None:
        raise SignatureError(f"missing header {spellings[0]}")
    return value


def _signed_values(headers: Mapping[str, str]) -> tuple[str, str, str, str, str]:
    """``(timestamp, nonce, signature, serial, signature_type)``; a missing one is a SignatureError."""
    get = headers.get
    # The spelling of the first header picks the rest: WeChat's canonical one (also what every
    # case-insensitive mapping answers to) or the lower case frameworks turn it into.
    timestamp = get("Wechatpay-Timestamp")
    if timestamp is not None:
        nonce, signature = get("Wechatpay-Nonce"), get("Wechatpay-Signature")
        serial, signature_type = get("Wechatpay-Serial"), get("Wechatpay-Signature-Type")
    else:
        timestamp, nonce, signature = get("wechatpay-timestamp"), get("wechatpay-nonce"), get("wechatpay-signature")
        serial, signature_type = get("wechatpay-serial"), get("wechatpay-signature-type")
    if timestamp is None or nonce is None or signature is None or serial is None or signature_type is None:
        return (
            _required(headers, _TIMESTAMP_HEADER),
            _required(headers, _NONCE_HEADER),
            _required(headers, _SIGNATURE_HEADER),
            _required(headers, _SERIAL_HEADER),
            # A missing type is refused rather than assumed: WeChat always sends it, forgers may not.
            _required(headers, _SIGNATURE_TYPE_HEADER),
        )
    return timestamp, nonce, signature, serial, signature_type


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
        return list(self.certificate_validity().values())

    def certificate_validity(self) -> dict[str, float]:
        """Serial → expiry time (Unix s) of each trusted platform certificate (public keys never expire)."""
        return {serial: key.not_after for serial, key in self._keys.items() if key.not_after is not None}

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

    def _usable(self, serial: str, now: float | None = None) -> _TrustedKey | None:
        trusted = self._keys.get(serial) or self._keys.get(serial.upper())
        if trusted is None:
            return None
        if trusted.not_before is None and trusted.not_after is None:
            return trusted  # a public key has no validity window: no need to read the clock
        if now is None:
            now = self._clock()
        if trusted.not_before is not None and now < trusted.not_before:
            return None
        if trusted.not_after is not None and now > trusted.not_after:
            return None
        return trusted

    def verify(self, headers: SignedHeaders, body: bytes) -> None:
        """Raise :class:`SignatureError` unless ``body`` carries WeChat's valid, fresh signature."""
        self._verify(headers.timestamp, headers.nonce, headers.signature, headers.serial, headers.signature_type, body)

    def verify_headers(self, headers: Mapping[str, str], body: bytes) -> None:
        """:meth:`verify` straight from the ``Wechatpay-*`` headers (any case), as a notification arrives."""
        self._verify(*_signed_values(headers), body)

    def _verify(
        self, timestamp: str, nonce: str, signature: str, serial: str, signature_type: str, body: bytes
    ) -> None:
        if signature.startswith(SIGNTEST_PREFIX):
            raise SignTestProbe("WeChat signature probe (WECHATPAY/SIGNTEST/) rejected")
        if signature_type != SCHEME:
            raise SignatureError("unsupported Wechatpay-Signature-Type")
        # Every trusted serial was checked when it was added, so only an unknown one needs the pattern.
        if serial not in self._keys and not is_valid_serial(serial):
            raise SignatureError("malformed Wechatpay-Serial")
        # isascii() and isdigit() together are exactly [0-9]+ (isdigit alone takes other scripts' digits).
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise SignatureError("malformed Wechatpay-Timestamp")
        now = self._clock()
        if abs(now - int(timestamp)) >= self._window_s:
            raise SignatureError("Wechatpay-Timestamp outside the 5-minute window")
        trusted = self._usable(serial, now)
        if trusted is None:
            raise UnknownSerial(serial)
        message = response_message(timestamp, nonce, body)
        if not rsa_verify(trusted.key, message, signature):
            raise SignatureError("signature does not verify")


def parse_rfc3339(text: str) -> float:
    """Unix time of an RFC 3339 timestamp such as ``2018-06-08T10:34:56+08:00``."""
    return datetime.fromisoformat(text).timestamp()
