"""Orders, refunds and balances: the trading half of the simulator's ledger (:class:`Ledger`).

One connection (WAL) guarded by a lock; every write is one transaction, so a restart loses nothing.
State changes are compare-and-set (``UPDATE … WHERE state = :from``): losing a race is a no-op.
Times are simulated Unix seconds (floats). Business refusals raise :class:`LedgerRefusal` with a
``reason`` that each API maps to its own error code (v3 ``ORDER_CLOSED``, v2 ``ORDERCLOSED`` …).
"""

from __future__ import annotations

from dataclasses import fields

from .queues import QueueTables
from .rows import LedgerRefusal, Order, Refund, from_row
from .wxa import WxaTables

__all__ = ["Ledger"]

_REFUND_DESC = "订单发生过退款，退款详情请查询退款单"


class Ledger(QueueTables, WxaTables):
    """Typed access to the simulator's SQLite state: orders, refunds and balances here; notifications and
    login codes in :class:`QueueTables`; the mini-program platform's tables in :class:`WxaTables`; connection and
    settings in :class:`SqliteStore`."""

    # -- orders ------------------------------------------------------------------------------------------
    def create_order(self, order: Order) -> tuple[Order, bool]:
        """Insert ``order``, or re-enter an existing one with the same out_trade_no.

        Returns ``(order, created)``. Re-entry with the same fingerprint on an unpaid order returns the
        stored order (same prepay_id); otherwise :class:`LedgerRefusal` ``paid`` / ``closed`` /
        ``params_differ``.
        """
        with self.transaction() as db:
            row = db.execute("SELECT * FROM orders WHERE mchid = ? AND out_trade_no = ?",
                             (order.mchid, order.out_trade_no)).fetchone()
            if row is not None:
                existing: Order = from_row(Order, row)
                if existing.state in ("SUCCESS", "REFUND"):
                    raise LedgerRefusal("paid", "该订单已支付")
                if existing.state in ("CLOSED", "REVOKED"):
                    raise LedgerRefusal("closed", "该订单已关闭")
                if existing.fingerprint != order.fingerprint or existing.api != order.api:
                    raise LedgerRefusal("params_differ", "201 商户订单号重复")
                return existing, False
            names = [f.name for f in fields(Order)]
            db.execute(
                f"INSERT INTO orders ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",  # noqa: S608
                tuple(getattr(order, n) for n in names),
            )
            return order, True

    def _order_where(self, column: str, value: str, mchid: str | None) -> Order | None:
        if mchid is None:
            row = self._one(f"SELECT * FROM orders WHERE {column} = ?", (value,))  # noqa: S608
        else:
            row = self._one(f"SELECT * FROM orders WHERE {column} = ? AND mchid = ?", (value, mchid))  # noqa: S608
        return None if row is None else from_row(Order, row)

    def order(self, mchid: str, out_trade_no: str) -> Order | None:
        """The order by (mchid, out_trade_no)."""
        return self._order_where("out_trade_no", out_trade_no, mchid)

    def order_by_transaction_id(self, transaction_id: str, mchid: str | None = None) -> Order | None:
        """The order by WeChat's transaction_id."""
        return self._order_where("transaction_id", transaction_id, mchid)

    def order_by_prepay_id(self, prepay_id: str) -> Order | None:
        """The order by prepay_id."""
        return self._order_where("prepay_id", prepay_id, None)

    def order_by_code_url(self, code_url: str) -> Order | None:
        """The NATIVE order by code_url."""
        return self._order_where("code_url", code_url, None)

    def orders(self, *, state: str | None = None, limit: int = 200) -> list[Order]:
        """Recent orders, newest first (optionally in one state)."""
        if state is None:
            rows = self._all("SELECT * FROM orders ORDER BY created_at DESC LIMIT ?", (limit,))
        else:
            rows = self._all("SELECT * FROM orders WHERE state = ? ORDER BY created_at DESC LIMIT ?", (state, limit))
        return [from_row(Order, r) for r in rows]

    def paid_between(self, start: float, end: float) -> list[Order]:
        """Orders paid in ``[start, end)`` (for bills)."""
        rows = self._all("SELECT * FROM orders WHERE success_time >= ? AND success_time < ? ORDER BY success_time",
                         (start, end))
        return [from_row(Order, r) for r in rows]

    def close_order(self, mchid: str, out_trade_no: str) -> Order | None:
        """Close an unpaid order. ``None`` if unknown; ``paid`` refusal if paid; closing twice is fine."""
        with self.transaction() as db:
            db.execute(
                "UPDATE orders SET state = 'CLOSED', trade_state_desc = '订单已关闭' "
                "WHERE mchid = ? AND out_trade_no = ? AND state IN ('NOTPAY', 'USERPAYING', 'PAYERROR')",
                (mchid, out_trade_no),
            )
            row = db.execute("SELECT * FROM orders WHERE mchid = ? AND out_trade_no = ?",
                             (mchid, out_trade_no)).fetchone()
        if row is None:
            return None
        order: Order = from_row(Order, row)
        if order.state in ("SUCCESS", "REFUND"):
            raise LedgerRefusal("paid", "订单已支付")
        return order

    def pay_order(
        self, order: Order, *, transaction_id: str, payer_openid: str, bank_type: str, now: float
    ) -> Order:
        """NOTPAY -> SUCCESS by compare-and-set; adds the amount to the unsettled balance.

        Refusals: ``paid``, ``closed``, ``expired`` (the order is closed as a side effect).
        """
        with self.transaction() as db:
            current = from_row(Order, db.execute("SELECT * FROM orders WHERE mchid = ? AND out_trade_no = ?",
                                                  (order.mchid, order.out_trade_no)).fetchone())
            if current.state in ("SUCCESS", "REFUND"):
                raise LedgerRefusal("paid", "该订单已支付")
            if current.state in ("CLOSED", "REVOKED"):
                raise LedgerRefusal("closed", "该订单已关闭")
            if current.time_expire <= now:
                db.execute("UPDATE orders SET state = 'CLOSED', trade_state_desc = '订单已关闭' "
                           "WHERE mchid = ? AND out_trade_no = ? AND state = ?",
                           (order.mchid, order.out_trade_no, current.state))
                expired = True
            else:
                expired = False
                db.execute(
                    "UPDATE orders SET state = 'SUCCESS', trade_state_desc = '支付成功', transaction_id = ?, "
                    "bank_type = ?, success_time = ?, payer_openid = ? WHERE mchid = ? AND out_trade_no = ? "
                    "AND state = ?",
                    (transaction_id, bank_type, now, payer_openid, order.mchid, order.out_trade_no, current.state),
                )
                db.execute("INSERT INTO balances (mchid, unsettled_fen) VALUES (?, ?) ON CONFLICT(mchid) "
                           "DO UPDATE SET unsettled_fen = unsettled_fen + ?",
                           (order.mchid, current.amount_fen, current.amount_fen))
        if expired:
            raise LedgerRefusal("expired", "订单已过期")
        paid = self.order(order.mchid, order.out_trade_no)
        assert paid is not None
        return paid

    def set_trade_state_desc(self, order: Order, desc: str) -> None:
        """Record why the payer's last attempt failed (the order stays payable)."""
        with self.transaction() as db:
            db.execute("UPDATE orders SET trade_state_desc = ? WHERE mchid = ? AND out_trade_no = ? AND state = "
                       "'NOTPAY'", (desc, order.mchid, order.out_trade_no))

    def fail_payment(self, order: Order, desc: str) -> None:
        """The payer's bank refused the payment: PAYERROR, still payable until closed or expired."""
        with self.transaction() as db:
            db.execute("UPDATE orders SET state = 'PAYERROR', trade_state_desc = ? WHERE mchid = ? AND "
                       "out_trade_no = ? AND state IN ('NOTPAY', 'USERPAYING', 'PAYERROR')",
                       (desc, order.mchid, order.out_trade_no))

    def revoke_order(self, mchid: str, out_trade_no: str) -> tuple[Order, bool] | None:
        """Reverse a payment-code order: any state but REFUND -> REVOKED; ``(order, refunded)``, None if unknown.

        A paid order's money goes back to the payer (it leaves the unsettled balance); an unpaid one can
        never be paid afterwards. Reversing twice is a no-op. Refusal ``refunded`` when refunds exist.
        """
        with self.transaction() as db:
            row = db.execute("SELECT * FROM orders WHERE mchid = ? AND out_trade_no = ?",
                             (mchid, out_trade_no)).fetchone()
            if row is None:
                return None
            current: Order = from_row(Order, row)
            if current.state == "REVOKED":
                return current, False
            refunds = db.execute("SELECT COUNT(*) FROM refunds WHERE mchid = ? AND out_trade_no = ?",
                                 (mchid, out_trade_no)).fetchone()[0]
            if current.state == "REFUND" or refunds:
                raise LedgerRefusal("refunded", "订单已发生退款，请使用退款接口")
            db.execute("UPDATE orders SET state = 'REVOKED', trade_state_desc = '已撤销' WHERE mchid = ? AND "
                       "out_trade_no = ? AND state = ?", (mchid, out_trade_no, current.state))
            refunded = current.state == "SUCCESS"
            if refunded:
                db.execute("UPDATE balances SET unsettled_fen = unsettled_fen - ? WHERE mchid = ?",
                           (current.amount_fen, mchid))
        revoked = self.order(mchid, out_trade_no)
        assert revoked is not None
        return revoked, refunded

    def expire_orders(self, now: float) -> int:
        """Close unpaid orders (PAYERROR ones too) past time_expire; returns how many."""
        with self.transaction() as db:
            cursor = db.execute("UPDATE orders SET state = 'CLOSED', trade_state_desc = '订单已关闭' "
                                "WHERE state IN ('NOTPAY', 'PAYERROR') AND time_expire <= ?", (now,))
            return cursor.rowcount

    # -- refunds -----------------------------------------------------------------------------------------
    def create_refund(self, refund: Refund) -> tuple[Refund, bool]:
        """Accept a refund (status PROCESSING) or return the one already accepted under out_refund_no.

        Checks, atomically: the order is paid (``not_paid``), ``total_fen`` equals the order amount
        (``total_mismatch``), the sum of refunds stays within the amount (``over_refund``), and the funds
        account holds enough (``not_enough``: unsettled, or available for ``AVAILABLE``). The refunded
        amount leaves that balance.
        """
        with self.transaction() as db:
            row = db.execute("SELECT * FROM refunds WHERE mchid = ? AND out_refund_no = ?",
                             (refund.mchid, refund.out_refund_no)).fetchone()
            if row is not None:
                existing: Refund = from_row(Refund, row)
                if existing.fingerprint != refund.fingerprint:
                    raise LedgerRefusal("params_differ", "请求内容和上次请求不一致，商户退款单号已经被其他请求使用")
                return existing, False
            order_row = db.execute("SELECT * FROM orders WHERE mchid = ? AND out_trade_no = ?",
                                   (refund.mchid, refund.out_trade_no)).fetchone()
            if order_row is None:
                raise LedgerRefusal("not_found", "订单不存在")
            order: Order = from_row(Order, order_row)
            if order.state not in ("SUCCESS", "REFUND"):
                raise LedgerRefusal("not_paid", "订单未支付")
            if refund.total_fen != order.amount_fen:
                raise LedgerRefusal("total_mismatch", "订单金额与退款请求中的订单金额不一致")
            refunded = db.execute(
                "SELECT COALESCE(SUM(amount_fen), 0) FROM refunds WHERE mchid = ? AND out_trade_no = ? "
                "AND status IN ('PROCESSING', 'SUCCESS', 'ABNORMAL')", (refund.mchid, refund.out_trade_no),
            ).fetchone()[0]
            if refunded + refund.amount_fen > order.amount_fen:
                raise LedgerRefusal("over_refund", "申请退款金额超过订单可退金额")
            column = "available_fen" if refund.funds_account == "AVAILABLE" else "unsettled_fen"
            balance = db.execute(f"SELECT {column} FROM balances WHERE mchid = ?", (refund.mchid,)).fetchone()  # noqa: S608
            if balance is None or balance[0] < refund.amount_fen:
                raise LedgerRefusal("not_enough", "基本账户余额不足，请充值后重新发起")
            db.execute(f"UPDATE balances SET {column} = {column} - ? WHERE mchid = ?",  # noqa: S608
                       (refund.amount_fen, refund.mchid))
            names = [f.name for f in fields(Refund)]
            db.execute(
                f"INSERT INTO refunds ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",  # noqa: S608
                tuple(getattr(refund, n) for n in names),
            )
            return refund, True

    def refund(self, mchid: str, out_refund_no: str) -> Refund | None:
        """A refund by out_refund_no."""
        row = self._one("SELECT * FROM refunds WHERE mchid = ? AND out_refund_no = ?", (mchid, out_refund_no))
        return None if row is None else from_row(Refund, row)

    def refund_by_refund_id(self, refund_id: str) -> Refund | None:
        """A refund by WeChat's refund_id."""
        row = self._one("SELECT * FROM refunds WHERE refund_id = ?", (refund_id,))
        return None if row is None else from_row(Refund, row)

    def refunds_for_order(self, mchid: str, out_trade_no: str) -> list[Refund]:
        """An order's refunds, oldest first."""
        rows = self._all("SELECT * FROM refunds WHERE mchid = ? AND out_trade_no = ? ORDER BY created_at, rowid",
                         (mchid, out_trade_no))
        return [from_row(Refund, r) for r in rows]

    def refunds_between(self, start: float, end: float) -> list[Refund]:
        """Refunds that succeeded in ``[start, end)`` (for bills)."""
        rows = self._all("SELECT * FROM refunds WHERE success_time >= ? AND success_time < ? ORDER BY success_time",
                         (start, end))
        return [from_row(Refund, r) for r in rows]

    def due_refunds(self, now: float) -> list[Refund]:
        """PROCESSING refunds whose simulated processing time is over."""
        rows = self._all("SELECT * FROM refunds WHERE status = 'PROCESSING' AND due_at <= ? ORDER BY due_at", (now,))
        return [from_row(Refund, r) for r in rows]

    def complete_refund(self, refund: Refund, *, status: str, now: float) -> Refund | None:
        """PROCESSING -> ``status`` (SUCCESS/CLOSED/ABNORMAL) by compare-and-set; ``None`` if it lost the race.

        SUCCESS moves the order to REFUND; CLOSED gives the money back to the funds account.
        """
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE refunds SET status = ?, success_time = ? WHERE mchid = ? AND out_refund_no = ? "
                "AND status = 'PROCESSING'",
                (status, now if status == "SUCCESS" else None, refund.mchid, refund.out_refund_no),
            )
            if cursor.rowcount == 0:
                return None
            if status == "SUCCESS":
                db.execute("UPDATE orders SET state = 'REFUND', trade_state_desc = ? "
                           "WHERE mchid = ? AND out_trade_no = ? AND state = 'SUCCESS'",
                           (_REFUND_DESC, refund.mchid, refund.out_trade_no))
            elif status == "CLOSED":
                column = "available_fen" if refund.funds_account == "AVAILABLE" else "unsettled_fen"
                db.execute(f"UPDATE balances SET {column} = {column} + ? WHERE mchid = ?",  # noqa: S608
                           (refund.amount_fen, refund.mchid))
        return self.refund(refund.mchid, refund.out_refund_no)

    def redirect_refund(self, refund: Refund, *, user_received_account: str, due_at: float) -> Refund | None:
        """ABNORMAL -> PROCESSING by compare-and-set (an abnormal-refund application); ``None`` if not ABNORMAL.

        The money WeChat held goes to the account named; ``tick`` finishes it (SUCCESS) at ``due_at``.
        """
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE refunds SET status = 'PROCESSING', user_received_account = ?, due_at = ? "
                "WHERE mchid = ? AND out_refund_no = ? AND status = 'ABNORMAL'",
                (user_received_account, due_at, refund.mchid, refund.out_refund_no),
            )
            if cursor.rowcount == 0:
                return None
        return self.refund(refund.mchid, refund.out_refund_no)

    # -- balances ----------------------------------------------------------------------------------------
    def balance(self, mchid: str) -> tuple[int, int]:
        """``(unsettled_fen, available_fen)``."""
        row = self._one("SELECT unsettled_fen, available_fen FROM balances WHERE mchid = ?", (mchid,))
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def set_balance(self, mchid: str, *, unsettled_fen: int | None = None, available_fen: int | None = None) -> None:
        """Set one or both balances (fault plan / tests)."""
        current = self.balance(mchid)
        values = (current[0] if unsettled_fen is None else unsettled_fen,
                  current[1] if available_fen is None else available_fen)
        with self.transaction() as db:
            db.execute("INSERT INTO balances (mchid, unsettled_fen, available_fen) VALUES (?, ?, ?) "
                       "ON CONFLICT(mchid) DO UPDATE SET unsettled_fen = ?, available_fen = ?",
                       (mchid, *values, *values))
