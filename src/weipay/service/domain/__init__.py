"""The payment service's domain: money, identifiers, records and their state machines. Pure Python."""

from __future__ import annotations

from .entities import ApiVersion, Channel, Order, PaymentAttempt, Refund, RefundKind
from .errors import Busy, Conflict, DomainError, ErrorKind, Forbidden, InvalidInput, NotFound, UpstreamError
from .identifiers import (
    check_out_trade_no,
    duplicate_refund_no,
    new_attempt_id,
    new_order_id,
    new_refund_id,
    out_refund_no,
    out_trade_no,
)
from .money import CURRENCY, MAX_AMOUNT_FEN, check_currency, check_fen, fen_to_yuan, yuan_to_fen
from .order_options import GoodsLine, OrderOptions, Store
from .records import Anomaly, CallRecord, StoredNotification, UserSession
from .shipping import LOGISTICS_TYPES, Shipment
from .states import (
    ATTEMPT_TRANSITIONS,
    ORDER_TRANSITIONS,
    REFUND_TRANSITIONS,
    SHIPPING_TRANSITIONS,
    AttemptEvent,
    AttemptStatus,
    OrderEvent,
    OrderStatus,
    RefundEvent,
    RefundStatus,
    ShippingEvent,
    ShippingStatus,
    can_transition,
    sources_of,
    transition,
)
from .text import check_openid, check_text

__all__ = [
    "ATTEMPT_TRANSITIONS",
    "CURRENCY",
    "LOGISTICS_TYPES",
    "MAX_AMOUNT_FEN",
    "ORDER_TRANSITIONS",
    "REFUND_TRANSITIONS",
    "SHIPPING_TRANSITIONS",
    "Anomaly",
    "ApiVersion",
    "AttemptEvent",
    "AttemptStatus",
    "Busy",
    "CallRecord",
    "Channel",
    "Conflict",
    "DomainError",
    "ErrorKind",
    "Forbidden",
    "GoodsLine",
    "InvalidInput",
    "NotFound",
    "Order",
    "OrderEvent",
    "OrderOptions",
    "OrderStatus",
    "PaymentAttempt",
    "Refund",
    "RefundEvent",
    "RefundKind",
    "RefundStatus",
    "Shipment",
    "ShippingEvent",
    "ShippingStatus",
    "Store",
    "StoredNotification",
    "UpstreamError",
    "UserSession",
    "can_transition",
    "check_currency",
    "check_fen",
    "check_openid",
    "check_out_trade_no",
    "check_text",
    "duplicate_refund_no",
    "fen_to_yuan",
    "new_attempt_id",
    "new_order_id",
    "new_refund_id",
    "out_refund_no",
    "out_trade_no",
    "sources_of",
    "transition",
    "yuan_to_fen",
]
