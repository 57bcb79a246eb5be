"""API v2 signatures: MD5 and HMAC-SHA256 over the sorted non-empty fields plus ``&key=``."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import StrEnum

__all__ = ["SignType", "sign", "signing_string", "verify"]


class SignType(StrEnum):
    """The two v2 signature algorithms, spelled as WeChat's ``sign_type`` field."""

    MD5 = "MD5"
    HMAC_SHA256 = "HMAC-SHA256"


def signing_string(fields: Mapping[str, object], api_key: str) -> bytes:
    """``k1=v1&k2=v2…&key=API_KEY`` over every non-empty field except ``sign``, ASCII-sorted.

    The result contains the key: never log it.
    """
    pairs = [
        f"{name}={value}"
        for name, value in sorted(fields.items())
        if name != "sign" and value is not None and value != ""
    ]
    pairs.append(f"key={api_key}")
    return "&".join(pairs).encode("utf-8")


def sign(fields: Mapping[str, object], api_key: str, sign_type: SignType | str = SignType.MD5) -> str:
    """The upper-case hex signature of ``fields``."""
    message = signing_string(fields, api_key)
    if SignType(sign_type) is SignType.HMAC_SHA256:
        return hmac.new(api_key.encode("utf-8"), message, hashlib.sha256).hexdigest().upper()
    return hashlib.md5(message, usedforsecurity=False).hexdigest().upper()


def verify(fields: Mapping[str, object], api_key: str, sign_type: SignType | str | None = None) -> bool:
    """True when ``fields["sign"]`` matches. Compares in constant time over *all* received fields.

    ``sign_type`` defaults to the message's own ``sign_type`` field, then MD5.
    """
    received = fields.get("sign")
    if not isinstance(received, str) or not received:
        return False
    chosen = sign_type or fields.get("sign_type") or SignType.MD5
    try:
        expected = sign(fields, api_key, str(chosen))
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode(), received.upper().encode())
