"""The merchant webhooks' deliveries and attempts (see ``weipay.service.usecases.webhook_store``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from weipay.service.usecases.webhook_store import (
    PENDING,
    NewWebhookAttempt,
    NewWebhookDelivery,
    WebhookAttempt,
    WebhookDelivery,
)

from .sql import insert, insert_many, record_values
from .tables import webhook_attempts, webhook_deliveries

__all__ = ["WebhookRepository"]

_DELIVERIES = webhook_deliveries
_ATTEMPTS = webhook_attempts


def _delivery(row: Any) -> WebhookDelivery:
    return WebhookDelivery(**row._mapping)


def _attempt(row: Any) -> WebhookAttempt:
    values = dict(row._mapping)
    values["manual"] = bool(values["manual"])
    return WebhookAttempt(**values)


class WebhookRepository:
    """Deliveries by id, key and order; their attempts."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add_many(self, deliveries: Sequence[NewWebhookDelivery]) -> set[str]:
        """Store each delivery whose ``dedupe_key`` is new (one statement on PostgreSQL); the keys stored.

        Rows keep the order given (the order the events happened): their ids are the delivery order.
        """
        # Sorted by order (one lock order for concurrent batches); stable, so an order's events keep their order.
        ordered = sorted(deliveries, key=lambda delivery: delivery.order_id)
        rows = [
            {**record_values(delivery), "status": PENDING, "attempts": 0, "scheduled_attempts": 0,
             "next_attempt_at": delivery.created_at, "updated_at": delivery.created_at}
            for delivery in ordered
        ]  # fmt: skip
        return {key for (key,) in insert_many(self._conn, _DELIVERIES, rows, conflict=["dedupe_key"])}

    def get(self, delivery_id: int) -> WebhookDelivery | None:
        """A delivery by id."""
        row = self._conn.execute(sa.select(_DELIVERIES).where(_DELIVERIES.c.id == delivery_id)).first()
        return _delivery(row) if row else None

    def by_key(self, dedupe_key: str) -> WebhookDelivery | None:
        """The delivery of the fact ``dedupe_key``."""
        row = self._conn.execute(sa.select(_DELIVERIES).where(_DELIVERIES.c.dedupe_key == dedupe_key)).first()
        return _delivery(row) if row else None

    def for_order(self, order_id: str) -> list[WebhookDelivery]:
        """An order's deliveries, in delivery order."""
        statement = sa.select(_DELIVERIES).where(_DELIVERIES.c.order_id == order_id).order_by(_DELIVERIES.c.id)
        return [_delivery(row) for row in self._conn.execute(statement)]

    def pending_before(self, delivery: WebhookDelivery) -> WebhookDelivery | None:
        """The first pending delivery of the same order with a smaller id."""
        return self._first_pending(delivery.order_id, _DELIVERIES.c.id < delivery.id)

    def pending_after(self, delivery: WebhookDelivery) -> WebhookDelivery | None:
        """The first pending delivery of the same order with a larger id."""
        return self._first_pending(delivery.order_id, _DELIVERIES.c.id > delivery.id)

    def _first_pending(self, order_id: str, where: Any) -> WebhookDelivery | None:
        statement = (
            sa.select(_DELIVERIES)
            .where(_DELIVERIES.c.order_id == order_id, _DELIVERIES.c.status == PENDING, where)
            .order_by(_DELIVERIES.c.id)
            .limit(1)
        )
        row = self._conn.execute(statement).first()
        return _delivery(row) if row else None

    def update(self, delivery_id: int, expected: Mapping[str, Any], /, **changes: Any) -> bool:
        """Apply ``changes`` if the row still has the ``expected`` values (a compare-and-set)."""
        conditions = [_DELIVERIES.c.id == delivery_id]
        conditions += [_DELIVERIES.c[name] == value for name, value in expected.items()]
        statement = _DELIVERIES.update().where(*conditions).values(**changes)
        return self._conn.execute(statement).rowcount == 1

    def add_attempt(self, attempt: NewWebhookAttempt) -> None:
        """Log one attempt."""
        insert(self._conn, _ATTEMPTS, record_values(attempt))

    def attempts_for(self, delivery_ids: Sequence[int]) -> dict[int, list[WebhookAttempt]]:
        """The attempts of these deliveries, oldest first."""
        found: dict[int, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
        if not delivery_ids:
            return found
        statement = (
            sa.select(_ATTEMPTS).where(_ATTEMPTS.c.delivery_id.in_(sorted(set(delivery_ids)))).order_by(_ATTEMPTS.c.id)
        )
        for row in self._conn.execute(statement):
            found[row.delivery_id].append(_attempt(row))
        return found
