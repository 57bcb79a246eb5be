"""The adapter from the use cases to WeChat Pay (``weipay.sdk``), and notification verification."""

from __future__ import annotations

from ._order_options import H5Site
from .async_wechat import AsyncWeChat
from .notifications import verify_v2, verify_v2_payment, verify_v2_refund, verify_v3, verify_v3_offline
from .wechat import RECHARGE_FUNDS, WeChatGateway

__all__ = [
    "RECHARGE_FUNDS",
    "AsyncWeChat",
    "H5Site",
    "WeChatGateway",
    "verify_v2",
    "verify_v2_payment",
    "verify_v2_refund",
    "verify_v3",
    "verify_v3_offline",
]
