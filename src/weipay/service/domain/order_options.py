"""The optional parts of a WeChat order that a merchant may ask for when creating an order.

Checked once where they enter (422 ``invalid_options`` naming the field), with WeChat's rules for both APIs (an
order may be paid over either): lengths in UTF-8 bytes, the tighter of v2 and v3. Stored with the order as JSON
and copied to each payment attempt, so a re-created WeChat order carries exactly what the first one did.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from .errors import InvalidInput

__all__ = ["GoodsLine", "OrderOptions", "Store"]

_MAX_GOODS = 100  # WeChat takes more; a merchant order with more lines than this is a mistake, not a cart


@dataclass(frozen=True, slots=True)
class GoodsLine:
    """One line of ``detail.goods_detail`` (single-item coupons): prices in fen."""

    merchant_goods_id: str
    quantity: int
    unit_price_fen: int
    wechatpay_goods_id: str | None = None
    goods_name: str | None = None


@dataclass(frozen=True, slots=True)
class Store:
    """The shop where the payment happens (``scene_info.store_info``)."""

    id: str
    name: str | None = None
    area_code: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class OrderOptions:
    """What WeChat takes besides amount and description. ``no_credit`` is v2's ``limit_pay=no_credit``;
    ``invoice_entry`` is v3 ``support_fapiao`` and v2 ``receipt=Y``; ``device_id`` is v2 ``device_info``."""

    goods_tag: str | None = None
    goods: tuple[GoodsLine, ...] = ()
    cost_price_fen: int | None = None
    invoice_id: str | None = None
    profit_sharing: bool | None = None
    invoice_entry: bool | None = None
    no_credit: bool | None = None
    device_id: str | None = None
    store: Store | None = None

    def check(self) -> None:
        """``invalid_options`` (422) naming the first field WeChat would refuse."""
        _text("goods_tag", self.goods_tag, 32)
        _text("invoice_id", self.invoice_id, 32)
        _text("device_id", self.device_id, 32)
        _count("cost_price_fen", self.cost_price_fen, minimum=1)
        if len(self.goods) > _MAX_GOODS:
            raise InvalidInput("invalid_options", f"options: goods takes at most {_MAX_GOODS} lines")
        for index, line in enumerate(self.goods):
            _text(f"goods[{index}].merchant_goods_id", line.merchant_goods_id, 32, required=True)
            _text(f"goods[{index}].wechatpay_goods_id", line.wechatpay_goods_id, 32)
            _text(f"goods[{index}].goods_name", line.goods_name, 256)
            _count(f"goods[{index}].quantity", line.quantity, minimum=1)
            _count(f"goods[{index}].unit_price_fen", line.unit_price_fen, minimum=0)
        if self.store is not None:
            _text("store.id", self.store.id, 32, required=True)
            _text("store.name", self.store.name, 256)
            _text("store.area_code", self.store.area_code, 32)
            _text("store.address", self.store.address, 512)
        if len(self.to_json().encode()) > 6000:  # v2 carries detail in one field of at most 6000 bytes
            raise InvalidInput("invalid_options", "options: longer than WeChat takes (6000 bytes in all)")

    @property
    def is_empty(self) -> bool:
        """Nothing asked for."""
        return self == OrderOptions()

    def to_json(self) -> str:
        """The stored form (absent members left out)."""
        return json.dumps(_without_empty(asdict(self)), ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> OrderOptions:
        """The options stored by :meth:`to_json` (none for ``None``)."""
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        goods = tuple(GoodsLine(**line) for line in data.pop("goods", ()))
        store = data.pop("store", None)
        return cls(goods=goods, store=Store(**store) if store else None, **data)


def _count(name: str, value: int | None, *, minimum: int) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
        raise InvalidInput("invalid_options", f"options: {name} must be an integer of at least {minimum}")


def _text(name: str, value: str | None, max_bytes: int, *, required: bool = False) -> None:
    """WeChat's rules for a text option: present if required, non-empty, within ``max_bytes`` of UTF-8, printable."""
    if value is None:
        if required:
            raise InvalidInput("invalid_options", f"options: {name} is required")
        return
    size = len(value.encode("utf-8", "surrogatepass"))
    if not value or size > max_bytes:
        raise InvalidInput(
            "invalid_options",
            f"options: {name} must be 1-{max_bytes} bytes in UTF-8 as WeChat counts them (a Chinese character is 3), "
            f"got {size}",
        )
    if any(unicodedata.category(char) in ("Cc", "Cs") or ord(char) > 0xFFFF for char in value):
        raise InvalidInput("invalid_options", f"options: {name} holds a control character or a 4-byte one (emoji)")


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_empty(item) for key, item in value.items() if item is not None and item != ()}
    if isinstance(value, list | tuple):
        return [_without_empty(item) for item in value]
    return value
