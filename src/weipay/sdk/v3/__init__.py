"""WeChat Pay API v3 protocol, pure (no I/O): signing, verification, operations, notifications.

Merchant side::

    from weipay.sdk.v3 import CreateOrder, QueryOrder, parse_notification, jsapi_params

Operations (``CreateOrder``, ``QueryOrder``, ``CloseOrder``, ``CodepayOrder``, ``ReverseOrder``, ``CreateRefund``,
``QueryRefund``, ``ApplyAbnormalRefund``, ``TradeBill``, ``FundFlowBill``, ``DownloadBill``, ``DownloadCertificates``)
are frozen values run by ``weipay.sdk`` clients; ``RawRequest`` reaches any other v3 path, signed and verified
alike. WeChat's side (signing answers, sealing notifications, checking merchants' Authorization), used by
the simulator and tests, lives in :mod:`weipay.sdk.v3.wechat_side`.
"""

from __future__ import annotations

from .bills import BillFile, BillRow, DownloadBill, FundFlowBill, TradeBill, parse_bill, yuan_to_fen
from .certificates import DownloadCertificates, decrypt_certificates
from .codepay import CodepayOrder, ReverseOrder, StoreInfo
from .models import (
    BillLocation,
    PrepayResult,
    PromotionDetail,
    Refund,
    RefundAmount,
    RefundNotification,
    RefundResult,
    Transaction,
    TransactionAmount,
    TransactionNotification,
)
from .notify import Notification, failure_reply, parse_notification, success_reply
from .orders import Channel, CloseOrder, CreateOrder, QueryOrder
from .payparams import app_params, jsapi_params
from .raw import RawRequest, RawResponse
from .refunds import ApplyAbnormalRefund, CreateRefund, QueryRefund
from .responses import refusal
from .sensitive import encrypt_sensitive, sensitive_headers
from .signing import SCHEME, AuthorizationParams, authorization, parse_authorization, request_message, response_message
from .verifier import SIGNTEST_PREFIX, TIMESTAMP_WINDOW_S, SignedHeaders, UnknownSerial, Verifier, is_valid_serial

__all__ = [
    "SCHEME",
    "SIGNTEST_PREFIX",
    "TIMESTAMP_WINDOW_S",
    "ApplyAbnormalRefund",
    "AuthorizationParams",
    "BillFile",
    "BillLocation",
    "BillRow",
    "Channel",
    "CloseOrder",
    "CodepayOrder",
    "CreateOrder",
    "CreateRefund",
    "DownloadBill",
    "DownloadCertificates",
    "FundFlowBill",
    "Notification",
    "PrepayResult",
    "PromotionDetail",
    "QueryOrder",
    "QueryRefund",
    "RawRequest",
    "RawResponse",
    "Refund",
    "RefundAmount",
    "RefundNotification",
    "RefundResult",
    "ReverseOrder",
    "SignedHeaders",
    "StoreInfo",
    "TradeBill",
    "Transaction",
    "TransactionAmount",
    "TransactionNotification",
    "UnknownSerial",
    "Verifier",
    "app_params",
    "authorization",
    "decrypt_certificates",
    "encrypt_sensitive",
    "failure_reply",
    "is_valid_serial",
    "jsapi_params",
    "parse_authorization",
    "parse_bill",
    "parse_notification",
    "refusal",
    "request_message",
    "response_message",
    "sensitive_headers",
    "success_reply",
    "yuan_to_fen",
]
