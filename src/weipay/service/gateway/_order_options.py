"""An attempt's order options, and the merchant's H5 site, as the SDK's create-order arguments for v3 and v2.

One reading of the stored options for both APIs: a re-created WeChat order must carry exactly what the first
one did, whichever API the attempt speaks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from weipay.sdk.order_options import GoodsDetail, H5Info, OrderDetail, StoreInfo
from weipay.service.domain import OrderOptions, PaymentAttempt

__all__ = ["H5Site", "v2_arguments", "v3_arguments"]


@dataclass(frozen=True, slots=True)
class H5Site:
    """The merchant's mobile site, as WeChat's H5 payments name it (``h5_info`` ``app_url``/``app_name``, v2
    ``wap_url``/``wap_name``): the site the payer's browser was on."""

    url: str
    name: str


def _detail(options: OrderOptions) -> OrderDetail | None:
    if not (options.goods or options.cost_price_fen is not None or options.invoice_id is not None):
        return None
    goods = tuple(GoodsDetail(line.merchant_goods_id, line.quantity, line.unit_price_fen,
                              wechatpay_goods_id=line.wechatpay_goods_id, goods_name=line.goods_name)
                  for line in options.goods)  # fmt: skip
    return OrderDetail(goods, cost_price_fen=options.cost_price_fen, invoice_id=options.invoice_id)


def _store(options: OrderOptions) -> StoreInfo | None:
    store = options.store
    return None if store is None else StoreInfo(store.id, store.name, store.area_code, store.address)


def v3_arguments(attempt: PaymentAttempt, site: H5Site) -> dict[str, Any]:
    """The options of ``v3.CreateOrder`` (``scene_info`` members only with the payer's IP, which it requires)."""
    options = OrderOptions.from_json(attempt.options)
    arguments: dict[str, Any] = {
        "goods_tag": options.goods_tag, "detail": _detail(options), "profit_sharing": options.profit_sharing,
        "support_fapiao": options.invoice_entry,
    }
    if attempt.client_ip is not None:
        arguments.update(device_id=options.device_id, store_info=_store(options))
    if attempt.channel.value == "h5":
        arguments["h5_info"] = H5Info("Wap", app_name=site.name, app_url=site.url)
    return arguments


def v2_arguments(attempt: PaymentAttempt, site: H5Site) -> dict[str, Any]:
    """The options of ``v2.UnifiedOrder``; v2 takes ``detail`` and ``scene_info`` as JSON strings."""
    options = OrderOptions.from_json(attempt.options)
    h5_info = H5Info("Wap", app_name=site.name, app_url=site.url) if attempt.channel.value == "h5" else None
    store = _store(options)
    scene_info = None
    if h5_info is not None or store is not None:
        scene: dict[str, Any] = {"h5_info": h5_info.v2_json() if h5_info else None,
                                 "store_info": store.v2_json() if store else None}
        scene_info = json.dumps({key: _compact(value) for key, value in scene.items() if value},
                                ensure_ascii=False, separators=(",", ":"))  # fmt: skip
    return {
        "goods_tag": options.goods_tag, "detail": _detail(options), "device_info": options.device_id,
        "limit_pay": "no_credit" if options.no_credit else None, "receipt": options.invoice_entry,
        "scene_info": scene_info,
    }


def _compact(value: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in value.items() if item is not None}
