"""The optional parts of a create-order request, typed once for API v3 (``CreateOrder``) and v2 (``UnifiedOrder``).

WeChat spells them differently per API (v3 ``merchant_goods_id`` / ``unit_price`` / ``invoice_id``, v2 ``goods_id``
/ ``price`` / ``receipt_id``; v3 ``h5_info.app_url``, v2 ``wap_url``), so each value renders itself both ways
(``v3_json``, ``v2_json``). Lengths are checked in UTF-8 bytes, as WeChat counts them (a Chinese character is
three): a clear :class:`~weipay.sdk.errors.ConfigurationError` before sending beats a ``PARAM_ERROR`` after. Pure
values: no I/O.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError

__all__ = ["H5_TYPES", "GoodsDetail", "H5Info", "OrderDetail", "StoreInfo", "check_bytes"]

#: v3 ``h5_info.type``; v2 spells iOS ``IOS``.
H5_TYPES = ("iOS", "Android", "Wap")
_V2_H5_TYPE = {"iOS": "IOS", "Android": "Android", "Wap": "Wap"}
#: WeChat takes at most this many goods in ``detail.goods_detail``.
MAX_GOODS = 6000


def check_bytes(name: str, value: object, max_bytes: int, *, required: bool = True) -> str | None:
    """Free text of at most ``max_bytes`` UTF-8 bytes: no control characters, no 4-byte characters (emoji)."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string")
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ConfigurationError(
            f"{name} must be at most {max_bytes} bytes in UTF-8 as WeChat counts them (a Chinese character is 3), "
            f"got {size}"
        )
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise ConfigurationError(f"{name} contains a control character or a lone surrogate; remove it")
        if ord(char) > 0xFFFF:
            raise ConfigurationError(f"{name} may hold only 1-3 byte UTF-8 characters: remove emoji and the like")
    return value


