"""API v3 request signing: the ``WECHATPAY2-SHA256-RSA2048`` Authorization header, both directions.

Merchant side: :func:`authorization` signs ``METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n``.
WeChat side (the simulator): :func:`parse_authorization` reads the header in any parameter order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from ..crypto import rsa_sign
from ..errors import SignatureError

__all__ = [
    "SCHEME",
    "AuthorizationParams",
    "authorization",
    "parse_authorization",
    "request_message",
    "response_message",
]

SCHEME = "WECHATPAY2-SHA256-RSA2048"
_PARAM = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
_REQUIRED = ("mchid", "nonce_str", "timestamp", "serial_no", "signature")


def request_message(method: str, canonical_url: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The five-line message a merchant signs. ``canonical_url`` is the raw path plus ``?query``."""
    head = f"{method.upper()}\n{canonical_url}\n{timestamp}\n{nonce}\n".encode()
    return head + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The three-line message WeChat signs on responses and notifications."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def authorization(
    *,
    mchid: str,
    serial_no: str,
    private_key: RSAPrivateKey,
    method: str,
    canonical_url: str,
    body: bytes,
    timestamp: str,
    nonce: str,
) -> str:
    """The full ``Authorization`` header value for one request."""
    signature = rsa_sign(private_key, request_message(method, canonical_url, timestamp, nonce, body))
    return (
        f'{SCHEME} mchid="{mchid}",nonce_str="{nonce}",timestamp="{timestamp}",'
        f'serial_no="{serial_no}",signature="{signature}"'
    )


@dataclass(frozen=True, slots=True)
class AuthorizationParams:
    """The parsed parameters of an Authorization header."""

    mchid: str
    nonce_str: str
    timestamp: str
    serial_no: str
    signature: str


def parse_authorization(header: str) -> AuthorizationParams:
    """Parse an Authorization header; raise :class:`SignatureError` when it is not ours to verify."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme != SCHEME:
        raise SignatureError("Authorization scheme must be " + SCHEME)
    params: dict[str, str] = {}
    for part in rest.split(","):
        match = _PARAM.fullmatch(part)
        if match is None:
            raise SignatureError("malformed Authorization parameter")
        if match.group(1) in params:
            # Two values for one name would let a proxy and a verifier read different signatures.
            raise SignatureError("duplicated Authorization parameter")
        params[match.group(1)] = match.group(2)
    missing = [name for name in _REQUIRED if not params.get(name)]
    if missing:
        raise SignatureError("Authorization lacks " + ", ".join(missing))
    return AuthorizationParams(**{name: params[name] for name in _REQUIRED})
