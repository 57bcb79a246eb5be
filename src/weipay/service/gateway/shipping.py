"""The mini-program platform's shipping calls as gateway flows: what to send and what each answer means.

Uploads are not idempotent at WeChat (one change is allowed after shipping, and a repeat may spend it), so a
lost answer is UNKNOWN and the use case asks ``get_order`` before sending again. ``SHIPPING_INFO_UNCHANGED``
means the platform already has exactly this: a success. ``PAYMENT_NOT_FOUND`` right after a payment (the
platform files payments a few seconds late), a busy platform, or a token refused even after a refresh are
PENDING: the job tries again later.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from weipay.sdk import TokenCache
from weipay.sdk.shipping import (
    Contact,
    DeliveryMode,
    GetShippingOrder,
    LogisticsType,
    OrderKey,
    ShippingItem,
    UploadShippingInfo,
)
from weipay.service.domain import Shipment
from weipay.service.usecases.ports import Outcome, ShippingAnswer, ShippingState

from ._calls import CallResult, Calls, Exchange

__all__ = ["query_shipping_flow", "upload_shipping_flow"]

_LATER_CODES = frozenset({"PAYMENT_NOT_FOUND", "SYSTEM_BUSY", "FREQUENCY_LIMITED", "INVALID_CREDENTIAL",
                          "INVALID_ACCESS_TOKEN", "ACCESS_TOKEN_EXPIRED"})  # fmt: skip
_ALREADY_ON_RECORD = "SHIPPING_INFO_UNCHANGED"

MakeExchange = Callable[..., Exchange]


def _item(entry: Any) -> ShippingItem:
    contact = entry.get("contact")
    return ShippingItem(
        item_desc=str(entry["item_desc"]), tracking_no=entry.get("tracking_no"),
        express_company=entry.get("express_company"),
        contact=Contact(contact.get("consignor_contact"), contact.get("receiver_contact")) if contact else None,
    )  # fmt: skip


def _upload_operation(shipment: Shipment) -> UploadShippingInfo:
    return UploadShippingInfo(
        appid=shipment.appid, order_key=OrderKey(transaction_id=shipment.transaction_id),
        logistics_type=LogisticsType(shipment.logistics_type), delivery_mode=DeliveryMode(shipment.delivery_mode),
        shipping_list=tuple(_item(entry) for entry in shipment.items), payer_openid=shipment.payer_openid,
        is_all_delivered=shipment.is_all_delivered,
    )  # fmt: skip


def upload_shipping_flow(exchange: MakeExchange, tokens: TokenCache, shipment: Shipment) -> Calls[ShippingAnswer]:
    """Upload ``shipment`` and classify the answer."""
    request = {"transaction_id": shipment.transaction_id, "logistics_type": shipment.logistics_type,
               "delivery_mode": shipment.delivery_mode, "packages": len(shipment.items)}  # fmt: skip
    result: CallResult = yield exchange(
        shipment.mchid, "wxa", "wxa/sec/order/upload_shipping_info", partial(_upload_operation, shipment), request,
        lambda _: {"errcode": 0}, tokens=tokens,
    )  # fmt: skip
    if result.refused is None and result.unknown is None:
        return ShippingAnswer(Outcome.SUCCEEDED, result.record)
    if result.refused is not None:
        code, message = result.refused.code, result.refused.message[:256]
        if code == _ALREADY_ON_RECORD:
            return ShippingAnswer(Outcome.SUCCEEDED, result.record, code, message)
        later = code in _LATER_CODES or result.refused.retryable
        return ShippingAnswer(Outcome.PENDING if later else Outcome.FAILED, result.record, code, message)
    return ShippingAnswer(Outcome.UNKNOWN, result.record, "outcome_unknown", None)


def query_shipping_flow(
    exchange: MakeExchange, tokens: TokenCache, mchid: str, appid: str, transaction_id: str
) -> Calls[ShippingState]:
    """Ask get_order about one payment."""
    operation = partial(GetShippingOrder, appid, OrderKey(transaction_id=transaction_id))
    result: CallResult = yield exchange(
        mchid, "wxa", "wxa/sec/order/get_order", operation, {"transaction_id": transaction_id},
        lambda order: {"order_state": int(order.order_state)}, tokens=tokens,
    )  # fmt: skip
    if result.refused is not None:
        outcome = Outcome.FAILED if result.refused.code == "PAYMENT_NOT_FOUND" else Outcome.UNKNOWN
        return ShippingState(outcome, result.record, error_code=result.refused.code)
    if result.unknown is not None:
        return ShippingState(Outcome.UNKNOWN, result.record, error_code="outcome_unknown")
    order = result.value
    detail = order.shipping
    items = detail.shipping_list if detail is not None else ()
    return ShippingState(
        Outcome.SUCCEEDED, result.record, order_state=int(order.order_state),
        logistics_type=int(detail.logistics_type) if detail is not None and detail.logistics_type else None,
        tracking_nos=tuple(item.tracking_no for item in items), goods_descs=tuple(item.goods_desc for item in items),
    )  # fmt: skip
