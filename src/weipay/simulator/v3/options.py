"""The optional parts of a v3 prepay body, checked as WeChat checks them (byte lengths, types, required members).

``goods_tag``, ``detail`` (``cost_price``, ``invoice_id``, ``goods_detail[]``), ``settle_info.profit_sharing``,
``support_fapiao`` and ``scene_info`` (``device_id``, ``store_info``, ``h5_info``). A bad one is ``400 PARAM_ERROR``
naming its JSON path; a good one is kept with the order (``Order.extra``) so tests and the control API can see
exactly what the merchant sent.
"""

from __future__ import annotations

from typing import Any

from .errors import param_error
from .fields import check_int, check_object, check_str, optional_str

__all__ = ["check_options"]

_MAX_GOODS = 6000
_STORE = (("id", 32, True), ("name", 256, False), ("area_code", 32, False), ("address", 512, False))
_H5 = (("app_name", 64), ("app_url", 128), ("bundle_id", 128), ("package_name", 128))


def _bool(container: dict[str, Any], name: str, path: str) -> bool | None:
    value = container.get(name)
    if value is not None and not isinstance(value, bool):
        raise param_error(f"{path}{name}", "应为布尔值", value)
    return value


def _goods(detail: dict[str, Any]) -> list[dict[str, Any]]:
    goods = detail.get("goods_detail")
    if goods is None:
        return []
    if not isinstance(goods, list) or len(goods) > _MAX_GOODS:
        raise param_error("/detail/goods_detail", f"应为不超过{_MAX_GOODS}项的数组", goods)
    checked = []
    for index, line in enumerate(goods):
        path = f"/detail/goods_detail/{index}/"
        if not isinstance(line, dict):
            raise param_error(path.rstrip("/"), "应为JSON对象", line)
        checked.append({
            "merchant_goods_id": check_str(line, "merchant_goods_id", path, max_bytes=32),
            "wechatpay_goods_id": optional_str(line, "wechatpay_goods_id", path, max_bytes=32),
            "goods_name": optional_str(line, "goods_name", path, max_bytes=256),
            "quantity": check_int(line, "quantity", path, minimum=1),
            "unit_price": check_int(line, "unit_price", path, minimum=0),
        })
    return checked


def _detail(body: dict[str, Any]) -> dict[str, Any] | None:
    detail = check_object(body, "detail", "/", required=False)
    if detail is None:
        return None
    cost_price = check_int(detail, "cost_price", "/detail/", minimum=1) if detail.get("cost_price") is not None \
        else None  # fmt: skip
    return {"cost_price": cost_price, "invoice_id": optional_str(detail, "invoice_id", "/detail/", max_bytes=32),
            "goods_detail": _goods(detail)}


def _scene(scene_info: dict[str, Any] | None, channel: str) -> dict[str, Any]:
    if scene_info is None:
        return {}
    found: dict[str, Any] = {"device_id": optional_str(scene_info, "device_id", "/scene_info/", max_bytes=32)}
    store = check_object(scene_info, "store_info", "/scene_info/", required=False)
    if store is not None:
        path = "/scene_info/store_info/"
        found["store_info"] = {
            name: check_str(store, name, path, max_bytes=limit) if required
            else optional_str(store, name, path, max_bytes=limit)
            for name, limit, required in _STORE
        }
    h5_info = check_object(scene_info, "h5_info", "/scene_info/", required=channel == "h5")
    if h5_info is not None:
        if channel != "h5":
            raise param_error("/scene_info/h5_info", "仅H5支付可传h5_info", h5_info)
        path = "/scene_info/h5_info/"
        kind = check_str(h5_info, "type", path, max_bytes=32)
        if kind not in ("iOS", "Android", "Wap"):
            raise param_error(f"{path}type", "取值应为iOS、Android或Wap", kind)
        found["h5_info"] = {"type": kind, **{name: optional_str(h5_info, name, path, max_bytes=limit)
                                             for name, limit in _H5}}
    return found


def check_options(body: dict[str, Any], scene_info: dict[str, Any] | None, channel: str) -> dict[str, Any]:
    """The options of a prepay body, checked; absent ones left out."""
    settle = check_object(body, "settle_info", "/", required=False)
    options = {
        "goods_tag": optional_str(body, "goods_tag", "/", max_bytes=32),
        "support_fapiao": _bool(body, "support_fapiao", "/"),
        "profit_sharing": _bool(settle, "profit_sharing", "/settle_info/") if settle is not None else None,
        "detail": _detail(body),
        **_scene(scene_info, channel),
    }
    checked: dict[str, Any] = _without_none(options)
    return checked


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None and item != []}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value
