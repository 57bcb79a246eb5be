"""Reading WeChat's v2 field text into typed values, strictly: a malformed field is a ProtocolError."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ProtocolError
from .models import BEIJING, V2Coupon

_DIGITS = re.compile(r"[0-9]{1,18}")
# No order carries more coupons than this; a larger count is a malformed answer, not a loop to run.
_MAX_COUPONS = 100


def required(fields: Mapping[str, str], name: str) -> str:
    """The non-empty value of ``name``, or a ProtocolError naming it."""
    value = fields.get(name)
    if not value:
        raise ProtocolError(f"WeChat's answer lacks <{name}>")
    return value


def optional(fields: Mapping[str, str], name: str) -> str | None:
    """The value of ``name``, with absent and empty both meaning ``None``."""
    return fields.get(name) or None


def parse_fen(text: str, name: str) -> int:
    """An amount in fen: ASCII digits only (``int()`` would also take "+1", " 1" or full-width digits)."""
    if not _DIGITS.fullmatch(text):
        raise ProtocolError(f"<{name}> is not an amount in fen")
    return int(text)


def required_fen(fields: Mapping[str, str], name: str) -> int:
    """A required amount in fen."""
    return parse_fen(required(fields, name), name)


def optional_fen(fields: Mapping[str, str], name: str) -> int | None:
    """An optional amount in fen."""
    value = optional(fields, name)
    return None if value is None else parse_fen(value, name)


def parse_compact_time(text: str, name: str) -> dt.datetime:
    """``yyyyMMddHHmmss`` in Beijing time (``time_end``)."""
    # isascii() and isdigit() together are exactly [0-9]; slicing the fixed columns gives what
    # strptime("%Y%m%d%H%M%S") gives for 14 digits, for a fraction of its cost (once per notification).
    if len(text) != 14 or not (text.isascii() and text.isdigit()):
        raise ProtocolError(f"<{name}> is not yyyyMMddHHmmss")
    try:
        return dt.datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:14]),
            tzinfo=BEIJING,
        )
    except ValueError as exc:
        raise ProtocolError(f"<{name}> is not a valid time") from exc


def parse_dashed_time(text: str, name: str) -> dt.datetime:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time (refund ``success_time``, bill rows)."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}", text):
        raise ProtocolError(f"<{name}> is not yyyy-MM-dd HH:mm:ss")
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError as exc:
        raise ProtocolError(f"<{name}> is not a valid time") from exc


def optional_compact_time(fields: Mapping[str, str], name: str) -> dt.datetime | None:
    """An optional ``yyyyMMddHHmmss`` field."""
    value = optional(fields, name)
    return None if value is None else parse_compact_time(value, name)


def optional_dashed_time(fields: Mapping[str, str], name: str) -> dt.datetime | None:
    """An optional ``yyyy-MM-dd HH:mm:ss`` field."""
    value = optional(fields, name)
    return None if value is None else parse_dashed_time(value, name)


def format_compact_time(moment: dt.datetime) -> str:
    """A timezone-aware datetime as Beijing ``yyyyMMddHHmmss`` (``time_start``, ``time_expire``)."""
    return moment.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def coupons(fields: Mapping[str, str]) -> dict[str, Any]:
    """``coupon_fee_fen``, ``coupon_count`` and ``coupons`` (the ``coupon_*_$n`` fields) of a paid order.

    WeChat's own samples also show the first coupon unsuffixed (``coupon_id``); a coupon without an id is
    left out rather than refusing the whole notification (``raw`` keeps every field).
    """
    count = optional_fen(fields, "coupon_count")
    if count is not None and count > _MAX_COUPONS:
        raise ProtocolError(f"<coupon_count> {count} is more than any order carries")
    found = []
    for index in range(count or 0):
        suffixes = (f"_{index}", "") if index == 0 else (f"_{index}",)
        suffix = next((suffix for suffix in suffixes if optional(fields, f"coupon_id{suffix}")), None)
        if suffix is None:
            continue
        found.append(V2Coupon(fields[f"coupon_id{suffix}"], optional_fen(fields, f"coupon_fee{suffix}"),
                              optional(fields, f"coupon_type{suffix}")))
    return {"coupon_fee_fen": optional_fen(fields, "coupon_fee"), "coupon_count": count, "coupons": tuple(found)}
