"""What a merchant tells the mini-program platform about a shipment: the order, the packages, the contacts.

Values only; :mod:`weipay.sdk.shipping.operations` checks them (``check``, raising
:class:`~weipay.sdk.errors.ConfigurationError` that names the field) and turns them into WeChat's JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from ..errors import ConfigurationError
from ..v3._validate import check_out_trade_no, check_text, check_transaction_id

__all__ = ["Contact", "DeliveryMode", "LogisticsType", "OrderKey", "OrderState", "ShippingItem", "mask_phone"]

#: WeChat's express-company code for SF Express (顺丰), whose packages need a contact.
SF_EXPRESS = "SF"
_CONTACT_CHARS = re.compile(r"[0-9*+\-]{4,1024}")


class LogisticsType(IntEnum):
    """``logistics_type``: how the goods reach the buyer."""

    EXPRESS = 1  # 实体物流配送: a courier with a tracking number
    SAME_CITY = 2  # 同城配送
    VIRTUAL = 3  # 虚拟商品: top-ups, cards, nothing physical
    PICKUP = 4  # 用户自提: the buyer collects


class DeliveryMode(IntEnum):
    """``delivery_mode``: one package, or several sent over time (express only)."""

    UNIFIED = 1  # UNIFIED_DELIVERY: 统一发货
    SPLIT = 2  # SPLIT_DELIVERY: 分拆发货, up to 15 packages


class OrderState(IntEnum):
    """``order_state`` of a payment in shipping management."""

    AWAITING_SHIPMENT = 1  # 待发货: funds frozen until shipping information is uploaded
    SHIPPED = 2  # 已发货
    RECEIPT_CONFIRMED = 3  # 确认收货
    COMPLETED = 4  # 交易完成: funds settled
    REFUNDED = 5  # 已退款
    AWAITING_SETTLEMENT = 6  # 资金待结算


@dataclass(frozen=True, slots=True)
class OrderKey:
    """Which payment: WeChat's ``transaction_id``, or ``out_trade_no`` of merchant ``mchid``.

    ``mchid`` defaults to the calling client's merchant.
    """

    transaction_id: str | None = None
    out_trade_no: str | None = None
    mchid: str | None = None

    def check(self) -> None:
        """Exactly one of the two forms."""
        if (self.transaction_id is None) == (self.out_trade_no is None):
            raise ConfigurationError("order_key needs exactly one of transaction_id or out_trade_no (with mchid)")
        if self.transaction_id is not None:
            check_transaction_id(self.transaction_id)
            if self.mchid is not None:
                raise ConfigurationError("order_key.mchid goes with out_trade_no, not with transaction_id")
        else:
            check_out_trade_no(str(self.out_trade_no))
            if self.mchid is not None:
                check_text("order_key.mchid", self.mchid, max_chars=32)

    def upload_json(self, default_mchid: str) -> dict[str, Any]:
        """The ``order_key`` object of upload_shipping_info (``order_number_type`` 2 or 1)."""
        if self.transaction_id is not None:
            return {"order_number_type": 2, "transaction_id": self.transaction_id}
        return {"order_number_type": 1, "mchid": self.mchid or default_mchid, "out_trade_no": self.out_trade_no}

    def query_json(self, default_mchid: str) -> dict[str, Any]:
        """The same payment as get_order and notify_confirm_receive name it (``merchant_*`` fields)."""
        if self.transaction_id is not None:
            return {"transaction_id": self.transaction_id}
        return {"merchant_id": self.mchid or default_mchid, "merchant_trade_no": self.out_trade_no}


@dataclass(frozen=True, slots=True)
class Contact:
    """Masked phone numbers of the sender and/or the receiver (``189****1234``, ``021-****1234``).

    WeChat takes them masked, with the last four digits in clear; :func:`mask_phone` makes one.
    """

    consignor_contact: str | None = None
    receiver_contact: str | None = None

    def check(self, name: str) -> None:
        """At least one number, each masked with its last four digits in clear."""
        if self.consignor_contact is None and self.receiver_contact is None:
            raise ConfigurationError(f"{name} needs consignor_contact or receiver_contact")
        for field_name in ("consignor_contact", "receiver_contact"):
            value = getattr(self, field_name)
            if value is not None:
                _check_masked(f"{name}.{field_name}", value)

    def to_json(self) -> dict[str, str]:
        """The ``contact`` object, without the absent number."""
        numbers = {"consignor_contact": self.consignor_contact, "receiver_contact": self.receiver_contact}
        return {key: value for key, value in numbers.items() if value is not None}


@dataclass(frozen=True, slots=True)
class ShippingItem:
    """One entry of ``shipping_list``: a package (express) or a description of what was delivered.

    ``item_desc`` (at most 120 characters) is always required. ``tracking_no`` and ``express_company``
    (WeChat's courier code, e.g. ``SF``, ``YTO``; see get_delivery_list) are required for express
    delivery and optional otherwise. ``contact`` is required when the courier is SF Express.
    """

    item_desc: str
    tracking_no: str | None = None
    express_company: str | None = None
    contact: Contact | None = None

    def check(self, name: str, logistics_type: LogisticsType) -> None:
        """Field rules of one entry; ``name`` is its place in the request (``shipping_list[0]``)."""
        check_text(f"{name}.item_desc", self.item_desc, max_chars=120)
        if logistics_type is LogisticsType.EXPRESS:
            for field_name in ("tracking_no", "express_company"):
                if getattr(self, field_name) is None:
                    raise ConfigurationError(f"{name}.{field_name} is required for express delivery (logistics_type 1)")
        if self.tracking_no is not None:
            check_text(f"{name}.tracking_no", self.tracking_no, max_chars=128)
            if len(self.tracking_no.encode("utf-8")) > 128:
                raise ConfigurationError(f"{name}.tracking_no must be at most 128 bytes")
        if self.express_company is not None:
            check_text(f"{name}.express_company", self.express_company, max_chars=64)
        if self.contact is not None:
            self.contact.check(f"{name}.contact")
        elif self.express_company == SF_EXPRESS:
            raise ConfigurationError(f"{name}.contact is required when express_company is SF (SF Express)")

    def to_json(self) -> dict[str, Any]:
        """The entry as WeChat reads it, without absent fields."""
        entry: dict[str, Any] = {}
        if self.tracking_no is not None:
            entry["tracking_no"] = self.tracking_no
        if self.express_company is not None:
            entry["express_company"] = self.express_company
        entry["item_desc"] = self.item_desc
        if self.contact is not None:
            entry["contact"] = self.contact.to_json()
        return entry


def mask_phone(number: str) -> str:
    """A phone number masked as WeChat wants it: the first three digits (of long numbers) and the last four stay.

    >>> mask_phone("13800001234"), mask_phone("021-66661234"), mask_phone("95338"), mask_phone("8008")
    ('138****1234', '021-****1234', '*5338', '****8008')
    """
    digit_places = [place for place, char in enumerate(number) if char.isdigit()]
    if len(digit_places) < 4:
        raise ConfigurationError("a contact number needs at least four digits")
    hidden = digit_places[:-4]
    if not hidden:  # nothing to hide: WeChat's own example of this case is ****1234
        return "****" + number
    kept_in_front = 3 if len(hidden) > 4 else 0
    masked = set(hidden[kept_in_front:])
    return "".join("*" if place in masked else char for place, char in enumerate(number))


def _check_masked(name: str, value: str) -> None:
    if not isinstance(value, str) or _CONTACT_CHARS.fullmatch(value) is None:
        raise ConfigurationError(f"{name} must be a masked phone number of digits, '*', '+' and '-'")
    if "*" not in value:
        raise ConfigurationError(f"{name} must be masked (e.g. 138****1234): WeChat takes no full numbers")
    tail = [char for char in value if char.isdigit() or char == "*"][-4:]
    if len(tail) < 4 or not all(char.isdigit() for char in tail):
        raise ConfigurationError(f"{name} must keep its last four digits unmasked (e.g. 138****1234)")
