"""WeChat Pay API v2 (XML, MD5 / HMAC-SHA256): operations, notifications, client re-signing, bills.

Pure protocol code: nothing here does I/O. A client sends what ``build`` returns and hands the
answer to ``parse``; a web handler hands notification bodies to ``parse_*_notification``.
"""

from __future__ import annotations

from .bill import parse_bill, yuan_to_fen
from .micropay import V2MicropayResult, V2ReverseResult
from .models import (
    BEIJING,
    V2Bill,
    V2BillRow,
    V2BillSummary,
    V2Coupon,
    V2Order,
    V2PaymentNotification,
    V2PrepayResult,
    V2RefundAccepted,
    V2RefundNotification,
    V2RefundQueryResult,
    V2RefundRecord,
)
from .notify import failure_reply, parse_payment_notification, parse_refund_notification, success_reply
from .operations import CloseOrder, DownloadBill, Micropay, OrderQuery, Refund, RefundQuery, Reverse, UnifiedOrder
from .payparams import app_params, jsapi_params
from .signing import SignType, sign, signing_string, verify
from .xmlcodec import from_xml, to_xml

__all__ = [
    "BEIJING",
    "CloseOrder",
    "DownloadBill",
    "Micropay",
    "OrderQuery",
    "Refund",
    "RefundQuery",
    "Reverse",
    "SignType",
    "UnifiedOrder",
    "V2Bill",
    "V2BillRow",
    "V2BillSummary",
    "V2Coupon",
    "V2MicropayResult",
    "V2Order",
    "V2PaymentNotification",
    "V2PrepayResult",
    "V2RefundAccepted",
    "V2RefundNotification",
    "V2RefundQueryResult",
    "V2RefundRecord",
    "V2ReverseResult",
    "app_params",
    "failure_reply",
    "from_xml",
    "jsapi_params",
    "parse_bill",
    "parse_payment_notification",
    "parse_refund_notification",
    "sign",
    "signing_string",
    "success_reply",
    "to_xml",
    "verify",
    "yuan_to_fen",
]
