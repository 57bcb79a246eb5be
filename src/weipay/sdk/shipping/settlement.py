"""The platform's ``trade_manage_order_settlement`` message: an order shipped, or its funds settled.

The mini-program platform pushes it to the message URL configured for the app, as XML or JSON
(whichever format the app chose), twice in an order's life: when shipping is complete (with
``estimated_settlement_time``) and when the funds settle (with ``settlement_time`` and how receipt was
confirmed). :func:`parse_settlement_event` only reads the plaintext message. It does not authenticate
it: check the push signature and, in 安全模式, decrypt first, and treat the event as a hint to confirm
with :class:`~weipay.sdk.shipping.GetShippingOrder` before moving money or orders on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import ProtocolError
from ..v2.xmlcodec import from_xml
from ..v3._time import BEIJING

__all__ = ["SETTLEMENT_EVENT", "SettlementEvent", "parse_settlement_event"]

SETTLEMENT_EVENT = "trade_manage_order_settlement"
_MAX_MESSAGE_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class SettlementEvent:
    """One ``trade_manage_order_settlement`` message.

    ``confirm_receive_method`` is WeChat's number as sent: documented as 1 automatic, 2 by the buyer,
    though developers report receiving the two the other way round, so it is not interpreted here.
    """

    to_user_name: str  # the mini-program's original id (gh_…)
    from_user_name: str
    create_time: datetime | None
    transaction_id: str
    merchant_id: str
    merchant_trade_no: str
    sub_merchant_id: str | None = None
    pay_time: datetime | None = None
    shipped_time: datetime | None = None
    estimated_settlement_time: datetime | None = None
    confirm_receive_method: int | None = None
    confirm_receive_time: datetime | None = None
    settlement_time: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def settled(self) -> bool:
        """True for the second message: the funds were settled to the merchant."""
        return self.settlement_time is not None


def parse_settlement_event(body: bytes | str) -> SettlementEvent:
    """Read the plaintext message, XML (``<xml>…</xml>``) or JSON, whichever the platform sent."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if len(raw) > _MAX_MESSAGE_BYTES:
        raise ProtocolError("settlement message too large")
    start = raw.lstrip()[:1]
    if start == b"<":
        data: Mapping[str, Any] = from_xml(raw, root="xml")
    elif start == b"{":
        data = _json_object(raw)
    else:
        raise ProtocolError("settlement message is neither XML nor JSON")
    if "Encrypt" in data:
        raise ProtocolError("settlement message is encrypted (安全模式): decrypt it before parsing")
    if data.get("MsgType") != "event" or data.get("Event") != SETTLEMENT_EVENT:
        raise ProtocolError(f"not a {SETTLEMENT_EVENT} event")
    return SettlementEvent(
        to_user_name=_text(data, "ToUserName"),
        from_user_name=_text(data, "FromUserName"),
        create_time=_time(data, "CreateTime"),
        transaction_id=_text(data, "transaction_id", required=True),
        merchant_id=_text(data, "merchant_id"),
        merchant_trade_no=_text(data, "merchant_trade_no"),
        sub_merchant_id=_text(data, "sub_merchant_id") or None,
        pay_time=_time(data, "pay_time"),
        shipped_time=_time(data, "shipped_time"),
        estimated_settlement_time=_time(data, "estimated_settlement_time"),
        confirm_receive_method=_number(data, "confirm_receive_method") or None,
        confirm_receive_time=_time(data, "confirm_receive_time"),
        settlement_time=_time(data, "settlement_time"),
        raw=dict(data),
    )


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProtocolError("settlement message is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("settlement message is not a JSON object")
    return data


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise ProtocolError(f"settlement message: {key} is missing or not text")
    return value


def _number(data: Mapping[str, Any], key: str) -> int:
    # XML carries every value as text, JSON as numbers: accept both, refuse anything else.
    value = data.get(key)
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ProtocolError(f"settlement message: {key} is not a whole number")


def _time(data: Mapping[str, Any], key: str) -> datetime | None:
    seconds = _number(data, key)
    return datetime.fromtimestamp(seconds, BEIJING) if seconds > 0 else None
