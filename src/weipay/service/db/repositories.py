"""Repositories for orders, payment attempts and refunds, applying the state tables by compare-and-set.

Every state change is ``UPDATE … WHERE id = :id AND status IN (:allowed)``; the caller learns from
the boolean whether it won. Losing means somebody else already applied the change (a duplicate
notification, a query racing a notification): a harmless no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from weipay.service.domain import (
    ApiVersion,
    AttemptStatus,
    Channel,
    Order,
    OrderStatus,
    PaymentAttempt,
    Refund,
    RefundKind,
    RefundStatus,
)
from weipay.service.usecases.stores import ListFilter

from ._listing import order_page, refund_page
from .sql import compare_and_set, driver_first, driver_rows, insert, plain, record_values, select_many, update_many
from .tables import orders, payment_attempts, refunds

# Lookups built once and run on the driver (see ``driver_first``): the checkout and notification paths' reads.
BY_OUT_TRADE_NO = sa.select(payment_attempts).where(
    payment_attempts.c.mchid == sa.bindparam("mchid"), payment_attempts.c.out_trade_no == sa.bindparam("otn")
)
BY_TRANSACTION_ID = sa.select(payment_attempts).where(payment_attempts.c.transaction_id == sa.bindparam("tid"))
ORDER_BY_ID = sa.select(orders).where(orders.c.id == sa.bindparam("id"))
ORDER_BY_ID_LOCKED = ORDER_BY_ID.with_for_update()  # SQLite renders no FOR UPDATE: its writes are serialised
ORDER_BY_NUMBER = sa.select(orders).where(
    orders.c.mchid == sa.bindparam("mchid"), orders.c.merchant_order_no == sa.bindparam("number")
)
ORDER_BY_IDEMPOTENCY_KEY = sa.select(orders).where(
    orders.c.mchid == sa.bindparam("mchid"), orders.c.idempotency_key == sa.bindparam("key")
)
ATTEMPT_BY_ID = sa.select(payment_attempts).where(payment_attempts.c.id == sa.bindparam("id"))
ATTEMPTS_OF_ORDER = (
    sa.select(payment_attempts).where(payment_attempts.c.order_id == sa.bindparam("order_id"))
    .order_by(payment_attempts.c.seq)
)  # fmt: skip
REFUND_BY_ID = sa.select(refunds).where(refunds.c.id == sa.bindparam("id"))
REFUNDS_OF_ORDER = (
    sa.select(refunds).where(refunds.c.order_id == sa.bindparam("order_id"))
    .order_by(refunds.c.created_at, refunds.c.id)
)  # fmt: skip

__all__ = ["AttemptRepository", "OrderRepository", "RefundRepository"]


def _order(row: sa.Row[Any]) -> Order:
    return _order_from(dict(row._mapping))


def _order_from(values: dict[str, Any]) -> Order:
    values["status"] = OrderStatus(values["status"])
    return Order(**values)


def _attempt(row: sa.Row[Any]) -> PaymentAttempt:
    return _attempt_from(dict(row._mapping))


def _attempt_from(values: dict[str, Any]) -> PaymentAttempt:
    values["status"] = AttemptStatus(values["status"])
    values["api"] = ApiVersion(values["api"])
    values["channel"] = Channel(values["channel"])
    return PaymentAttempt(**values)


def _refund(row: sa.Row[Any]) -> Refund:
    return _refund_from(dict(row._mapping))


def _refund_from(values: dict[str, Any]) -> Refund:
    values["status"] = RefundStatus(values["status"])
    values["api"] = ApiVersion(values["api"])
    values["kind"] = RefundKind(values["kind"])
    return Refund(**values)


def _statuses(values: Iterable[Any]) -> list[str]:
    return [getattr(v, "value", v) for v in values]


class OrderRepository:
    """Business orders."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, order: Order) -> None:
        """Insert a new order; ``DuplicateRecord`` if its merchant_order_no or idempotency key is taken."""
        insert(self._conn, orders, record_values(order))

    def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        """The order, optionally row-locked (``FOR UPDATE`` on PostgreSQL; SQLite is already serialised)."""
        row = driver_first(self._conn, ORDER_BY_ID_LOCKED if for_update else ORDER_BY_ID, {"id": order_id})
        return _order_from(row) if row else None

    def by_ids(self, order_ids: Sequence[str]) -> dict[str, Order]:
        """These orders by id, in one statement (a notification batch's webhooks); unknown ids are left out."""
        rows = select_many(self._conn, orders, ("id",), [(order_id,) for order_id in order_ids])
        return {row["id"]: _order_from(row) for row in rows}

    def by_merchant_order_no(self, mchid: str, merchant_order_no: str) -> Order | None:
        """The order the merchant knows by ``merchant_order_no``."""
        row = driver_first(self._conn, ORDER_BY_NUMBER, {"mchid": mchid, "number": merchant_order_no})
        return _order_from(row) if row else None

    def by_idempotency_key(self, mchid: str, idempotency_key: str) -> Order | None:
        """The order created under ``Idempotency-Key``."""
        row = driver_first(self._conn, ORDER_BY_IDEMPOTENCY_KEY, {"mchid": mchid, "key": idempotency_key})
        return _order_from(row) if row else None

    def page(self, listing: ListFilter) -> list[Order]:
        """One page of a merchant's orders, newest first, ``limit + 1`` rows (see ``_listing``)."""
        return [_order(row) for row in self._conn.execute(order_page(listing))]

    def compare_and_set(self, order_id: str, expected: Sequence[OrderStatus], /, **changes: Any) -> bool:
        """Apply ``changes`` if the order is still in one of ``expected``; True if this call won."""
        return compare_and_set(self._conn, orders, order_id, _statuses(expected), changes)

    def compare_and_set_many(
        self, expected: Sequence[OrderStatus], changes: Mapping[str, Mapping[str, Any]]
    ) -> set[str]:
        """``compare_and_set`` for several orders in one statement (PostgreSQL); the ids won."""
        return update_many(self._conn, orders, "id", changes, expected=_statuses(expected))

    def reserve_refund(self, order_id: str, amount_fen: int, now: float) -> bool:
        """Promise ``amount_fen`` to a refund if it fits in what is still refundable (compare-and-set)."""
        statement = (
            orders.update()
            .where(
                orders.c.id == order_id,
                orders.c.status.in_([OrderStatus.PAID.value, OrderStatus.PARTIALLY_REFUNDED.value]),
                orders.c.refunded_fen + orders.c.reserved_fen + amount_fen <= orders.c.paid_fen,
            )
            .values(reserved_fen=orders.c.reserved_fen + amount_fen, updated_at=now)
        )
        return self._conn.execute(statement).rowcount == 1

    def release_refund(self, order_id: str, amount_fen: int, now: float) -> bool:
        """Give a failed refund's reservation back."""
        statement = (
            orders.update()
            .where(orders.c.id == order_id, orders.c.reserved_fen >= amount_fen)
            .values(reserved_fen=orders.c.reserved_fen - amount_fen, updated_at=now)
        )
        return self._conn.execute(statement).rowcount == 1

    def book_refund(
        self, order_id: str, amount_fen: int, status: OrderStatus, expected: OrderStatus, now: float
    ) -> bool:
        """Move a succeeded refund's reservation into ``refunded_fen`` and set the refund status."""
        statement = (
            orders.update()
            .where(orders.c.id == order_id, orders.c.status == expected.value, orders.c.reserved_fen >= amount_fen)
            .values(
                reserved_fen=orders.c.reserved_fen - amount_fen,
                refunded_fen=orders.c.refunded_fen + amount_fen,
                status=status.value,
                updated_at=now,
            )
        )
        return self._conn.execute(statement).rowcount == 1

    def due_to_expire(self, now: float, limit: int) -> list[Order]:
        """Pending orders past their expiry."""
        statement = (
            sa.select(orders)
            .where(orders.c.status == OrderStatus.PENDING.value, orders.c.expires_at <= now)
            .order_by(orders.c.expires_at)
            .limit(limit)
        )
        return [_order(row) for row in self._conn.execute(statement)]

    def list(
        self, *, mchid: str | None = None, status: OrderStatus | None = None, limit: int = 50, offset: int = 0
    ) -> list[Order]:
        """Newest first, for consoles and reports."""
        statement = sa.select(orders).order_by(orders.c.created_at.desc(), orders.c.id).limit(limit).offset(offset)
        if mchid is not None:
            statement = statement.where(orders.c.mchid == mchid)
        if status is not None:
            statement = statement.where(orders.c.status == status.value)
        return [_order(row) for row in self._conn.execute(statement)]


