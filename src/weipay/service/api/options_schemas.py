"""``options`` of ``POST /v1/orders``: what WeChat gets besides amount and description, as the API spells it.

Shapes and types are checked here (422 from the body reader); WeChat's byte lengths by the domain's
``OrderOptions.check`` (422 ``invalid_options``), where the text rules of every entry point live.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from weipay.service.domain import GoodsLine, OrderOptions, Store

__all__ = ["GoodsLineIn", "OrderOptionsIn", "StoreIn", "options_out"]

_FORBID = ConfigDict(extra="forbid")


class GoodsLineIn(BaseModel):
    """One line of the goods a single-item coupon may apply to (``detail.goods_detail``); prices in fen."""

    model_config = _FORBID
    merchant_goods_id: str = Field(min_length=1, max_length=32)
    quantity: StrictInt = Field(ge=1)
    unit_price: StrictInt = Field(ge=0, description="fen")
    wechatpay_goods_id: str | None = Field(default=None, max_length=32)
    goods_name: str | None = Field(default=None, max_length=256)


class StoreIn(BaseModel):
    """The shop where the payment happens (``scene_info.store_info``)."""

    model_config = _FORBID
    id: str = Field(min_length=1, max_length=32)
    name: str | None = Field(default=None, max_length=256)
    area_code: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=512)


class OrderOptionsIn(BaseModel):
    """Optional WeChat order fields, sent with every payment attempt of the order (v3 and v2 alike).

    ``no_credit`` (v2 ``limit_pay=no_credit``) has no v3 counterpart; ``invoice_entry`` is v3 ``support_fapiao``
    and v2 ``receipt=Y``; ``device_id`` and ``store`` travel in ``scene_info`` (v2: ``device_info``).
    Lengths are WeChat's, in UTF-8 bytes (a Chinese character is 3).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "goods_tag": "AUTUMN", "cost_price": 2500, "invoice_id": "INV-7",
        "goods": [{"merchant_goods_id": "MUG-1", "quantity": 1, "unit_price": 1999, "goods_name": "Weipay mug"}],
        "profit_sharing": False, "invoice_entry": True, "device_id": "POS-7",
        "store": {"id": "SZ-01", "name": "南山店", "area_code": "440305"},
    }]})  # fmt: skip
    goods_tag: str | None = Field(default=None, min_length=1, max_length=32)
    goods: list[GoodsLineIn] = Field(default_factory=list, max_length=100)
    cost_price: StrictInt | None = Field(default=None, ge=1, description="fen: the order's price before discounts")
    invoice_id: str | None = Field(default=None, min_length=1, max_length=32)
    profit_sharing: StrictBool | None = None
    invoice_entry: StrictBool | None = None
    no_credit: StrictBool | None = None
    device_id: str | None = Field(default=None, min_length=1, max_length=32)
    store: StoreIn | None = None

    def to_domain(self) -> OrderOptions:
        """The domain value (checked there against WeChat's byte lengths)."""
        store = self.store
        return OrderOptions(
            goods_tag=self.goods_tag,
            goods=tuple(GoodsLine(line.merchant_goods_id, line.quantity, line.unit_price,
                                  wechatpay_goods_id=line.wechatpay_goods_id, goods_name=line.goods_name)
                        for line in self.goods),
            cost_price_fen=self.cost_price, invoice_id=self.invoice_id, profit_sharing=self.profit_sharing,
            invoice_entry=self.invoice_entry, no_credit=self.no_credit, device_id=self.device_id,
            store=Store(store.id, store.name, store.area_code, store.address) if store is not None else None,
        )  # fmt: skip


def options_out(stored: str | None) -> dict[str, Any] | None:
    """An order's stored options in the API's spelling (what ``options`` of ``POST /v1/orders`` took)."""
    if not stored:
        return None
    options = OrderOptions.from_json(stored)
    found = OrderOptionsIn(
        goods_tag=options.goods_tag,
        goods=[GoodsLineIn(merchant_goods_id=line.merchant_goods_id, quantity=line.quantity,
                           unit_price=line.unit_price_fen, wechatpay_goods_id=line.wechatpay_goods_id,
                           goods_name=line.goods_name) for line in options.goods],
        cost_price=options.cost_price_fen, invoice_id=options.invoice_id, profit_sharing=options.profit_sharing,
        invoice_entry=options.invoice_entry, no_credit=options.no_credit, device_id=options.device_id,
        store=StoreIn(**asdict(options.store)) if options.store is not None else None,
    ).model_dump(exclude_none=True)
    if not found["goods"]:
        del found["goods"]
    return found

