"""Shipping information of a paid mini-program order (小程序发货信息管理): what the merchant shipped, as stored.

One :class:`Shipment` per order. ``items`` are the entries of WeChat's ``shipping_list`` as plain dicts
(``item_desc``, ``tracking_no``, ``express_company``, ``contact`` with masked phone numbers); the logistics
type and delivery mode are WeChat's numbers (1 express, 2 same city, 3 virtual, 4 pickup; 1 unified,
2 split). ``last_error_code`` is WeChat's last refusal (or ``outcome_unknown``), kept after a later success
is recorded only in the timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .states import ShippingStatus

__all__ = ["LOGISTICS_TYPES", "Shipment"]

#: WeChat's ``logistics_type`` numbers by the service's names.
LOGISTICS_TYPES: Mapping[str, int] = {"express": 1, "same_city": 2, "virtual": 3, "pickup": 4}


@dataclass(frozen=True, slots=True)
class Shipment:
    """The shipping information of one order and where its upload stands."""

    order_id: str
    mchid: str
    attempt_id: str
    appid: str
    transaction_id: str
    payer_openid: str
    logistics_type: int
    delivery_mode: int
    items: tuple[Mapping[str, Any], ...]
    status: ShippingStatus
    created_at: float
    updated_at: float
    submitted_at: float
    is_all_delivered: bool | None = None
    automatic: bool = False
    uploads: int = 0  # uploads the platform accepted
    uploaded_at: float | None = None
    confirmed_at: float | None = None
    settled_at: float | None = None
    last_error_code: str | None = None
    last_error_message: str | None = None

    @property
    def logistics_name(self) -> str:
        """``express``, ``same_city``, ``virtual`` or ``pickup``."""
        return next((name for name, number in LOGISTICS_TYPES.items() if number == self.logistics_type), "unknown")