class AttemptRepository:
    """Payment attempts: one WeChat order each."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, attempt: PaymentAttempt) -> None:
        """Insert a new attempt; ``DuplicateRecord`` on (mchid, out_trade_no), (order_id, seq) or transaction_id."""
        insert(self._conn, payment_attempts, record_values(attempt))

    def get(self, attempt_id: str) -> PaymentAttempt | None:
        """The attempt by id."""
        row = driver_first(self._conn, ATTEMPT_BY_ID, {"id": attempt_id})
        return _attempt_from(row) if row else None

    def by_out_trade_no(self, mchid: str, out_trade_no: str) -> PaymentAttempt | None:
        """The attempt WeChat knows as ``out_trade_no`` for merchant ``mchid``."""
        row = driver_first(self._conn, BY_OUT_TRADE_NO, {"mchid": mchid, "otn": out_trade_no})
        return _attempt_from(row) if row else None

    def by_out_trade_nos(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], PaymentAttempt]:
        """The attempts known by these (mchid, out_trade_no) pairs, in one statement (notification batches)."""
        rows = select_many(self._conn, payment_attempts, ("mchid", "out_trade_no"), keys)
        return {(row["mchid"], row["out_trade_no"]): _attempt_from(row) for row in rows}

    def by_transaction_id(self, transaction_id: str) -> PaymentAttempt | None:
        """The attempt paid by WeChat transaction ``transaction_id``."""
        row = driver_first(self._conn, BY_TRANSACTION_ID, {"tid": transaction_id})
        return _attempt_from(row) if row else None

    def by_transaction_ids(self, transaction_ids: Sequence[str]) -> dict[str, PaymentAttempt]:
        """The attempts paid by these WeChat transactions, in one statement (notification batches)."""
        rows = select_many(self._conn, payment_attempts, ("transaction_id",), [(tid,) for tid in transaction_ids])
        return {row["transaction_id"]: _attempt_from(row) for row in rows}

    def for_order(self, order_id: str) -> list[PaymentAttempt]:
        """Every attempt of an order, oldest first."""
        return [_attempt_from(row) for row in driver_rows(self._conn, ATTEMPTS_OF_ORDER, {"order_id": order_id})]

    def for_orders(self, order_ids: Sequence[str]) -> list[PaymentAttempt]:
        """Every attempt of these orders, by order then seq (one statement per page of a list)."""
        if not order_ids:
            return []
        statement = (
            sa.select(payment_attempts).where(payment_attempts.c.order_id.in_(order_ids))
            .order_by(payment_attempts.c.order_id, payment_attempts.c.seq)
        )  # fmt: skip
        return [_attempt(row) for row in self._conn.execute(statement)]

    def succeeded_between(self, mchid: str, start: float, end: float) -> list[PaymentAttempt]:
        """Attempts of ``mchid`` paid within ``[start, end)`` (reconciliation)."""
        statement = sa.select(payment_attempts).where(
            payment_attempts.c.mchid == mchid,
            payment_attempts.c.status == AttemptStatus.SUCCEEDED.value,
            payment_attempts.c.paid_at >= start,
            payment_attempts.c.paid_at < end,
        )
        return [_attempt(row) for row in self._conn.execute(statement)]

    def compare_and_set(self, attempt_id: str, expected: Sequence[AttemptStatus], /, **changes: Any) -> bool:
        """Apply ``changes`` if the attempt is still in one of ``expected``; True if this call won."""
        return compare_and_set(self._conn, payment_attempts, attempt_id, _statuses(expected), changes)

    def compare_and_set_many(
        self, expected: Sequence[AttemptStatus], changes: Mapping[str, Mapping[str, Any]]
    ) -> set[str]:
        """``compare_and_set`` for several attempts in one statement (PostgreSQL); the ids won."""
        return update_many(self._conn, payment_attempts, "id", changes, expected=_statuses(expected))

    def touch(self, attempt_id: str, /, **changes: Any) -> None:
        """Update bookkeeping fields (never ``status``: that goes through ``compare_and_set``)."""
        assert "status" not in changes
        self._conn.execute(payment_attempts.update().where(payment_attempts.c.id == attempt_id).values(plain(changes)))


class RefundRepository:
    """Refunds."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, refund: Refund) -> None:
        """Insert a new refund; ``DuplicateRecord`` on out_refund_no, (order_id, kind, seq) or merchant_refund_no."""
        insert(self._conn, refunds, record_values(refund))

    def get(self, refund_id: str) -> Refund | None:
        """The refund by id."""
        row = driver_first(self._conn, REFUND_BY_ID, {"id": refund_id})
        return _refund_from(row) if row else None

    def by_out_refund_no(self, mchid: str, out_refund_no: str) -> Refund | None:
        """The refund merchant ``mchid`` sent WeChat as ``out_refund_no`` (unique only within a merchant)."""
        statement = sa.select(refunds).where(refunds.c.mchid == mchid, refunds.c.out_refund_no == out_refund_no)
        row = self._conn.execute(statement).first()
        return _refund(row) if row else None

    def by_merchant_refund_no(self, order_id: str, merchant_refund_no: str) -> Refund | None:
        """The refund the merchant asked for under ``merchant_refund_no``."""
        statement = sa.select(refunds).where(
            refunds.c.order_id == order_id, refunds.c.merchant_refund_no == merchant_refund_no
        )
        row = self._conn.execute(statement).first()
        return _refund(row) if row else None

    def for_order(self, order_id: str) -> list[Refund]:
        """Every refund of an order, oldest first."""
        return [_refund_from(row) for row in driver_rows(self._conn, REFUNDS_OF_ORDER, {"order_id": order_id})]

    def for_orders(self, order_ids: Sequence[str]) -> list[Refund]:
        """Every refund of these orders, oldest first (one statement per page of a list)."""
        if not order_ids:
            return []
        statement = (
            sa.select(refunds).where(refunds.c.order_id.in_(order_ids)).order_by(refunds.c.created_at, refunds.c.id)
        )
        return [_refund(row) for row in self._conn.execute(statement)]

    def page(self, listing: ListFilter) -> list[Refund]:
        """One page of a merchant's refunds, newest first, ``limit + 1`` rows (see ``_listing``)."""
        return [_refund(row) for row in self._conn.execute(refund_page(listing))]

    def next_seq(self, order_id: str, kind: RefundKind) -> int:
        """The next refund number of an order for ``kind``."""
        statement = sa.select(sa.func.coalesce(sa.func.max(refunds.c.seq), 0)).where(
            refunds.c.order_id == order_id, refunds.c.kind == kind.value
        )
        return int(self._conn.execute(statement).scalar_one()) + 1

    def compare_and_set(self, refund_id: str, expected: Sequence[RefundStatus], /, **changes: Any) -> bool:
        """Apply ``changes`` if the refund is still in one of ``expected``; True if this call won."""
        return compare_and_set(self._conn, refunds, refund_id, _statuses(expected), changes)

    def touch(self, refund_id: str, /, **changes: Any) -> None:
        """Update bookkeeping fields (never ``status``)."""
        assert "status" not in changes
        self._conn.execute(refunds.update().where(refunds.c.id == refund_id).values(plain(changes)))

    def list(self, *, mchid: str | None = None, status: RefundStatus | None = None, limit: int = 50) -> list[Refund]:
        """Newest first."""
        statement = sa.select(refunds).order_by(refunds.c.created_at.desc()).limit(limit)
        if mchid is not None:
            statement = statement.where(refunds.c.mchid == mchid)
        if status is not None:
            statement = statement.where(refunds.c.status == status.value)
        return [_refund(row) for row in self._conn.execute(statement)]
