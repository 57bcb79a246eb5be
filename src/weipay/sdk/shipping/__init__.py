"""小程序发货信息管理: mini-program shipping information, pure (no I/O).

::

    from weipay.sdk import MemoryTokenCache, call_with_access_token
    from weipay.sdk.shipping import LogisticsType, OrderKey, ShippingItem, UploadShippingInfo

    call_with_access_token(client, UploadShippingInfo(
        appid="wx…", order_key=OrderKey(transaction_id="4200…"), logistics_type=LogisticsType.VIRTUAL,
        shipping_list=(ShippingItem(item_desc="Top-up ¥30"),), payer_openid="o…"), tokens)

Operations (``UploadShippingInfo``, ``GetShippingOrder``, ``GetShippingOrderList``, ``IsTradeManaged``,
``NotifyConfirmReceive``) are frozen values that need an access token: run them with
:func:`weipay.sdk.call_with_access_token`. :func:`parse_settlement_event` reads the platform's
``trade_manage_order_settlement`` message.
"""

from __future__ import annotations

from .answers import ShippedItem, ShippingDetail, ShippingOrder, ShippingOrderPage
from .models import Contact, DeliveryMode, LogisticsType, OrderKey, OrderState, ShippingItem, mask_phone
from .operations import GetShippingOrder, GetShippingOrderList, IsTradeManaged, NotifyConfirmReceive, UploadShippingInfo
from .settlement import SETTLEMENT_EVENT, SettlementEvent, parse_settlement_event

__all__ = [
    "SETTLEMENT_EVENT",
    "Contact",
    "DeliveryMode",
    "GetShippingOrder",
    "GetShippingOrderList",
    "IsTradeManaged",
    "LogisticsType",
    "NotifyConfirmReceive",
    "OrderKey",
    "OrderState",
    "SettlementEvent",
    "ShippedItem",
    "ShippingDetail",
    "ShippingItem",
    "ShippingOrder",
    "ShippingOrderPage",
    "UploadShippingInfo",
    "mask_phone",
    "parse_settlement_event",
]
