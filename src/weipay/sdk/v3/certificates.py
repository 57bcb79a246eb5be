"""Platform certificates: ``GET /v3/certificates`` and the decryption of its answer.

The answer is signed by one of the certificates it carries, so it cannot be verified before it is
read (``verify_response=False``); the client verifies it afterwards with the downloaded set. Entries
that are incomplete, undecryptable, mislabelled or outside their validity are skipped, as wechatpayv3
does; a answer with no usable entry is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from ..crypto import aes_gcm_decrypt, certificate_serial
from ..errors import ConfigurationError, ProtocolError, SignatureError
from ..operation import Api, Context, HttpRequest, HttpResponse
from ._request import ACCEPT_JSON
from .responses import expect_json

__all__ = ["DownloadCertificates", "decrypt_certificates"]

_REQUIRED = ("serial_no", "effective_time", "expire_time")
_CIPHER_FIELDS = ("algorithm", "nonce", "associated_data", "ciphertext")


def _decrypt_entry(api_v3_key: bytes, entry: object, now: float) -> x509.Certificate | None:
    """The entry's certificate, or ``None`` when it is unusable; raises only on a wrong key."""
    if not isinstance(entry, Mapping) or not all(isinstance(entry.get(name), str) for name in _REQUIRED):
        return None
    sealed = entry.get("encrypt_certificate")
    if not isinstance(sealed, Mapping) or not all(isinstance(sealed.get(n), str) and sealed[n] for n in _CIPHER_FIELDS):
        return None
    if sealed["algorithm"] != "AEAD_AES_256_GCM":
        return None
    pem = aes_gcm_decrypt(api_v3_key, sealed["nonce"], sealed["associated_data"], sealed["ciphertext"])
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    if certificate_serial(certificate) != entry["serial_no"].upper().lstrip("0"):
        return None
    valid_from = certificate.not_valid_before_utc.timestamp()
    valid_to = certificate.not_valid_after_utc.timestamp()
    return certificate if valid_from <= now <= valid_to else None


def decrypt_certificates(api_v3_key: bytes, data: Mapping[str, Any], now: float) -> list[x509.Certificate]:
    """Every usable certificate in a ``/v3/certificates`` answer, valid at ``now`` (Unix s)."""
    entries = data.get("data")
    if not isinstance(entries, list):
        raise ProtocolError("/v3/certificates answer lacks the data list")
    usable: list[x509.Certificate] = []
    undecryptable = 0
    for entry in entries:
        try:
            certificate = _decrypt_entry(api_v3_key, entry, now)
        except SignatureError:
            undecryptable += 1
            continue
        if certificate is not None:
            usable.append(certificate)
    if usable:
        return usable
    if undecryptable:
        raise ConfigurationError("platform certificates could not be decrypted: check api_v3_key")
    raise ProtocolError("/v3/certificates holds no certificate valid now")


def _serials(certificates: Iterable[x509.Certificate]) -> list[str]:
    return [certificate_serial(certificate) for certificate in certificates]


@dataclass(frozen=True, slots=True)
class DownloadCertificates:
    """``GET /v3/certificates`` → the platform certificates valid now, decrypted with the APIv3 key."""

    def build(self, ctx: Context) -> HttpRequest:
        """The request; the answer is verified by the client after parsing (chicken and egg)."""
        ctx.credentials.require_v3_key()
        return HttpRequest(
            api=Api.V3,
            method="GET",
            path="/v3/certificates",
            headers=ACCEPT_JSON,
            idempotent=True,
            verify_response=False,
        )

    def parse(self, response: HttpResponse, ctx: Context) -> list[x509.Certificate]:
        """Decrypt and keep the certificates valid at ``ctx.clock()``."""
        data = expect_json(response, "/v3/certificates answer")
        try:
            return decrypt_certificates(ctx.credentials.require_v3_key(), data, ctx.clock())
        except ProtocolError as exc:
            raise ProtocolError(exc.message, request_id=response.request_id) from None
