"""Argument checks run before a v2 request is built: each failure says which argument to fix and how.

WeChat answers bad arguments with a Chinese ``return_msg`` after a network round trip; catching them
here costs nothing and keeps malformed values (and XML-hostile characters) off the wire.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from .signing import SignType

_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
_TOKEN = re.compile(r"[0-9A-Za-z_\-]{1,128}")
# The code points XML 1.0 cannot carry at all (see xmlcodec); refusing them here gives a clear message.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def fen(value: object, name: str) -> int:
    """A positive integer amount in fen (``bool`` is refused although it is an ``int``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an int amount in fen, got {type(value).__name__}")
    if value <= 0:
        raise ConfigurationError(f"{name} must be > 0 fen, got {value}")
    if value > 10**12:
        raise ConfigurationError(f"{name} is implausibly large ({value} fen)")
    return value


def out_trade_no(value: object, name: str = "out_trade_no") -> str:
    """6–32 characters of ``[0-9A-Za-z_-|*]``."""
    if not isinstance(value, str) or not _OUT_TRADE_NO.fullmatch(value):
        raise ConfigurationError(f"{name} must be 6-32 characters of 0-9 A-Z a-z _ - | *")
    return value


def out_refund_no(value: object) -> str:
    """1–64 characters of ``[0-9A-Za-z_-|*@]``."""
    if not isinstance(value, str) or not _OUT_REFUND_NO.fullmatch(value):
        raise ConfigurationError("out_refund_no must be 1-64 characters of 0-9 A-Z a-z _ - | * @")
    return value


def token(value: object, name: str, max_chars: int = 32) -> str:
    """An identifier such as appid, openid, transaction_id or refund_id: ASCII letters, digits, ``_-``."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value) or len(value) > max_chars:
        raise ConfigurationError(f"{name} must be 1-{max_chars} characters of 0-9 A-Z a-z _ -")
    return value


def text(value: object, name: str, max_chars: int, *, required: bool = True) -> str | None:
    """Free merchant text (``body``, ``attach``, ``refund_desc``): bounded length, XML-safe characters."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise ConfigurationError(f"{name} must be a non-empty string")
    if len(value) > max_chars:
        raise ConfigurationError(f"{name} must be at most {max_chars} characters, got {len(value)}")
    if _XML_FORBIDDEN.search(value):
        raise ConfigurationError(f"{name} contains a control character XML cannot carry; remove it")
    if value != value.strip():
        # Many XML readers (xmltodict, so wechatpy) trim values, which would break the signature.
        raise ConfigurationError(f"{name} must not start or end with whitespace; strip it")
    return value


def notify_url(value: object, name: str = "notify_url") -> str:
    """An absolute http(s) URL of at most 256 characters, without a query string (WeChat drops it)."""
    if not isinstance(value, str) or len(value) > 256:
        raise ConfigurationError(f"{name} must be a URL of at most 256 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{name} must be an absolute http(s) URL")
    if parts.query or "?" in value or parts.fragment:
        raise ConfigurationError(f"{name} must not carry a query string; put ids in the path")
    if any(ch.isspace() for ch in value):
        raise ConfigurationError(f"{name} must not contain whitespace")
    return value


def ip_address(value: object, name: str = "spbill_create_ip") -> str:
    """The payer's IPv4 or IPv6 address."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be the payer's IP address as a string")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be an IPv4 or IPv6 address, got {value!r}") from None
    return value


def aware(value: object, name: str) -> dt.datetime:
    """A timezone-aware datetime (a naive one is ambiguous: is it UTC or Beijing?)."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ConfigurationError(f"{name} must be a timezone-aware datetime")
    return value


def one_of(value: object, name: str, allowed: tuple[str, ...]) -> str:
    """One of WeChat's enumerated values."""
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def exactly_one(name_values: dict[str, str | None]) -> tuple[str, str]:
    """The single identifier given among alternatives (e.g. out_trade_no or transaction_id)."""
    given = [(name, value) for name, value in name_values.items() if value is not None]
    if len(given) != 1:
        raise ConfigurationError(f"give exactly one of {', '.join(name_values)}")
    return given[0]


def sign_type(value: object) -> SignType:
    """``MD5`` or ``HMAC-SHA256``."""
    try:
        return SignType(str(value))
    except ValueError:
        raise ConfigurationError(f"sign_type must be MD5 or HMAC-SHA256, got {value!r}") from None
