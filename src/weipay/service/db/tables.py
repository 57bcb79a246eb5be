"""The schema, as SQLAlchemy Core tables with portable types (SQLite and PostgreSQL alike).

Times are unix seconds (``*_at``, float) so that the injected clock is the only clock. Money is
integer fen (BigInteger). The unique constraints are the last line of defence against double
counting: one ``out_trade_no`` per merchant, one ``transaction_id``, one ``out_refund_no``, one raw
notification per WeChat event id, one job per dedupe key; the check constraint keeps refunds within
what was paid even if a bug slipped past the compare-and-set.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "alert_deliveries",
    "alert_events",
    "anomalies",
    "api_keys",
    "call_log",
    "jobs",
    "metadata",
    "notifications",
    "operator_sessions",
    "order_shipping",
    "orders",
    "payment_attempts",
    "reconciliation_reports",
    "refunds",
    "user_sessions",
    "webhook_attempts",
    "webhook_deliveries",
    "wxa_access_tokens",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_ID = sa.String(40)
_MCHID = sa.String(32)
_WECHAT_NO = sa.String(64)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("mchid", _MCHID, nullable=False),
    sa.Column("merchant_order_no", sa.String(64), nullable=False),
    sa.Column("idempotency_key", sa.String(255)),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("description", sa.String(128), nullable=False),
    sa.Column("attach", sa.String(128)),
    sa.Column("payer_openid", sa.String(128)),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("paid_fen", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("refunded_fen", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reserved_fen", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("paid_attempt_id", _ID),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("paid_at", sa.Float),
    sa.Column("options", sa.Text),  # OrderOptions as JSON
    sa.UniqueConstraint("mchid", "merchant_order_no"),
    sa.UniqueConstraint("mchid", "idempotency_key"),
    sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
    sa.CheckConstraint(
        "refunded_fen >= 0 AND reserved_fen >= 0 AND refunded_fen + reserved_fen <= paid_fen",
        name="refunds_within_paid",
    ),
    sa.Index(None, "status", "expires_at"),
    sa.Index(None, "mchid", "created_at", "id"),  # GET /v1/orders pages newest first by (created_at, id)
)

payment_attempts = sa.Table(
    "payment_attempts",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("order_id", _ID, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("mchid", _MCHID, nullable=False),
    sa.Column("appid", sa.String(32), nullable=False),
    sa.Column("out_trade_no", sa.String(32), nullable=False),
    sa.Column("api", sa.String(4), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("description", sa.String(128), nullable=False),
    sa.Column("notify_url", sa.String(256), nullable=False),
    sa.Column("time_expire", sa.Float, nullable=False),
    sa.Column("payer_openid", sa.String(128)),
    sa.Column("client_ip", sa.String(64)),
    sa.Column("attach", sa.String(128)),
    sa.Column("prepay_id", sa.String(64)),
    sa.Column("code_url", sa.String(256)),
    sa.Column("h5_url", sa.String(512)),
    sa.Column("transaction_id", sa.String(64)),
    sa.Column("trade_state", sa.String(32)),
    sa.Column("error_code", sa.String(64)),
    sa.Column("error_message", sa.String(256)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("paid_at", sa.Float),
    sa.Column("last_synced_at", sa.Float),
    sa.Column("options", sa.Text),  # the order's options as this attempt sent them
    sa.UniqueConstraint("mchid", "out_trade_no"),
    sa.UniqueConstraint("order_id", "seq"),
    sa.UniqueConstraint("transaction_id"),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("order_id", _ID, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("attempt_id", _ID, sa.ForeignKey("payment_attempts.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("mchid", _MCHID, nullable=False),
    sa.Column("out_refund_no", _WECHAT_NO, nullable=False),
    sa.Column("out_trade_no", sa.String(32), nullable=False),
    sa.Column("api", sa.String(4), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("total_fen", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(80)),
    sa.Column("merchant_refund_no", sa.String(64)),
    sa.Column("request_hash", sa.String(64), nullable=False, server_default=""),
    sa.Column("refund_id", sa.String(64)),
    sa.Column("funds_source", sa.String(48)),
    sa.Column("error_code", sa.String(64)),
    sa.Column("error_message", sa.String(256)),
    sa.Column("rejection_reason", sa.String(200)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("submitted_at", sa.Float),
    sa.Column("succeeded_at", sa.Float),
    sa.UniqueConstraint("out_refund_no"),
    sa.UniqueConstraint("order_id", "kind", "seq"),
    sa.UniqueConstraint("order_id", "merchant_refund_no"),
    sa.CheckConstraint("amount_fen > 0 AND amount_fen <= total_fen", name="amount_within_total"),
    sa.Index(None, "mchid", "created_at", "id"),  # GET /v1/refunds pages newest first by (created_at, id)
    sa.Index(None, "refund_id"),  # ?q= a WeChat refund_id
    sa.Index(None, "mchid", "merchant_refund_no"),  # ?q= a merchant_refund_no (unique only per order)
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("mchid", _MCHID, nullable=False),
    sa.Column("api", sa.String(4), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("out_trade_no", sa.String(32)),
    sa.Column("out_refund_no", _WECHAT_NO),
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    # The decrypted facts an operator needs (JSON: transaction id, amounts, bank, the payer's openid masked),
    # written at intake so the timeline never needs the APIv3 key; NULL for rows stored before revision 0007.
    sa.Column("facts", sa.Text),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.UniqueConstraint("event_id"),
)

anomalies = sa.Table(
    "anomalies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("mchid", _MCHID),
    sa.Column("kind", sa.String(48), nullable=False),
    sa.Column("order_id", _ID),
    sa.Column("attempt_id", _ID),
    sa.Column("refund_id", _ID),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("resolved_at", sa.Float),
    sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"),
    sa.Column("last_seen_at", sa.Float),
    sa.Column("resolved_by", sa.String(64)),
    sa.Column("resolution_note", sa.String(200)),
    sa.Index(None, "order_id"),
)

call_log = sa.Table(
    "call_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("direction", sa.String(8), nullable=False),  # outbound | inbound
    sa.Column("api", sa.String(8), nullable=False),
    sa.Column("endpoint", sa.String(128), nullable=False),
    sa.Column("mchid", _MCHID),
    sa.Column("http_status", sa.Integer),
    sa.Column("wechat_code", sa.String(64)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("request_body", sa.Text),
    sa.Column("response_body", sa.Text),
    sa.Column("request_id", sa.String(128)),
    sa.Column("order_id", _ID),
    sa.Column("attempt_id", _ID),
    sa.Column("refund_id", _ID),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index(None, "order_id"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("dedupe_key", sa.String(160)),
    sa.Column("status", sa.String(16), nullable=False),  # pending | running | done | dead
    sa.Column("due_at", sa.Float, nullable=False),
    # When a running job is re-armed (its handler scheduled a follow-up): finishing it makes it pending then.
    sa.Column("rearm_at", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False, server_default="20"),
    sa.Column("lease_token", sa.String(32)),
    sa.Column("lease_until", sa.Float),
    sa.Column("last_error", sa.String(512)),
    sa.Column("order_id", _ID),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("dedupe_key"),
    sa.Index(None, "status", "due_at"),
    sa.Index(None, "order_id"),  # an order's webhooks (timeline) and a merchant's jobs
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("mchid", _MCHID, nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("label", sa.String(64), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
    sa.UniqueConstraint("key_hash"),
)

user_sessions = sa.Table(
    "user_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("mchid", _MCHID, nullable=False),
    sa.Column("appid", sa.String(32), nullable=False),
    sa.Column("openid", sa.String(128), nullable=False),
    sa.Column("unionid", sa.String(128)),
    # Kept server-side only (needed to decrypt user data later); never returned by any use case.
    sa.Column("session_key", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# Console logins: the cookie holds a random token, this table its hash; logging out deletes the row, so a copied
# cookie is worthless afterwards.
operator_sessions = sa.Table(
    "operator_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("operator", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index(None, "expires_at"),
)

# Alerts: one row per occurrence (append-only, so a storm never queues writers behind one hot row), grouped
# at delivery by (alert_key, window_start); each sink's progress through a group is one delivery row.
alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_key", sa.String(160), nullable=False),
    sa.Column("window_start", sa.Float, nullable=False),
    sa.Column("kind", sa.String(48), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("mchid", _MCHID),
    sa.Column("order_id", _ID),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index(None, "alert_key", "window_start"),
    sa.Index(None, "order_id"),  # an order's alerts (timeline)
)

alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("alert_key", sa.String(160), primary_key=True),
    sa.Column("window_start", sa.Float, primary_key=True),
    sa.Column("sink", sa.String(64), primary_key=True),
    sa.Column("last_event_id", sa.Integer, nullable=False),  # every event up to this id was reported
    sa.Column("messages", sa.Integer, nullable=False),  # messages this sink was sent for the group
    sa.Column("events", sa.Integer, nullable=False),  # occurrences those messages counted
    sa.Column("sent_at", sa.Float, nullable=False),
)

# One row per merchant and bill day (Beijing): the latest run of the daily reconciliation (a rerun replaces it).
reconciliation_reports = sa.Table(
    "reconciliation_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("mchid", _MCHID, nullable=False),
    sa.Column("bill_day", sa.String(10), nullable=False),  # YYYY-MM-DD, Beijing
    sa.Column("status", sa.String(16), nullable=False),  # clean | differences | failed
    sa.Column("bill_lines", sa.Integer, nullable=False),
    sa.Column("payments_matched", sa.Integer, nullable=False),
    sa.Column("differences", sa.Integer, nullable=False),
    sa.Column("repaired", sa.Integer, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # JSON: the differences, the fund-flow totals, or the error
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("mchid", "bill_day"),
    sa.Index(None, "bill_day"),
)

# Merchant webhooks: one delivery per event (the event body as first written, sent byte for byte on every attempt)
# and one row per attempt. ``id`` is the delivery order within an order: a later event waits for the earlier.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(48), nullable=False),
    sa.Column("mchid", _MCHID, nullable=False),
    sa.Column("order_id", _ID, nullable=False),
    sa.Column("refund_id", _ID),
    sa.Column("dedupe_key", sa.String(160), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | failed | skipped
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("scheduled_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Float),
    sa.Column("last_error", sa.String(200)),
    sa.Column("last_http_status", sa.Integer),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.UniqueConstraint("event_id"),
    sa.UniqueConstraint("dedupe_key"),
    sa.Index(None, "order_id", "id"),  # an order's deliveries, in delivery order
    sa.Index(None, "status"),  # the pending and failed ones (metrics) without reading the delivered
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.Integer, sa.ForeignKey("webhook_deliveries.id"), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # succeeded | failed
    sa.Column("http_status", sa.Integer),
    sa.Column("error", sa.String(64)),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("response_excerpt", sa.String(512)),
    sa.Column("manual", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index(None, "delivery_id", "id"),
)

# Shipping information of a paid mini-program order (小程序发货信息管理): one row per order, its upload state.
order_shipping = sa.Table(
    "order_shipping",
    metadata,
    sa.Column("order_id", _ID, sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("mchid", _MCHID, nullable=False),
    sa.Column("attempt_id", _ID, nullable=False),
    sa.Column("appid", sa.String(32), nullable=False),
    sa.Column("transaction_id", _WECHAT_NO, nullable=False),
    sa.Column("payer_openid", sa.String(128), nullable=False),
    sa.Column("logistics_type", sa.SmallInteger, nullable=False),  # WeChat's: 1 express … 4 pickup
    sa.Column("delivery_mode", sa.SmallInteger, nullable=False),  # 1 unified, 2 split
    sa.Column("is_all_delivered", sa.Boolean),
    sa.Column("items", sa.Text, nullable=False),  # JSON: shipping_list as WeChat takes it (phones masked)
    sa.Column("status", sa.String(16), nullable=False),  # ShippingStatus
    sa.Column("automatic", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("uploads", sa.Integer, nullable=False, server_default="0"),
    sa.Column("submitted_at", sa.Float, nullable=False),
    sa.Column("uploaded_at", sa.Float),
    sa.Column("confirmed_at", sa.Float),
    sa.Column("settled_at", sa.Float),
    sa.Column("last_error_code", sa.String(64)),
    sa.Column("last_error_message", sa.String(256)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index(None, "mchid", "status"),
)

# The mini-program access token of each app, shared by every process (the SDK's TokenCache over one row per appid).
wxa_access_tokens = sa.Table(
    "wxa_access_tokens",
    metadata,
    sa.Column("appid", sa.String(32), primary_key=True),
    sa.Column("value", sa.Text),  # a secret: never logged, never shown
    sa.Column("expires_at_s", sa.Float),
    sa.Column("refresh_until_s", sa.Float),  # a refresher's claim lives until then
    sa.Column("updated_at", sa.Float, nullable=False),
)
