"""The statements behind ``GET /v1/orders`` and ``GET /v1/refunds``: one merchant, filters, a keyset page.

Pages run newest first on ``(created_at, id)`` (indexed with ``mchid`` in front, revision 0007). The cursor is the
last row's pair, and the next page is everything strictly below it, so an order created while a client pages
lands above the cursor and never shifts or repeats a page. A number (``?q=``) becomes an ``IN`` over a few indexed
point lookups, each limited to the merchant (``out_trade_no`` and ``merchant_refund_no`` are unique only per
merchant; ``transaction_id``, ``refund_id`` and ``out_refund_no`` are WeChat's or global, but scoped anyway).
"""

from __future__ import annotations

import sqlalchemy as sa

from weipay.service.usecases.stores import ListFilter

from .tables import orders, payment_attempts, refunds

__all__ = ["order_page", "refund_page"]


def order_page(listing: ListFilter) -> sa.Select[tuple[object, ...]]:
    """One page (``limit + 1`` rows) of the merchant's orders."""
    statement = sa.select(orders).where(orders.c.mchid == listing.mchid)
    if listing.statuses:
        statement = statement.where(orders.c.status.in_(listing.statuses))
    if listing.channels:
        statement = statement.where(sa.exists().where(
            payment_attempts.c.order_id == orders.c.id, payment_attempts.c.channel.in_(listing.channels),
        ))  # fmt: skip
    if listing.number is not None:
        statement = statement.where(orders.c.id.in_(_orders_known_as(listing.mchid, listing.number)))
    return _keyset(statement, orders, listing)


def refund_page(listing: ListFilter) -> sa.Select[tuple[object, ...]]:
    """One page (``limit + 1`` rows) of the merchant's refunds."""
    statement = sa.select(refunds).where(refunds.c.mchid == listing.mchid)
    if listing.statuses:
        statement = statement.where(refunds.c.status.in_(listing.statuses))
    if listing.channels:
        refunded = sa.select(payment_attempts.c.id).where(
            payment_attempts.c.mchid == listing.mchid, payment_attempts.c.channel.in_(listing.channels)
        )
        statement = statement.where(refunds.c.attempt_id.in_(refunded))
    if listing.number is not None:
        number = listing.number
        statement = statement.where(sa.or_(
            refunds.c.id == number, refunds.c.out_refund_no == number, refunds.c.refund_id == number,
            refunds.c.merchant_refund_no == number,
            refunds.c.order_id.in_(sa.union(*_own_numbers(listing.mchid, number))),
        ))  # fmt: skip
    return _keyset(statement, refunds, listing)


def _own_numbers(mchid: str, number: str) -> list[sa.Select[tuple[object]]]:
    """Ids of the merchant's orders whose own numbers (id, merchant_order_no, out_trade_no, transaction_id) are it."""
    return [
        sa.select(orders.c.id).where(orders.c.mchid == mchid, orders.c.id == number),
        sa.select(orders.c.id).where(orders.c.mchid == mchid, orders.c.merchant_order_no == number),
        sa.select(payment_attempts.c.order_id).where(
            payment_attempts.c.mchid == mchid, payment_attempts.c.out_trade_no == number
        ),
        sa.select(payment_attempts.c.order_id).where(
            payment_attempts.c.mchid == mchid, payment_attempts.c.transaction_id == number
        ),
    ]


def _orders_known_as(mchid: str, number: str) -> sa.CompoundSelect[tuple[object]]:
    """``_own_numbers`` and the orders of the merchant's refunds known by ``number``."""
    return sa.union(
        *_own_numbers(mchid, number),
        sa.select(refunds.c.order_id).where(refunds.c.mchid == mchid, refunds.c.out_refund_no == number),
        sa.select(refunds.c.order_id).where(refunds.c.mchid == mchid, refunds.c.merchant_refund_no == number),
        sa.select(refunds.c.order_id).where(refunds.c.mchid == mchid, refunds.c.refund_id == number),
    )


Page = sa.Select[tuple[object, ...]]


def _keyset(statement: Page, table: sa.Table, listing: ListFilter) -> Page:
    created_at, row_id = table.c.created_at, table.c.id
    if listing.created_from is not None:
        statement = statement.where(created_at >= listing.created_from)
    if listing.created_to is not None:
        statement = statement.where(created_at < listing.created_to)
    if listing.after is not None:
        statement = statement.where(sa.tuple_(created_at, row_id) < sa.tuple_(*listing.after))
    return statement.order_by(created_at.desc(), row_id.desc()).limit(listing.limit + 1)
