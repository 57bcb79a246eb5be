"""Use cases: plain functions taking their collaborators (unit of work, gateway, clock, merchant) as parameters.

The web layer, the admin console, the CLI and the job worker all call these; none of them touches
the state tables any other way.
"""

from __future__ import annotations

from .abnormal_refunds import apply_abnormal_refund, resolve_abnormal_refund
from .external_refunds import ExternalRefund, record_external_refund
from .lifecycle import close_order, expire_order, get_order
from .listing import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, OrderPage, RefundPage, list_filter, list_orders, list_refunds
from .login import LoginResult, login, session_for_token
from .notifications import (
    accept_notifications,
    accept_payment_notification,
    accept_payment_notifications,
    accept_refund_notification,
    record_anomaly,
)
from .orders import CreateOrder, create_order, create_order_idempotently, load_order
from .payments import PaymentStart, start_payment, sync_attempt
from .ports import (
    BillEntry,
    CloseAnswer,
    Gateway,
    LoginAnswer,
    MerchantConfig,
    Outcome,
    PaymentNotice,
    PaymentStatus,
    PrepayAnswer,
    RefundAnswer,
    RefundNotice,
    UnitOfWork,
)
from .queries import (
    CallEntry,
    OrderDetails,
    OrderEvents,
    list_anomalies,
    order_call_log,
    order_details,
    order_events,
    payment_code_url,
    search_orders,
)
from .reconcile import Discrepancy, ReconcileReport, reconcile_day
from .refunds import (
    approve_refund,
    auto_refund_attempt,
    get_refund,
    reject_refund,
    request_refund,
    request_refund_idempotently,
    submit_refund,
    sync_refund,
)
from .settlement import Applied
from .timeline import TIMELINE_TYPES, TimelineEvent, order_timeline

__all__ = [
    "LIST_LIMIT_DEFAULT",
    "LIST_LIMIT_MAX",
    "TIMELINE_TYPES",
    "Applied",
    "BillEntry",
    "CallEntry",
    "CloseAnswer",
    "CreateOrder",
    "Discrepancy",
    "ExternalRefund",
    "Gateway",
    "LoginAnswer",
    "LoginResult",
    "MerchantConfig",
    "OrderDetails",
    "OrderEvents",
    "OrderPage",
    "Outcome",
    "PaymentNotice",
    "PaymentStart",
    "PaymentStatus",
    "PrepayAnswer",
    "ReconcileReport",
    "RefundAnswer",
    "RefundNotice",
    "RefundPage",
    "TimelineEvent",
    "UnitOfWork",
    "accept_notifications",
    "accept_payment_notification",
    "accept_payment_notifications",
    "accept_refund_notification",
    "apply_abnormal_refund",
    "approve_refund",
    "auto_refund_attempt",
    "close_order",
    "create_order",
    "create_order_idempotently",
    "expire_order",
    "get_order",
    "get_refund",
    "list_anomalies",
    "list_filter",
    "list_orders",
    "list_refunds",
    "load_order",
    "login",
    "order_call_log",
    "order_details",
    "order_events",
    "order_timeline",
    "payment_code_url",
    "reconcile_day",
    "record_anomaly",
    "record_external_refund",
    "reject_refund",
    "request_refund",
    "request_refund_idempotently",
    "resolve_abnormal_refund",
    "search_orders",
    "session_for_token",
    "start_payment",
    "submit_refund",
    "sync_attempt",
    "sync_refund",
]
