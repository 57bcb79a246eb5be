"""What the platform answers about a payment's shipping: :class:`ShippingOrder` and its parts.

Times arrive as Unix seconds (0 when unknown) and become Beijing-time datetimes or ``None``. Enumerated
numbers become :class:`~weipay.sdk.shipping.models.OrderState` and friends, or stay plain ints when
WeChat sends one we do not know yet (``order_state`` 6 appeared before it was documented). Each order
keeps WeChat's object as ``raw``, so nothing WeChat adds is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, TypeVar

from ..errors import ProtocolError
from ..v3._time import BEIJING
from .models import Contact, DeliveryMode, LogisticsType, OrderState

__all__ = ["ShippedItem", "ShippingDetail", "ShippingOrder", "ShippingOrderPage"]

E = TypeVar("E", bound=IntEnum)


@dataclass(frozen=True, slots=True)
class ShippedItem:
    """One recorded entry of ``shipping_list``: package number, courier, description, upload time."""

    tracking_no: str
    express_company: str
    goods_desc: str
    upload_time: datetime | None
    contact: Contact | None = None


@dataclass(frozen=True, slots=True)
class ShippingDetail:
    """The shipping information on record for a payment."""

    delivery_mode: DeliveryMode | int | None
    logistics_type: LogisticsType | int | None
    finish_shipping: bool
    finish_shipping_count: int  # 1 once fully shipped, 2 after a re-shipment was used
    goods_desc: str
    shipping_list: tuple[ShippedItem, ...]


@dataclass(frozen=True, slots=True)
class ShippingOrder:
    """A payment as shipping management sees it (``get_order``'s ``order``)."""

    transaction_id: str
    merchant_id: str
    merchant_trade_no: str
    order_state: OrderState | int
    paid_amount_fen: int
    openid: str
    description: str = ""
    sub_merchant_id: str | None = None
    trade_create_time: datetime | None = None
    pay_time: datetime | None = None
    in_complaint: bool = False
    shipping: ShippingDetail | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShippingOrder:
        """Read one ``order`` object; a missing identifier or state is a :class:`ProtocolError`."""
        shipping = data.get("shipping")
        return cls(
            transaction_id=_text(data, "transaction_id", required=True),
            merchant_id=_text(data, "merchant_id"),
            merchant_trade_no=_text(data, "merchant_trade_no"),
            order_state=_state(data),
            paid_amount_fen=_integer(data, "paid_amount"),
            openid=_text(data, "openid"),
            description=_text(data, "description"),
            sub_merchant_id=_text(data, "sub_merchant_id") or None,
            trade_create_time=_time(data, "trade_create_time"),
            pay_time=_time(data, "pay_time"),
            in_complaint=_flag(data, "in_complaint"),
            shipping=_detail(shipping) if isinstance(shipping, Mapping) else None,
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class ShippingOrderPage:
    """One page of ``get_order_list``; pass ``last_index`` back while ``has_more``."""

    orders: tuple[ShippingOrder, ...]
    last_index: str
    has_more: bool


def _detail(data: Mapping[str, Any]) -> ShippingDetail:
    items = data.get("shipping_list") or []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise ProtocolError("shipping.shipping_list is not a list of objects")
    return ShippingDetail(
        delivery_mode=_enum(DeliveryMode, data, "delivery_mode"),
        logistics_type=_enum(LogisticsType, data, "logistics_type"),
        finish_shipping=_flag(data, "finish_shipping"),
        finish_shipping_count=_integer(data, "finish_shipping_count"),
        goods_desc=_text(data, "goods_desc"),
        shipping_list=tuple(_item(item) for item in items),
    )


def _item(data: Mapping[str, Any]) -> ShippedItem:
    contact = data.get("contact")
    return ShippedItem(
        tracking_no=_text(data, "tracking_no"),
        express_company=_text(data, "express_company"),
        goods_desc=_text(data, "goods_desc"),
        upload_time=_time(data, "upload_time"),
        contact=(
            Contact(_text(contact, "consignor_contact") or None, _text(contact, "receiver_contact") or None)
            if isinstance(contact, Mapping)
            else None
        ),
    )


def _state(data: Mapping[str, Any]) -> OrderState | int:
    number = _integer(data, "order_state", required=True)
    try:
        return OrderState(number)
    except ValueError:
        return number  # a state WeChat added after this SDK (6 came late): kept, not refused


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ProtocolError(f"shipping answer: {key} is not a string")
    return value


def _integer(data: Mapping[str, Any], key: str, *, required: bool = False) -> int:
    value = data.get(key)
    if value is None and not required:
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(f"shipping answer: {key} is not an integer")
    return value


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ProtocolError(f"shipping answer: {key} is not a boolean")
    return value


def _time(data: Mapping[str, Any], key: str) -> datetime | None:
    seconds = _integer(data, key)
    return datetime.fromtimestamp(seconds, BEIJING) if seconds > 0 else None


def _enum(kind: type[E], data: Mapping[str, Any], key: str) -> E | int | None:
    if data.get(key) is None:
        return None
    number = _integer(data, key)
    try:
        return kind(number)
    except ValueError:
        return number  # a value WeChat added after this SDK: kept, not refused
