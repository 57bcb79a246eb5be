"""The order list's query string: filters as ``GET /v1/orders`` has them, read in the merchant's time zone, and the
cursor of the next page.

The console shows one merchant at a time (``?mchid=``, the first configured one by default) because the listing use
case is scoped to one merchant, as the API is. Times come from ``datetime-local`` inputs, which carry no zone: they
are read in the merchant's ``time_zone``. The cursor is the last row's ``(created_at, id)`` as base64url JSON; a
forged one is only a position inside that merchant's own rows.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from .. import usecases
from ..domain import OrderStatus, RefundStatus
from ..usecases.stores import ListFilter
from .display import Clocks, parse_local

__all__ = ["PAGE_SIZE", "ListQuery", "decode_cursor", "encode_cursor"]

PAGE_SIZE = 20
_CURSOR_MAX_CHARS = 200
_FIELDS = ("mchid", "q", "status", "channel", "created_from", "created_to")


def encode_cursor(after: tuple[float, str]) -> str:
    """The cursor of the page after the row ``(created_at, id)``."""
    raw = json.dumps([after[0], after[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str] | None:
    """The position a cursor stands for; None (the first page) for an empty or malformed one."""
    if not cursor or len(cursor) > _CURSOR_MAX_CHARS:
        return None
    try:
        created_at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    if not (isinstance(created_at, int | float) and math.isfinite(created_at)
            and isinstance(row_id, str) and 0 < len(row_id) <= 40):  # fmt: skip
        return None
    return float(created_at), row_id


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The filters as the operator typed them (to show them again and to build links), and the cursor."""

    mchid: str
    q: str = ""
    status: str = ""
    channel: str = ""
    created_from: str = ""
    created_to: str = ""
    after: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str], merchant_ids: Sequence[str]) -> ListQuery:
        """The query of a request; an unknown merchant becomes the first configured one."""
        values = {name: params.get(name, "").strip()[:100] for name in (*_FIELDS, "after")}
        if values["mchid"] not in merchant_ids:
            values["mchid"] = merchant_ids[0] if merchant_ids else ""
        return cls(**values)

    def orders_filter(self, clocks: Clocks) -> ListFilter:
        """The listing use case's filter (``InvalidInput`` with the API's codes for a bad one)."""
        return self._filter(OrderStatus, clocks)

    def refunds_filter(self, statuses: Sequence[str]) -> ListFilter:
        """A refund listing of this merchant in ``statuses``, ignoring the order filters."""
        return usecases.list_filter(self.mchid, RefundStatus, statuses=statuses, limit=usecases.LIST_LIMIT_MAX)

    def _filter(self, states: type[OrderStatus], clocks: Clocks) -> ListFilter:
        zone = clocks.zone(self.mchid)
        return usecases.list_filter(
            self.mchid, states, statuses=[self.status] if self.status else [],
            channels=[self.channel] if self.channel else [], created_from=parse_local(self.created_from, zone),
            created_to=parse_local(self.created_to, zone), number=self.q or None, after=decode_cursor(self.after),
            limit=PAGE_SIZE,
        )  # fmt: skip

    def link(self, after: tuple[float, str] | None = None) -> str:
        """The query string of these filters, on the page after ``after`` (the first page without)."""
        values = {name: getattr(self, name) for name in _FIELDS if getattr(self, name)}
        if after is not None:
            values["after"] = encode_cursor(after)
        return urlencode(values)

    @property
    def filtered(self) -> bool:
        """Whether any filter or cursor is set (the page offers to clear them)."""
        return any(getattr(self, name) for name in (*_FIELDS[1:], "after"))
