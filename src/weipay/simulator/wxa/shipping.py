"""``upload_shipping_info`` and ``notify_confirm_receive``: the platform's rules, in the order it applies them.

Field errors answer 47001 (data format error) with a hint naming the field, as WeChat does for malformed
requests. Then, for the payment: 10060001 not found (or not managed), 10060004 past shipping (receipt
confirmed, completed, refunded), 10060031 the payer is not the one who paid, 10060023 the same information is
already on record, 10060003 the one re-shipment was already used. An upload that completes shipping
(unified, or split with ``is_all_delivered``) moves 待发货 → 已发货 and pushes the first
``trade_manage_order_settlement`` message (shipped, with the estimated settlement time); a split upload that
is not yet complete only records its packages.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..clock import parse_rfc3339
from ..state import SimulatorState
from . import messages
from .orders import AWAITING_SHIPMENT, SHIPPED, ManagedPayment, dumps, find_payment
from .wire import WxaError

__all__ = ["MAX_PACKAGES", "notify_confirm_receive", "upload_shipping_info"]

MAX_PACKAGES = 15
_MASKED = re.compile(r"[0-9+\-]*\*+[0-9+\-*]*\d{4}")
_LOGISTICS = (1, 2, 3, 4)
_EXPRESS = 1


def _hint(field: str, rule: str) -> WxaError:
    return WxaError(47001, f"data format error, hint: {field} {rule}")


def _text(item: dict[str, Any], key: str, name: str, *, max_bytes: int, required: bool) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        if required:
            raise _hint(name, "is required")
        return None
    if not isinstance(value, str) or len(value.encode()) > max_bytes:
        raise _hint(name, f"must be a string of at most {max_bytes} bytes")
    return value


def _entries(data: dict[str, Any], logistics_type: int, now: float) -> list[dict[str, Any]]:
    items = data.get("shipping_list")
    if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
        raise _hint("shipping_list", "needs 1 to 15 objects")
    if len(items) > MAX_PACKAGES:
        raise _hint("shipping_list", f"takes at most {MAX_PACKAGES} packages")
    entries = []
    for place, item in enumerate(items):
        name = f"shipping_list[{place}]"
        express = logistics_type == _EXPRESS
        tracking_no = _text(item, "tracking_no", f"{name}.tracking_no", max_bytes=128, required=express)
        company = _text(item, "express_company", f"{name}.express_company", max_bytes=64, required=express)
        desc = _text(item, "item_desc", f"{name}.item_desc", max_bytes=360, required=True)
        if desc is not None and len(desc) > 120:
            raise _hint(f"{name}.item_desc", "must be at most 120 characters")
        entry: dict[str, Any] = {"tracking_no": tracking_no or "", "express_company": company or "",
                                 "goods_desc": desc, "upload_time": int(now)}
        contact = item.get("contact")
        if contact is not None:
            entry["contact"] = _contact(contact, f"{name}.contact")
        elif company == "SF":
            raise _hint(f"{name}.contact", "is required for SF Express")
        entries.append(entry)
    return entries


def _contact(contact: Any, name: str) -> dict[str, str]:
    if not isinstance(contact, dict):
        raise _hint(name, "must be an object")
    numbers: dict[str, str] = {}
    for key in ("consignor_contact", "receiver_contact"):
        value = contact.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or _MASKED.fullmatch(value) is None:
            raise _hint(f"{name}.{key}", "must be masked with its last 4 digits in clear")
        numbers[key] = value
    if not numbers:
        raise _hint(name, "needs consignor_contact or receiver_contact")
    return numbers


def _modes(data: dict[str, Any]) -> tuple[int, int]:
    logistics_type, delivery_mode = data.get("logistics_type"), data.get("delivery_mode")
    if logistics_type not in _LOGISTICS or isinstance(logistics_type, bool):
        raise _hint("logistics_type", "must be 1, 2, 3 or 4")
    if delivery_mode not in (1, 2) or isinstance(delivery_mode, bool):
        raise _hint("delivery_mode", "must be 1 (UNIFIED_DELIVERY) or 2 (SPLIT_DELIVERY)")
    items = data.get("shipping_list")
    if delivery_mode == 1 and isinstance(items, list) and len(items) != 1:
        raise _hint("shipping_list", "takes exactly one entry in unified delivery")
    if delivery_mode == 2:
        if logistics_type != _EXPRESS:
            raise _hint("delivery_mode", "split delivery is for express delivery (logistics_type 1) only")
        if not isinstance(data.get("is_all_delivered"), bool):
            raise _hint("is_all_delivered", "is required in split delivery")
    return int(logistics_type), int(delivery_mode)


def _check_request(data: dict[str, Any]) -> tuple[int, int, str, float]:
    logistics_type, delivery_mode = _modes(data)
    upload_time = data.get("upload_time")
    try:
        upload_at = parse_rfc3339(upload_time) if isinstance(upload_time, str) else None
    except ValueError:
        upload_at = None
    if upload_at is None:
        raise _hint("upload_time", "must be RFC 3339, e.g. 2022-12-15T13:29:35.120+08:00")
    payer = data.get("payer")
    openid = payer.get("openid") if isinstance(payer, dict) else None
    if not isinstance(openid, str) or not openid:
        raise _hint("payer.openid", "is required")
    return logistics_type, delivery_mode, openid, upload_at


def upload_shipping_info(sim: SimulatorState, data: dict[str, Any]) -> None:
    """Apply one upload (see the module docstring); raises :class:`WxaError` when WeChat would refuse it."""
    logistics_type, delivery_mode, openid, _ = _check_request(data)
    now = sim.now()
    entries = _entries(data, logistics_type, now)
    payment = find_payment(sim, data, upload=True)
    record = payment.record
    if payment.state > SHIPPED:
        raise WxaError(10060004, "当前订单状态不支持发货")
    if openid != payment.order.payer_openid:
        raise WxaError(10060031, "支付单与payer.openid不匹配")
    complete = delivery_mode == 1 or data.get("is_all_delivered") is True
    if payment.state == SHIPPED:
        if _same(record.entries, entries) and (record.logistics_type, record.delivery_mode) == (
                logistics_type, delivery_mode):
            raise WxaError(10060023, "发货信息未更新")
        if record.shipments >= 2:
            raise WxaError(10060003, "支付单已使用重新发货机会")
    if delivery_mode == 2 and payment.state == AWAITING_SHIPMENT and record.delivery_mode == 2:
        entries = _merge(record.entries, entries)  # split packages accumulate until all are delivered
    updated = replace(
        record, logistics_type=logistics_type, delivery_mode=delivery_mode, finish_shipping=int(complete),
        shipping_list=dumps(entries), upload_time=str(data["upload_time"]),
        order_state=SHIPPED if complete else AWAITING_SHIPMENT,
        shipments=record.shipments + (1 if complete else 0), shipped_at=now if complete else record.shipped_at,
    )  # fmt: skip
    if not payment.save(sim, updated):
        raise WxaError(-1, "system error")  # a concurrent upload moved it: WeChat's busy answer, try again
    if complete and payment.state == AWAITING_SHIPMENT:
        messages.push_settlement(sim, ManagedPayment(sim, payment.order))


def _same(stored: list[dict[str, Any]], sent: list[dict[str, Any]]) -> bool:
    def key(entry: dict[str, Any]) -> tuple[str, str, str]:
        return entry.get("tracking_no", ""), entry.get("express_company", ""), entry.get("goods_desc", "")
    return sorted(map(key, stored)) == sorted(map(key, sent))


def _merge(stored: list[dict[str, Any]], sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    known = {entry.get("tracking_no") for entry in stored}
    merged = stored + [entry for entry in sent if entry.get("tracking_no") not in known]
    if len(merged) > MAX_PACKAGES:
        raise _hint("shipping_list", f"takes at most {MAX_PACKAGES} packages in all")
    return merged


def notify_confirm_receive(sim: SimulatorState, data: dict[str, Any]) -> None:
    """Remind the buyer to confirm receipt: once per payment, only once shipped."""
    received_time = data.get("received_time")
    if not isinstance(received_time, int) or isinstance(received_time, bool) or received_time <= 0:
        raise _hint("received_time", "must be Unix seconds")
    payment = find_payment(sim, data, upload=False)
    if payment.state != SHIPPED:
        raise WxaError(10060004, "当前订单状态不支持该操作")
    if received_time < int(payment.record.shipped_at or 0) or received_time > sim.now() + 60:
        raise WxaError(10060029, "received_time不合理")
    if payment.record.confirm_reminded:
        raise WxaError(10060004, "该订单已提醒过确认收货")
    payment.save(sim, replace(payment.record, confirm_reminded=1))
