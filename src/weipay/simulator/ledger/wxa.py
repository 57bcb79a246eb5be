"""The mini-program platform's tables: app settings, issued access tokens, shipping records.

Token rows are kept after they expire, so a stale token is told apart (42001, expired) from one that never
existed or was revoked by a forced refresh (40001). Shipping changes are compare-and-set on ``order_state``.
"""

from __future__ import annotations

from typing import Any

from .rows import WxaApp, WxaShipping, from_row
from .store import SqliteStore

__all__ = ["WxaTables"]

_APP_COLUMNS = ("trade_managed", "message_url", "message_token", "message_format")


class WxaTables(SqliteStore):
    """Apps, tokens and shipping records of the mini-program platform."""

    # -- apps --------------------------------------------------------------------------------------------
    def wxa_app(self, appid: str) -> WxaApp:
        """The app's settings (defaults when never set: trade managed, no message URL)."""
        row = self._one("SELECT * FROM wxa_apps WHERE appid = ?", (appid,))
        if row is None:
            return WxaApp(appid, 1, "", "", "json", "", 0, None)
        app: WxaApp = from_row(WxaApp, row)
        return app

    def set_wxa_app(self, appid: str, **changes: Any) -> WxaApp:
        """Change some of ``trade_managed``, ``message_url``, ``message_token``, ``message_format``."""
        unknown = set(changes) - set(_APP_COLUMNS)
        if unknown:
            raise ValueError(f"unknown app settings: {sorted(unknown)}")
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO wxa_apps (appid) VALUES (?)", (appid,))
            for column, value in changes.items():
                db.execute(f"UPDATE wxa_apps SET {column} = ? WHERE appid = ?", (value, appid))  # noqa: S608
        return self.wxa_app(appid)

    def count_forced_refresh(self, appid: str, *, day: str, now: float) -> tuple[int, float | None]:
        """Record a forced refresh on ``day``; returns (earlier forced refreshes that day, the last one's time)."""
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO wxa_apps (appid) VALUES (?)", (appid,))
            row = db.execute("SELECT force_day, force_count, last_force_at FROM wxa_apps WHERE appid = ?",
                             (appid,)).fetchone()
            before = int(row["force_count"]) if row["force_day"] == day else 0
            db.execute("UPDATE wxa_apps SET force_day = ?, force_count = ?, last_force_at = ? WHERE appid = ?",
                       (day, before + 1, now, appid))
            return before, row["last_force_at"]

    # -- access tokens -----------------------------------------------------------------------------------
    def add_wxa_token(self, appid: str, token: str, *, now: float, expires_at: float, revoke_others: bool) -> None:
        """Store a newly issued token; ``revoke_others`` ends every earlier token of the app at once."""
        with self.transaction() as db:
            if revoke_others:
                db.execute("UPDATE wxa_tokens SET revoked = 1 WHERE appid = ?", (appid,))
            db.execute("INSERT INTO wxa_tokens (token, appid, created_at, expires_at) VALUES (?, ?, ?, ?)",
                       (token, appid, now, expires_at))

    def newest_wxa_token(self, appid: str, now: float) -> tuple[str, float] | None:
        """The app's newest live token and its expiry, if any."""
        row = self._one("SELECT token, expires_at FROM wxa_tokens WHERE appid = ? AND revoked = 0 AND expires_at > ? "
                        "ORDER BY expires_at DESC LIMIT 1", (appid, now))
        return None if row is None else (str(row["token"]), float(row["expires_at"]))

    def wxa_token(self, token: str) -> dict[str, Any] | None:
        """A token's row (appid, expires_at, revoked), or None if it was never issued."""
        row = self._one("SELECT appid, expires_at, revoked FROM wxa_tokens WHERE token = ?", (token,))
        return None if row is None else dict(row)

    # -- shipping ----------------------------------------------------------------------------------------
    def wxa_shipping(self, mchid: str, out_trade_no: str) -> WxaShipping | None:
        """The shipping record of a paid order, if one was written."""
        row = self._one("SELECT * FROM wxa_shipping WHERE mchid = ? AND out_trade_no = ?", (mchid, out_trade_no))
        return None if row is None else from_row(WxaShipping, row)

    def save_wxa_shipping(self, record: WxaShipping, *, expected_state: int | None) -> bool:
        """Write ``record`` if the stored state is still ``expected_state`` (None: no record yet); True if written."""
        values = {name: getattr(record, name) for name in WxaShipping.__dataclass_fields__}
        names = list(values)
        with self.transaction() as db:
            row = db.execute("SELECT order_state FROM wxa_shipping WHERE mchid = ? AND out_trade_no = ?",
                             (record.mchid, record.out_trade_no)).fetchone()
            stored = None if row is None else int(row["order_state"])
            if stored != expected_state:
                return False
            db.execute(f"INSERT OR REPLACE INTO wxa_shipping ({', '.join(names)}) "  # noqa: S608
                       f"VALUES ({', '.join('?' for _ in names)})", tuple(values.values()))
            return True

    def shipped_before(self, moment: float) -> list[WxaShipping]:
        """Records shipped (state 2) at or before ``moment``: those the platform confirms by itself."""
        rows = self._all("SELECT * FROM wxa_shipping WHERE order_state = 2 AND shipped_at <= ?", (moment,))
        return [from_row(WxaShipping, row) for row in rows]

    def settle_balance(self, mchid: str, amount_fen: int) -> None:
        """Frozen funds of a completed trade become available: unsettled → available."""
        with self.transaction() as db:
            db.execute("INSERT INTO balances (mchid, unsettled_fen, available_fen) VALUES (?, 0, 0) "
                       "ON CONFLICT(mchid) DO NOTHING", (mchid,))
            db.execute("UPDATE balances SET unsettled_fen = unsettled_fen - ?, available_fen = available_fen + ? "
                       "WHERE mchid = ?", (amount_fen, amount_fen, mchid))
