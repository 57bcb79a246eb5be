"""The merchant's order and refund lists: filters checked once, then one keyset page read in one transaction.

``GET /v1/orders`` and ``GET /v1/refunds`` come here with the caller's merchant already decided by the web layer:
every query is scoped to it, so another merchant's orders never appear whatever the filters say. Each page reads
``limit + 1`` rows; the extra one only says that more follow, and the last row kept is where the next page starts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from weipay.service.domain import Channel, InvalidInput, Order, OrderStatus, Refund, RefundStatus, check_text

from .ports import UnitOfWork
from .queries import OrderDetails
from .stores import ListFilter

__all__ = [
    "LIST_LIMIT_DEFAULT",
    "LIST_LIMIT_MAX",
    "OrderPage",
    "RefundPage",
    "list_filter",
    "list_orders",
    "list_refunds",
]

LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MAX = 100
Row = TypeVar("Row", Order, Refund)
_NUMBER_MAX_CHARS = 64  # the longest number anything is known by (merchant_order_no, out_refund_no)


@dataclass(frozen=True, slots=True)
class OrderPage:
    """Orders with their attempts and refunds, newest first; ``next_after`` is where the next page starts."""

    orders: list[OrderDetails]
    next_after: tuple[float, str] | None


@dataclass(frozen=True, slots=True)
class RefundPage:
    """Refunds, newest first; ``next_after`` is where the next page starts (None: this is the last page)."""

    refunds: list[Refund]
    next_after: tuple[float, str] | None


def list_filter(
    mchid: str, states: type[OrderStatus] | type[RefundStatus], *, statuses: Sequence[str] = (),
    channels: Sequence[str] = (), created_from: float | None = None, created_to: float | None = None,
    number: str | None = None, after: tuple[float, str] | None = None, limit: int = LIST_LIMIT_DEFAULT,
) -> ListFilter:  # fmt: skip
    """A checked filter of ``mchid``'s orders (``states=OrderStatus``) or refunds (``RefundStatus``).

    Refuses with 422 codes: ``invalid_status``, ``invalid_channel`` (each value must be one of the enum's),
    ``invalid_time_range`` (``created_from`` not before ``created_to``), ``invalid_q`` (see ``check_text``),
    ``invalid_limit`` (1 to :data:`LIST_LIMIT_MAX`).
    """
    wanted_statuses = _members(states, statuses, "status")
    wanted_channels = _members(Channel, channels, "channel")
    if created_from is not None and created_to is not None and created_from >= created_to:
        raise InvalidInput("invalid_time_range", "created_from must be before created_to")
    if number is not None:
        check_text("q", number, max_chars=_NUMBER_MAX_CHARS, required=True)
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise InvalidInput("invalid_limit", f"limit must be 1 to {LIST_LIMIT_MAX}", max_limit=LIST_LIMIT_MAX)
    return ListFilter(
        mchid=mchid, statuses=wanted_statuses, channels=wanted_channels, created_from=created_from,
        created_to=created_to, number=number, after=after, limit=limit,
    )  # fmt: skip


def list_orders(uow: UnitOfWork, listing: ListFilter) -> OrderPage:
    """One page of the merchant's orders with their attempts and refunds, read in one transaction."""
    with uow.read() as tx:
        rows = tx.orders.page(listing)
        page, next_after = _split(rows, listing.limit)
        ids = [order.id for order in page]
        attempts, refunds = defaultdict(list), defaultdict(list)
        for attempt in tx.attempts.for_orders(ids):
            attempts[attempt.order_id].append(attempt)
        for refund in tx.refunds.for_orders(ids):
            refunds[refund.order_id].append(refund)
        shipments = tx.shipping.for_orders(ids)
    details = [OrderDetails(order, attempts[order.id], refunds[order.id], shipments.get(order.id)) for order in page]
    return OrderPage(details, next_after)


def list_refunds(uow: UnitOfWork, listing: ListFilter) -> RefundPage:
    """One page of the merchant's refunds."""
    with uow.read() as tx:
        rows = tx.refunds.page(listing)
    page, next_after = _split(rows, listing.limit)
    return RefundPage(page, next_after)


def _split(rows: list[Row], limit: int) -> tuple[list[Row], tuple[float, str] | None]:
    """The page and, when a row beyond it was read, the ``(created_at, id)`` of its last row."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], (last.created_at, last.id)


def _members(kind: type[StrEnum], values: Sequence[str], name: str) -> tuple[str, ...]:
    allowed = {member.value for member in kind}
    for value in values:
        if value not in allowed:
            raise InvalidInput(f"invalid_{name}", f"{name} must be one of: {', '.join(sorted(allowed))}")
    return tuple(dict.fromkeys(values))