def _count(name: str, value: object, *, positive: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if positive else 0):
        raise ConfigurationError(f"{name} must be a {'positive' if positive else 'non-negative'} int, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class GoodsDetail:
    """One line of ``detail.goods_detail``: the goods a single-item coupon (单品券) applies to. Prices in fen."""

    merchant_goods_id: str
    quantity: int
    unit_price_fen: int
    wechatpay_goods_id: str | None = None
    goods_name: str | None = None

    def check(self, where: str) -> None:
        """Raise ``ConfigurationError`` naming ``where`` for a value WeChat would refuse."""
        check_bytes(f"{where}.merchant_goods_id", self.merchant_goods_id, 32)
        check_bytes(f"{where}.wechatpay_goods_id", self.wechatpay_goods_id, 32, required=False)
        check_bytes(f"{where}.goods_name", self.goods_name, 256, required=False)
        _count(f"{where}.quantity", self.quantity, positive=True)
        _count(f"{where}.unit_price_fen", self.unit_price_fen, positive=False)

    def v3_json(self) -> dict[str, Any]:
        """v3 spelling."""
        return {"merchant_goods_id": self.merchant_goods_id, "wechatpay_goods_id": self.wechatpay_goods_id,
                "goods_name": self.goods_name, "quantity": self.quantity, "unit_price": self.unit_price_fen}

    def v2_json(self) -> dict[str, Any]:
        """v2 spelling."""
        return {"goods_id": self.merchant_goods_id, "wxpay_goods_id": self.wechatpay_goods_id,
                "goods_name": self.goods_name, "quantity": self.quantity, "price": self.unit_price_fen}


@dataclass(frozen=True, slots=True)
class OrderDetail:
    """``detail`` (优惠功能): the order's original price, the merchant's receipt number, and its goods."""

    goods_detail: tuple[GoodsDetail, ...] = ()
    cost_price_fen: int | None = None
    invoice_id: str | None = None

    def check(self) -> None:
        """Raise ``ConfigurationError`` for a value WeChat would refuse."""
        if not isinstance(self.goods_detail, tuple):
            raise ConfigurationError("detail.goods_detail must be a tuple of GoodsDetail")
        if len(self.goods_detail) > MAX_GOODS:
            raise ConfigurationError(f"detail.goods_detail takes at most {MAX_GOODS} lines")
        for index, goods in enumerate(self.goods_detail):
            if not isinstance(goods, GoodsDetail):
                raise ConfigurationError(f"detail.goods_detail[{index}] must be a GoodsDetail")
            goods.check(f"detail.goods_detail[{index}]")
        if self.cost_price_fen is not None:
            _count("detail.cost_price_fen", self.cost_price_fen, positive=True)
        check_bytes("detail.invoice_id", self.invoice_id, 32, required=False)

    def v3_json(self) -> dict[str, Any]:
        """v3 spelling."""
        return {"cost_price": self.cost_price_fen, "invoice_id": self.invoice_id,
                "goods_detail": [goods.v3_json() for goods in self.goods_detail] or None}

    def v2_json(self) -> dict[str, Any]:
        """v2 spelling (the ``detail`` field is this object as a JSON string)."""
        return {"cost_price": self.cost_price_fen, "receipt_id": self.invoice_id,
                "goods_detail": [goods.v2_json() for goods in self.goods_detail] or None}


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """``scene_info.store_info``: the shop where the payment happens (线下门店)."""

    id: str
    name: str | None = None
    area_code: str | None = None
    address: str | None = None

    def check(self) -> None:
        """Raise ``ConfigurationError`` for a value WeChat would refuse."""
        check_bytes("store_info.id", self.id, 32)
        check_bytes("store_info.name", self.name, 256, required=False)
        check_bytes("store_info.area_code", self.area_code, 32, required=False)
        check_bytes("store_info.address", self.address, 512, required=False)

    def v3_json(self) -> dict[str, Any]:
        """Both APIs spell it alike."""
        return {"id": self.id, "name": self.name, "area_code": self.area_code, "address": self.address}

    v2_json = v3_json


@dataclass(frozen=True, slots=True)
class H5Info:
    """``scene_info.h5_info`` of an H5 (MWEB) payment: where the payer's browser is.

    ``type`` is ``Wap`` (a mobile site: ``app_name`` and ``app_url`` name it; v2 calls them ``wap_name`` and
    ``wap_url``), ``iOS`` (``app_name``, ``bundle_id``) or ``Android`` (``app_name``, ``package_name``).
    """

    type: str = "Wap"
    app_name: str | None = None
    app_url: str | None = None
    bundle_id: str | None = None
    package_name: str | None = None

    def check(self) -> None:
        """Raise ``ConfigurationError`` for a value WeChat would refuse."""
        if self.type not in H5_TYPES:
            raise ConfigurationError(f"h5_info.type must be one of {', '.join(H5_TYPES)}, got {self.type!r}")
        check_bytes("h5_info.app_name", self.app_name, 64, required=False)
        check_bytes("h5_info.app_url", self.app_url, 128, required=False)
        check_bytes("h5_info.bundle_id", self.bundle_id, 128, required=False)
        check_bytes("h5_info.package_name", self.package_name, 128, required=False)

    def v3_json(self) -> dict[str, Any]:
        """v3 spelling."""
        return {"type": self.type, "app_name": self.app_name, "app_url": self.app_url, "bundle_id": self.bundle_id,
                "package_name": self.package_name}

    def v2_json(self) -> dict[str, Any]:
        """v2 spelling: ``IOS``, and ``wap_url``/``wap_name`` for a mobile site."""
        found: dict[str, Any] = {"type": _V2_H5_TYPE[self.type], "app_name": self.app_name,
                                 "bundle_id": self.bundle_id, "package_name": self.package_name}
        if self.type == "Wap":
            found = {"type": "Wap", "wap_url": self.app_url, "wap_name": self.app_name}
        return found
