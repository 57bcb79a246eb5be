"""The query strings of ``GET /v1/orders`` and ``GET /v1/refunds``: times, comma lists and the opaque cursor.

Times are ISO 8601 with an offset (``2026-11-23T00:00:00+08:00`` or ``…Z``), never naive: a merchant in Beijing
and a server in UTC would read a naive time eight hours apart. The cursor is the last row's ``(created_at, id)``
and which list it belongs to, as unpadded base64url JSON: opaque to clients, and harmless if forged (it is only
a position inside the caller's own merchant's rows).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import datetime
from typing import Literal

from ..domain import InvalidInput

__all__ = ["Listing", "comma_list", "decode_cursor", "encode_cursor", "parse_time"]

Listing = Literal["orders", "refunds"]
_TIME_MAX_CHARS = 40
_CURSOR_MAX_CHARS = 200
_COMMA_LIST_MAX_VALUES = 10


def parse_time(value: str | None, name: str) -> float | None:
    """Unix seconds of an ISO 8601 time with an offset, or ``invalid_<name>`` (422)."""
    if value is None:
        return None
    if len(value) > _TIME_MAX_CHARS:
        raise InvalidInput(f"invalid_{name}", f"{name} must be an ISO 8601 time such as 2026-11-23T00:00:00+08:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        hint = " (send + as %2B in a query string)" if " " in value else ""
        raise InvalidInput(
            f"invalid_{name}", f"{name} must be an ISO 8601 time such as 2026-11-23T00:00:00+08:00{hint}"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"invalid_{name}", f"{name} needs an offset (Z or +08:00): a time without one is ambiguous")
    return moment.timestamp()


def comma_list(value: str | None) -> tuple[str, ...]:
    """``"paid,refunded" -> ("paid", "refunded")``; blanks dropped (the use case checks each value)."""
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",")[:_COMMA_LIST_MAX_VALUES] if part.strip())


def encode_cursor(listing: Listing, after: tuple[float, str]) -> str:
    """The opaque cursor of the page after the row ``(created_at, id)``."""
    created_at, row_id = after
    raw = json.dumps({"k": listing, "t": created_at, "id": row_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(listing: Listing, cursor: str | None) -> tuple[float, str] | None:
    """The ``(created_at, id)`` a cursor of ``listing`` stands for, or ``invalid_cursor`` (422)."""
    if cursor is None:
        return None
    try:
        if len(cursor) > _CURSOR_MAX_CHARS:
            raise ValueError("too long")
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created_at, row_id = data["t"], data["id"]
        valid = (data.get("k") == listing and isinstance(created_at, int | float) and math.isfinite(created_at)
                 and isinstance(row_id, str) and 0 < len(row_id) <= 40)  # fmt: skip
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, UnicodeDecodeError):
        valid = False
    if not valid:
        raise InvalidInput("invalid_cursor", f"cursor is not a next_cursor of GET /v1/{listing}")
    return float(created_at), row_id
