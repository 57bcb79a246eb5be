"""Use cases: plain functions taking their collaborators (unit of work, gateway, clock, merchant) as parameters.

The web layer, the admin console, the CLI and the job worker all call these; none of them touches
the state tables any other way. Those that ask WeChat come twice: ``*_flow`` (a generator the API drives on
its event loop, see ``flows``) and the same name without the suffix, driven to its end with blocking calls.
"""

from __future__ import annotations

from .abnormal_refunds import apply_abnormal_refund, apply_abnormal_refund_flow, resolve_abnormal_refund
from .anomalies import resolve_anomaly
from .external_refunds import ExternalRefund, record_external_refund
from .flows import blocking
from .lifecycle import close_order, close_order_flow, due_for_sync, expire_order, get_order, get_order_flow
from .listing import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, OrderPage, RefundPage, list_filter, list_orders, list_refunds
from .login import LoginResult, login, login_flow, session_for_token
from .notifications import (
    accept_notifications,
    accept_payment_notification,
    accept_payment_notifications,
    accept_refund_notification,
    record_anomaly,
)
from .operator_sessions import (
    OPERATOR_SESSION_TTL_S,
    end_operator_session,
    find_operator_session,
    start_operator_session,
)
from .orders import CreateOrder, create_order, create_order_idempotently, load_order
from .payments import PaymentStart, start_payment, start_payment_flow, sync_attempt
from .ports import (
    BillEntry,
    Calls,
    CloseAnswer,
    Gateway,
    LoginAnswer,
    MerchantConfig,
    Outcome,
    PaymentNotification,
    PaymentStatus,
    PrepayAnswer,
    RefundAnswer,
    RefundNotification,
    UnitOfWork,
)
from .queries import (
    CallEntry,
    OrderDetails,
    OrderEvents,
    list_alerts_sent,
    list_anomalies,
    list_reconciliation_reports,
    order_call_log,
    order_details,
    order_events,
    payment_code_url,
    search_orders,
)
from .reconcile import Discrepancy, ReconcileReport, reconcile_day
from .refunds import (
    approve_refund,
    approve_refund_flow,
    auto_refund_attempt,
    get_refund,
    reject_refund,
    request_refund,
    request_refund_flow,
    request_refund_idempotently,
    submit_refund,
    sync_refund,
)
from .settlement import Applied
from .timeline import TIMELINE_TYPES, TimelineEvent, order_timeline
from .webhook_delivery import DeliveryWithAttempts, redeliver_webhook, webhook_deliveries_for_order

__all__ = [
    "LIST_LIMIT_DEFAULT",
    "LIST_LIMIT_MAX",
    "OPERATOR_SESSION_TTL_S",
    "TIMELINE_TYPES",
    "Applied",
    "BillEntry",
    "CallEntry",
    "Calls",
    "CloseAnswer",
    "CreateOrder",
    "DeliveryWithAttempts",
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
    "PaymentNotification",
    "PaymentStart",
    "PaymentStatus",
    "PrepayAnswer",
    "ReconcileReport",
    "RefundAnswer",
    "RefundNotification",
    "RefundPage",
    "TimelineEvent",
    "UnitOfWork",
    "accept_notifications",
    "accept_payment_notification",
    "accept_payment_notifications",
    "accept_refund_notification",
    "apply_abnormal_refund",
    "apply_abnormal_refund_flow",
    "approve_refund",
    "approve_refund_flow",
    "auto_refund_attempt",
    "blocking",
    "close_order",
    "close_order_flow",
    "create_order",
    "create_order_idempotently",
    "due_for_sync",
    "end_operator_session",
    "expire_order",
    "find_operator_session",
    "get_order",
    "get_order_flow",
    "get_refund",
    "list_alerts_sent",
    "list_anomalies",
    "list_filter",
    "list_orders",
    "list_reconciliation_reports",
    "list_refunds",
    "load_order",
    "login",
    "login_flow",
    "order_call_log",
    "order_details",
    "order_events",
    "order_timeline",
    "payment_code_url",
    "reconcile_day",
    "record_anomaly",
    "record_external_refund",
    "redeliver_webhook",
    "reject_refund",
    "request_refund",
    "request_refund_flow",
    "request_refund_idempotently",
    "resolve_abnormal_refund",
    "resolve_anomaly",
    "search_orders",
    "session_for_token",
    "start_operator_session",
    "start_payment",
    "start_payment_flow",
    "submit_refund",
    "sync_attempt",
    "sync_refund",
    "webhook_deliveries_for_order",
]
