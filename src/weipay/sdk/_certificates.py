"""When to download WeChat Pay platform certificates, and how to read the download. No I/O.

In certificate mode the merchant learns WeChat's signing keys from ``GET /v3/certificates``. Two
events trigger a download:

* **reactive**: a response or notification names a ``Wechatpay-Serial`` we do not hold (WeChat
  rotated its certificate);
* **proactive**: we hold no usable certificate, or the newest one expires within
  :data:`REFRESH_BEFORE_EXPIRY_S` (12 h: long enough for a daily job to notice, short compared with
  the 5-year validity and the days-long overlap WeChat gives during rotation).

Either way at most one download runs at a time (single flight) and at most one starts per
:data:`MIN_REFRESH_INTERVAL_S` (5 min), whatever the number of unknown serials an attacker sends
(RELIABILITY T17). Downloaded certificates are added, never swapped in, so old and new are both
accepted during rotation until the old one expires.
"""

from __future__ import annotations

import json
import threading
from enum import Enum

from cryptography import x509

from .crypto import aes_gcm_decrypt, certificate_serial, load_certificate
from .errors import ProtocolError, WeChatPayError
from .v3.verifier import Verifier

__all__ = ["MIN_REFRESH_INTERVAL_S", "REFRESH_BEFORE_EXPIRY_S", "Admission", "RefreshGate", "read_certificates"]

MIN_REFRESH_INTERVAL_S = 300.0
REFRESH_BEFORE_EXPIRY_S = 12 * 3600.0


class Admission(Enum):
    """The gate's answer to "may I download now?"."""

    GO = "go"  # you are the one download; call finish() when done
    WAIT = "wait"  # another download is running; wait for it, then re-check
    DENIED = "denied"  # a download started less than MIN_REFRESH_INTERVAL_S ago


class RefreshGate:
    """Single-flight, rate-limited admission to certificate downloads, shared by threads and tasks.

    The lock is held only for a few assignments, never across I/O, so it is safe inside an event loop.
    """

    def __init__(self, *, min_interval_s: float = MIN_REFRESH_INTERVAL_S) -> None:
        self._lock = threading.Lock()
        self._min_interval_s = min_interval_s
        self._started_at: float | None = None
        self._in_flight = False
        self.downloads_started = 0

    @property
    def in_flight(self) -> bool:
        """True while a download runs."""
        return self._in_flight

    def admit(self, now: float) -> Admission:
        """Claim the next download, or say why not."""
        with self._lock:
            if self._in_flight:
                return Admission.WAIT
            if self._started_at is not None and now - self._started_at < self._min_interval_s:
                return Admission.DENIED
            self._in_flight = True
            self._started_at = now
            self.downloads_started += 1
            return Admission.GO

    def finish(self) -> None:
        """Release the claim taken by a :attr:`Admission.GO`."""
        with self._lock:
            self._in_flight = False


def refresh_due(verifier: Verifier, now: float) -> bool:
    """True when no certificate is usable or the newest one expires within the refresh margin."""
    if verifier.preferred_serial() is None:
        return True
    expiries = verifier.certificate_expiries()
    return bool(expiries) and max(expiries) - now < REFRESH_BEFORE_EXPIRY_S


def read_certificates(body: bytes, api_v3_key: bytes, now: float) -> list[x509.Certificate]:
    """Decrypt the certificates of a ``/v3/certificates`` answer that are valid at ``now``.

    Entries whose declared ``serial_no`` differs from the decrypted certificate's are refused, like
    malformed entries; an answer with no usable entry is a :class:`ProtocolError`.
    """
    try:
        entries = json.loads(body)["data"]
    except (ValueError, KeyError, TypeError):
        raise ProtocolError("certificate download is not {'data': [...]}") from None
    if not isinstance(entries, list):
        raise ProtocolError("certificate download 'data' is not a list")
    certificates = []
    for entry in entries:
        certificate = _read_entry(entry, api_v3_key)
        if certificate is None:
            continue
        valid_from = certificate.not_valid_before_utc.timestamp()
        valid_until = certificate.not_valid_after_utc.timestamp()
        if valid_from <= now <= valid_until:
            certificates.append(certificate)
    if not certificates:
        raise ProtocolError("certificate download holds no certificate valid now")
    return certificates


def _read_entry(entry: object, api_v3_key: bytes) -> x509.Certificate | None:
    if not isinstance(entry, dict):
        return None
    sealed = entry.get("encrypt_certificate")
    if not isinstance(sealed, dict) or not isinstance(entry.get("serial_no"), str):
        return None
    try:
        pem = aes_gcm_decrypt(
            api_v3_key, str(sealed["nonce"]), str(sealed.get("associated_data", "")), str(sealed["ciphertext"])
        )
        certificate = load_certificate(pem)
    except (KeyError, WeChatPayError):
        return None
    if certificate_serial(certificate) != entry["serial_no"].upper():
        return None
    return certificate
