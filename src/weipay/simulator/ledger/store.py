"""The SQLite store under the simulator's ledger: one WAL connection guarded by a lock, one transaction per write."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    mchid TEXT NOT NULL, out_trade_no TEXT NOT NULL, api TEXT NOT NULL, trade_type TEXT NOT NULL,
    appid TEXT NOT NULL, description TEXT NOT NULL, amount_fen INTEGER NOT NULL, currency TEXT NOT NULL,
    notify_url TEXT NOT NULL, attach TEXT NOT NULL DEFAULT '', openid TEXT NOT NULL DEFAULT '',
    payer_client_ip TEXT NOT NULL DEFAULT '', time_expire REAL NOT NULL, prepay_id TEXT NOT NULL UNIQUE,
    code_url TEXT UNIQUE, h5_url TEXT, state TEXT NOT NULL, trade_state_desc TEXT NOT NULL,
    transaction_id TEXT UNIQUE, bank_type TEXT, success_time REAL, sign_type TEXT, fingerprint TEXT NOT NULL,
    created_at REAL NOT NULL, payer_openid TEXT, extra TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (mchid, out_trade_no)
);
CREATE TABLE IF NOT EXISTS refunds (
    mchid TEXT NOT NULL, out_refund_no TEXT NOT NULL, refund_id TEXT NOT NULL UNIQUE,
    out_trade_no TEXT NOT NULL, api TEXT NOT NULL, amount_fen INTEGER NOT NULL, total_fen INTEGER NOT NULL,
    status TEXT NOT NULL, funds_account TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
    notify_url TEXT NOT NULL DEFAULT '', fingerprint TEXT NOT NULL, created_at REAL NOT NULL,
    success_time REAL, user_received_account TEXT NOT NULL, due_at REAL NOT NULL,
    PRIMARY KEY (mchid, out_refund_no)
);
CREATE INDEX IF NOT EXISTS refunds_by_order ON refunds (mchid, out_trade_no);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, api TEXT NOT NULL, url TEXT NOT NULL,
    headers TEXT NOT NULL, body BLOB NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', last_status INTEGER, last_reply TEXT, created_at REAL NOT NULL,
    subject TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_at);
CREATE TABLE IF NOT EXISTS deliveries (
    notification_id INTEGER NOT NULL, attempt INTEGER NOT NULL, at REAL NOT NULL, status INTEGER,
    reply TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS login_codes (
    code TEXT PRIMARY KEY, appid TEXT NOT NULL, user TEXT NOT NULL, openid TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_codes (
    code TEXT PRIMARY KEY, appid TEXT NOT NULL, user TEXT NOT NULL, openid TEXT NOT NULL, scope TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS payment_codes (
    code TEXT PRIMARY KEY, user TEXT NOT NULL, outcome TEXT NOT NULL, confirm TEXT NOT NULL,
    confirm_s REAL NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL, used_by TEXT
);
CREATE TABLE IF NOT EXISTS balances (
    mchid TEXT PRIMARY KEY, unsettled_fen INTEGER NOT NULL DEFAULT 0, available_fen INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS wxa_apps (
    appid TEXT PRIMARY KEY, trade_managed INTEGER NOT NULL DEFAULT 1, message_url TEXT NOT NULL DEFAULT '',
    message_token TEXT NOT NULL DEFAULT '', message_format TEXT NOT NULL DEFAULT 'json',
    force_day TEXT NOT NULL DEFAULT '', force_count INTEGER NOT NULL DEFAULT 0, last_force_at REAL
);
CREATE TABLE IF NOT EXISTS wxa_tokens (
    token TEXT PRIMARY KEY, appid TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS wxa_tokens_by_app ON wxa_tokens (appid, expires_at);
CREATE TABLE IF NOT EXISTS wxa_shipping (
    mchid TEXT NOT NULL, out_trade_no TEXT NOT NULL, order_state INTEGER NOT NULL,
    logistics_type INTEGER, delivery_mode INTEGER, finish_shipping INTEGER NOT NULL DEFAULT 0,
    shipments INTEGER NOT NULL DEFAULT 0, shipping_list TEXT NOT NULL DEFAULT '[]',
    upload_time TEXT NOT NULL DEFAULT '',
    shipped_at REAL, confirm_reminded INTEGER NOT NULL DEFAULT 0, confirm_method INTEGER, confirmed_at REAL,
    settled_at REAL,
    PRIMARY KEY (mchid, out_trade_no)
);
"""


class SqliteStore:
    """The connection, its lock, and the ``meta`` settings table."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), rolled back on error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    # -- meta --------------------------------------------------------------------------------------------
    def get_meta(self, name: str) -> str | None:
        """A stored setting (e.g. the last simulated time)."""
        row = self._one("SELECT value FROM meta WHERE name = ?", (name,))
        return None if row is None else str(row["value"])

    def set_meta(self, name: str, value: str) -> None:
        """Store a setting."""
        with self.transaction() as db:
            db.execute("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = ?",
                       (name, value, value))
