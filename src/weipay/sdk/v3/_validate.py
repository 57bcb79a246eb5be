"""Checks on merchant input before a request is built: a clear :class:`ConfigurationError` beats a 400."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from datetime import datetime
from urllib.parse import urlsplit

from ..errors import ConfigurationError

__all__ = [
    "check_amount_fen",
    "check_choice",
    "check_client_ip",
    "check_notify_url",
    "check_out_refund_no",
    "check_out_trade_no",
    "check_text",
    "check_time_expire",
    "check_transaction_id",
]

_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
_TRANSACTION_ID = re.compile(r"[0-9A-Za-z]{1,32}")


def check_amount_fen(name: str, value: object) -> int:
    """A positive integer number of fen (``bool`` is refused although it is an ``int``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive int number of fen (1 yuan = 100), got {value!r}")
    return value


def check_out_trade_no(value: str) -> str:
    """WeChat's out_trade_no: 6-32 characters of ``[0-9A-Za-z_-|*]``."""
    if not isinstance(value, str) or _OUT_TRADE_NO.fullmatch(value) is None:
        raise ConfigurationError("out_trade_no must be 6-32 characters of 0-9 A-Z a-z _ - | *")
    return value


def check_out_refund_no(value: str) -> str:
    """WeChat's out_refund_no: 1-64 characters of ``[0-9A-Za-z_-|*@]``."""
    if not isinstance(value, str) or _OUT_REFUND_NO.fullmatch(value) is None:
        raise ConfigurationError("out_refund_no must be 1-64 characters of 0-9 A-Z a-z _ - | * @")
    return value


def check_transaction_id(value: str) -> str:
    """WeChat's own order number (digits in practice; letters tolerated, nothing that needs escaping)."""
    if not isinstance(value, str) or _TRANSACTION_ID.fullmatch(value) is None:
        raise ConfigurationError("transaction_id must be 1-32 letters or digits as WeChat returned it")
    return value


def check_text(name: str, value: str, *, max_chars: int, required: bool = True) -> str:
    """A free-text field: non-empty if required, at most ``max_chars``, only 1-3 byte UTF-8 characters."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string")
    if required and not value:
        raise ConfigurationError(f"{name} must not be empty")
    if len(value) > max_chars:
        raise ConfigurationError(f"{name} must be at most {max_chars} characters, got {len(value)}")
    for char in value:
        code = ord(char)
        if code > 0xFFFF or 0xD800 <= code <= 0xDFFF:
            raise ConfigurationError(f"{name} may hold only 1-3 byte UTF-8 characters: remove emoji and the like")
    return value


def check_notify_url(value: str, *, name: str = "notify_url") -> str:
    """An absolute http(s) URL of at most 255 characters without a query string (WeChat drops it)."""
    check_text(name, value, max_chars=255)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{name} must be an absolute https:// URL")
    if parts.query or "?" in value:
        raise ConfigurationError(f"{name} must not carry a query string; put the data in the path")
    if "#" in value:
        raise ConfigurationError(f"{name} must not carry a #fragment")
    return value


def check_client_ip(value: str) -> str:
    """The payer's IPv4 or IPv6 address (H5 payments)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ConfigurationError("payer_client_ip must be the payer's IPv4 or IPv6 address") from None
    return value


def check_choice(name: str, value: str, allowed: Collection[str]) -> str:
    """One of WeChat's enumerated values."""
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(sorted(allowed))}, got {value!r}")
    return value


def check_time_expire(value: datetime) -> datetime:
    """A timezone-aware expiry (WeChat reads RFC 3339 with an offset)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigurationError("time_expire must be timezone-aware, e.g. datetime(..., tzinfo=UTC)")
    return value
