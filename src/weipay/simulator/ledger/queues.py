"""The ledger's queues: notifications with their delivery log; login, OAuth and payment codes."""

from __future__ import annotations

import json
from typing import Any

from .rows import LoginCode, Notification, OAuthCode, PaymentCode, from_row
from .store import SqliteStore

__all__ = ["QueueTables"]


class QueueTables(SqliteStore):
    """Notifications to deliver (with every attempt logged) and single-use login and OAuth codes."""

    # -- notifications -----------------------------------------------------------------------------------
    def enqueue_notification(
        self, *, kind: str, api: str, url: str, headers: dict[str, str], body: bytes, next_at: float, now: float,
        subject: str = "",
    ) -> int:
        """Queue a notification; returns its id. ``subject`` names what it is about (out_trade_no…)."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO notifications (kind, api, url, headers, body, next_at, created_at, subject) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, api, url, json.dumps(headers), body, next_at, now, subject),
            )
            return int(cursor.lastrowid or 0)

    def due_notifications(self, now: float, limit: int = 100) -> list[Notification]:
        """Pending notifications due at ``now``, oldest first."""
        rows = self._all("SELECT * FROM notifications WHERE state = 'pending' AND next_at <= ? "
                         "ORDER BY next_at, id LIMIT ?", (now, limit))
        return [from_row(Notification, r) for r in rows]

    def notifications(self, limit: int = 500) -> list[Notification]:
        """All notifications, newest first."""
        rows = self._all("SELECT * FROM notifications ORDER BY id DESC LIMIT ?", (limit,))
        return [from_row(Notification, r) for r in rows]

    def deliveries(self, notification_id: int | None = None) -> list[dict[str, Any]]:
        """The delivery log (one row per attempt)."""
        if notification_id is None:
            rows = self._all("SELECT * FROM deliveries ORDER BY at, rowid")
        else:
            rows = self._all("SELECT * FROM deliveries WHERE notification_id = ? ORDER BY at, rowid",
                             (notification_id,))
        return [dict(r) for r in rows]

    def record_delivery(
        self, notification: Notification, *, at: float, status: int | None, reply: str, state: str, next_at: float
    ) -> None:
        """Log one attempt and move the notification to ``state`` (pending/delivered/failed)."""
        attempt = notification.attempt + 1
        with self.transaction() as db:
            db.execute("INSERT INTO deliveries (notification_id, attempt, at, status, reply) VALUES (?, ?, ?, ?, ?)",
                       (notification.id, attempt, at, status, reply[:500]))
            db.execute("UPDATE notifications SET attempt = ?, state = ?, next_at = ?, last_status = ?, "
                       "last_reply = ? WHERE id = ?",
                       (attempt, state, next_at, status, reply[:500], notification.id))

    def log_extra_delivery(self, notification_id: int, *, attempt: int, at: float, status: int | None,
                           reply: str) -> None:
        """Log a send that is not a scheduled attempt (a signature probe, a duplicate)."""
        with self.transaction() as db:
            db.execute("INSERT INTO deliveries (notification_id, attempt, at, status, reply) VALUES (?, ?, ?, ?, ?)",
                       (notification_id, attempt, at, status, reply[:500]))

    # -- login codes -------------------------------------------------------------------------------------
    def add_login_code(self, code: LoginCode) -> None:
        """Store a freshly minted login code."""
        with self.transaction() as db:
            db.execute("INSERT INTO login_codes (code, appid, user, openid, used, created_at) "
                       "VALUES (?, ?, ?, ?, 0, ?)", (code.code, code.appid, code.user, code.openid, code.created_at))

    def use_login_code(self, code: str) -> tuple[LoginCode | None, bool]:
        """``(code, first_use)``: marks the code used; ``first_use`` is False when it was used before."""
        with self.transaction() as db:
            row = db.execute("SELECT * FROM login_codes WHERE code = ?", (code,)).fetchone()
            if row is None:
                return None, False
            cursor = db.execute("UPDATE login_codes SET used = 1 WHERE code = ? AND used = 0", (code,))
            return from_row(LoginCode, row), cursor.rowcount == 1

    # -- OAuth codes -------------------------------------------------------------------------------------
    def add_oauth_code(self, code: OAuthCode) -> None:
        """Store a freshly minted OAuth code."""
        with self.transaction() as db:
            db.execute("INSERT INTO oauth_codes (code, appid, user, openid, scope, used, created_at) "
                       "VALUES (?, ?, ?, ?, ?, 0, ?)",
                       (code.code, code.appid, code.user, code.openid, code.scope, code.created_at))

    def use_oauth_code(self, code: str, appid: str) -> tuple[OAuthCode | None, bool]:
        """``(code, first_use)``: marks ``appid``'s code used; ``first_use`` is False when it was used before.

        Another app's code is ``None`` and stays unused: trying it elsewhere must not spend it.
        """
        with self.transaction() as db:
            row = db.execute("SELECT * FROM oauth_codes WHERE code = ? AND appid = ?", (code, appid)).fetchone()
            if row is None:
                return None, False
            cursor = db.execute("UPDATE oauth_codes SET used = 1 WHERE code = ? AND used = 0", (code,))
            return from_row(OAuthCode, row), cursor.rowcount == 1

    # -- payment codes (付款码) ---------------------------------------------------------------------------
    def add_payment_code(self, code: PaymentCode) -> None:
        """Store a freshly minted payment code."""
        with self.transaction() as db:
            db.execute("INSERT INTO payment_codes (code, user, outcome, confirm, confirm_s, created_at, expires_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (code.code, code.user, code.outcome, code.confirm,
                                                       code.confirm_s, code.created_at, code.expires_at))

    def payment_code(self, code: str) -> PaymentCode | None:
        """A payment code by its digits."""
        row = self._one("SELECT * FROM payment_codes WHERE code = ?", (code,))
        return None if row is None else from_row(PaymentCode, row)

    def use_payment_code(self, code: str, out_trade_no: str) -> bool:
        """Consume ``code`` for ``out_trade_no`` by compare-and-set; False if another order consumed it first."""
        with self.transaction() as db:
            db.execute("UPDATE payment_codes SET used_by = ? WHERE code = ? AND used_by IS NULL", (out_trade_no, code))
            row = db.execute("SELECT used_by FROM payment_codes WHERE code = ?", (code,)).fetchone()
        return row is not None and row["used_by"] == out_trade_no
