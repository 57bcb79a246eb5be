"""WeChat's half of API v3, for the simulator and for tests: sign answers, seal resources, build
notifications and certificate lists, and check merchants' Authorization headers. Still pure.

:func:`verify_request` raises :class:`SignatureError` carrying the message WeChat itself returns with
``401 SIGN_ERROR``, so a simulator can answer exactly as WeChat does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import Encoding

from ..clock import new_nonce
from ..crypto import aes_gcm_encrypt, certificate_serial, rsa_sign, rsa_verify
from ..errors import SignatureError
from ._time import format_rfc3339
from .signing import SCHEME, AuthorizationParams, parse_authorization, request_message, response_message

__all__ = [
    "MESSAGE_BAD_AUTHORIZATION",
    "MESSAGE_BAD_SIGNATURE",
    "MESSAGE_STALE_TIMESTAMP",
    "build_notification",
    "encrypt_certificates_response",
    "encrypt_resource",
    "error_body",
    "sign_response",
    "verify_request",
]

MESSAGE_BAD_SIGNATURE = "错误的签名，验签失败"
MESSAGE_STALE_TIMESTAMP = "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"
# Wording seen in merchants' reports for a missing or unparsable header (not in the official table).
MESSAGE_BAD_AUTHORIZATION = "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _compact(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign_response(private_key: RSAPrivateKey, serial: str, body: bytes, timestamp: str, nonce: str) -> dict[str, str]:
    """The ``Wechatpay-*`` headers that sign ``body`` (a response or a notification)."""
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(private_key, response_message(timestamp, nonce, body)),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SCHEME,
    }


def error_body(code: str, message: str, detail: Mapping[str, Any] | None = None) -> bytes:
    """WeChat's error JSON ``{"code","message"[,"detail"]}`` for a 4xx/5xx answer."""
    value: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        value["detail"] = dict(detail)
    return _compact(value)


def encrypt_resource(
    api_v3_key: bytes, original_type: str, associated_data: str, plaintext: bytes, nonce: str
) -> dict[str, str]:
    """A notification ``resource`` object sealed with AEAD_AES_256_GCM (``nonce``: 12 characters)."""
    return {
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": aes_gcm_encrypt(api_v3_key, nonce, associated_data, plaintext),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def build_notification(
    *,
    private_key: RSAPrivateKey,
    serial: str,
    api_v3_key: bytes,
    notification_id: str,
    create_time: str,
    event_type: str,
    summary: str,
    original_type: str,
    associated_data: str,
    plaintext: bytes,
    resource_nonce: str,
    timestamp: str,
    nonce: str,
) -> tuple[dict[str, str], bytes]:
    """``(headers, body)`` of one signed notification, serialised as WeChat does (compact UTF-8)."""
    body = _compact(
        {
            "id": notification_id,
            "create_time": create_time,
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": encrypt_resource(api_v3_key, original_type, associated_data, plaintext, resource_nonce),
        }
    )
    headers = {"Content-Type": "application/json", **sign_response(private_key, serial, body, timestamp, nonce)}
    return headers, body


def encrypt_certificates_response(
    api_v3_key: bytes,
    certificates: Iterable[x509.Certificate],
    nonce: Callable[[], str] = lambda: new_nonce(12),
) -> bytes:
    """The body of ``GET /v3/certificates``: each certificate's PEM sealed with the APIv3 key."""
    entries = []
    for certificate in certificates:
        pem = certificate.public_bytes(Encoding.PEM)
        resource_nonce = nonce()
        entries.append(
            {
                "serial_no": certificate_serial(certificate),
                "effective_time": format_rfc3339(certificate.not_valid_before_utc),
                "expire_time": format_rfc3339(certificate.not_valid_after_utc),
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "associated_data": "certificate",
                    "ciphertext": aes_gcm_encrypt(api_v3_key, resource_nonce, "certificate", pem),
                    "nonce": resource_nonce,
                },
            }
        )
    return _compact({"data": entries})


def verify_request(
    public_key: RSAPublicKey,
    method: str,
    canonical_url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    window_s: int = 300,
) -> AuthorizationParams:
    """Check a merchant's signed request as WeChat does; the parsed Authorization on success.

    ``canonical_url`` is the raw path plus query as received. A skew of more than ``window_s``
    seconds either way is refused.
    """
    header = next((value for name, value in headers.items() if name.lower() == "authorization"), None)
    if header is None:
        raise SignatureError(MESSAGE_BAD_AUTHORIZATION)
    try:
        params = parse_authorization(header)
    except SignatureError:
        raise SignatureError(MESSAGE_BAD_AUTHORIZATION) from None
    if _TIMESTAMP.fullmatch(params.timestamp) is None:
        raise SignatureError(MESSAGE_BAD_AUTHORIZATION)
    if abs(now - int(params.timestamp)) > window_s:
        raise SignatureError(MESSAGE_STALE_TIMESTAMP)
    message = request_message(method, canonical_url, params.timestamp, params.nonce_str, body)
    if not rsa_verify(public_key, message, params.signature):
        raise SignatureError(MESSAGE_BAD_SIGNATURE)
    return params
