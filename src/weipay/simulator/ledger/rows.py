"""The rows of the simulator's ledger, as frozen values, and the business refusal the ledger raises."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "LedgerRefusal",
    "LoginCode",
    "Notification",
    "OAuthCode",
    "Order",
    "PaymentCode",
    "Refund",
    "WxaApp",
    "WxaShipping",
    "from_row",
]


class LedgerRefusal(Exception):
    """A business rule said no. ``reason`` is one of: ``params_differ``, ``paid``, ``closed``, ``not_found``,
    ``not_paid``, ``over_refund``, ``not_enough``, ``total_mismatch``, ``expired``, ``refunded``."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.message = message or reason


def from_row(cls: Any, row: sqlite3.Row) -> Any:
    """Build a row dataclass from a ``sqlite3.Row`` (extra columns are ignored)."""
    names = {f.name for f in fields(cls)}
    return cls(**{key: row[key] for key in row.keys() if key in names})  # noqa: SIM118


@dataclass(frozen=True)
class Order:
    """One WeChat-side order (v2 or v3). ``state`` is WeChat's ``trade_state``."""

    mchid: str
    out_trade_no: str
    api: str
    trade_type: str
    appid: str
    description: str
    amount_fen: int
    currency: str
    notify_url: str
    attach: str
    openid: str
    payer_client_ip: str
    time_expire: float
    prepay_id: str
    code_url: str | None
    h5_url: str | None
    state: str
    trade_state_desc: str
    transaction_id: str | None
    bank_type: str | None
    success_time: float | None
    sign_type: str | None
    fingerprint: str
    created_at: float
    payer_openid: str | None
    extra: str = "{}"

    @property
    def extra_fields(self) -> dict[str, Any]:
        """API-specific fields kept as JSON (v2 ``product_id``, ``device_info``…)."""
        data: dict[str, Any] = json.loads(self.extra or "{}")
        return data


@dataclass(frozen=True)
class Refund:
    """One refund. ``status``: PROCESSING, SUCCESS, CLOSED, ABNORMAL."""

    mchid: str
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    api: str
    amount_fen: int
    total_fen: int
    status: str
    funds_account: str
    reason: str
    notify_url: str
    fingerprint: str
    created_at: float
    success_time: float | None
    user_received_account: str
    due_at: float


@dataclass(frozen=True)
class Notification:
    """A notification to deliver (or delivered) to a merchant's notify_url."""

    id: int
    kind: str
    api: str
    url: str
    headers: str
    body: bytes
    attempt: int
    next_at: float
    state: str
    last_status: int | None
    last_reply: str | None
    created_at: float
    subject: str


@dataclass(frozen=True)
class PaymentCode:
    """A 付款码 a payer showed (minted by the control API), and what the payer will do when it is charged.

    ``confirm`` is ``none`` (small amounts: no password, decided at once) or ``password`` (the charge answers
    USERPAYING and the payer decides ``confirm_s`` simulated seconds later). ``outcome`` is ``success``,
    ``cancel``, ``insufficient_balance``, ``bank_error`` or ``wait`` (never decides: only a reverse ends it).
    ``expires_at`` is WeChat wall time; ``used_by`` the out_trade_no that consumed the code.
    """

    code: str
    user: str
    outcome: str
    confirm: str
    confirm_s: float
    created_at: float
    expires_at: float
    used_by: str | None


@dataclass(frozen=True)
class LoginCode:
    """A mini-program login code minted by the simulator."""

    code: str
    appid: str
    user: str
    openid: str
    used: int
    created_at: float


@dataclass(frozen=True)
class OAuthCode:
    """An OAuth code (official-account web login, app login) minted by the simulator for ``scope``."""

    code: str
    appid: str
    user: str
    openid: str
    scope: str
    used: int
    created_at: float


@dataclass(frozen=True)
class WxaApp:
    """The mini-program platform's settings of one app: trade management and where its messages go."""

    appid: str
    trade_managed: int
    message_url: str
    message_token: str
    message_format: str  # json | xml
    force_day: str
    force_count: int
    last_force_at: float | None


@dataclass(frozen=True)
class WxaShipping:
    """The shipping record of one paid mini-program order (小程序发货信息管理).

    ``order_state`` is WeChat's (1 待发货, 2 已发货, 3 确认收货, 4 交易完成, 5 已退款); ``shipments`` counts the
    uploads that completed shipping (the second is the one re-shipment WeChat allows).
    """

    mchid: str
    out_trade_no: str
    order_state: int
    logistics_type: int | None
    delivery_mode: int | None
    finish_shipping: int
    shipments: int
    shipping_list: str  # JSON: the entries as uploaded, each with its upload time
    upload_time: str
    shipped_at: float | None
    confirm_reminded: int
    confirm_method: int | None
    confirmed_at: float | None
    settled_at: float | None

    @property
    def entries(self) -> list[dict[str, Any]]:
        """``shipping_list`` as a list of objects."""
        data: list[dict[str, Any]] = json.loads(self.shipping_list or "[]")
        return data
