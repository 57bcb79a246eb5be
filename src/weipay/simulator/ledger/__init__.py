"""The simulator's ledger: WeChat-side orders, refunds, notifications, login and OAuth codes and balances in
SQLite.

::

    store.py    the connection, its lock, one transaction per write, the meta settings table
    rows.py     the rows as frozen values, and LedgerRefusal
    queues.py   notifications with their delivery log, login codes, OAuth codes, payment codes
    wxa.py      the mini-program platform: app settings, access tokens, shipping records
    trades.py   orders, refunds and balances: Ledger, the one class callers use
"""

from __future__ import annotations

from .rows import LedgerRefusal, LoginCode, Notification, OAuthCode, Order, PaymentCode, Refund, WxaApp, WxaShipping
from .trades import Ledger

__all__ = [
    "Ledger",
    "LedgerRefusal",
    "LoginCode",
    "Notification",
    "OAuthCode",
    "Order",
    "PaymentCode",
    "Refund",
    "WxaApp",
    "WxaShipping",
]
