"""The shipping information of orders (``order_shipping``): one row per order, state changes by compare-and-set."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from weipay.service.domain import Shipment, ShippingStatus

from .sql import insert_ignore, update_many
from .tables import order_shipping

__all__ = ["ShippingRepository"]

_TABLE = order_shipping


def _shipment(row: Any) -> Shipment:
    values = dict(row._mapping)
    values["status"] = ShippingStatus(values["status"])
    values["items"] = tuple(json.loads(values["items"]))
    return Shipment(**values)


def _values(shipment: Shipment) -> dict[str, Any]:
    values = {name: getattr(shipment, name) for name in Shipment.__dataclass_fields__}
    values["status"] = shipment.status.value
    values["items"] = json.dumps([dict(item) for item in shipment.items], ensure_ascii=False, sort_keys=True)
    return values


class ShippingRepository:
    """Shipments by order."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, shipment: Shipment) -> bool:
        """Insert the order's first shipment; False if the order already has one (a concurrent twin won)."""
        return insert_ignore(self._conn, _TABLE, _values(shipment), ["order_id"])

    def get(self, order_id: str) -> Shipment | None:
        """The order's shipment."""
        row = self._conn.execute(sa.select(_TABLE).where(_TABLE.c.order_id == order_id)).first()
        return _shipment(row) if row else None

    def for_orders(self, order_ids: Sequence[str]) -> dict[str, Shipment]:
        """The shipments of these orders, by order id."""
        if not order_ids:
            return {}
        rows = self._conn.execute(sa.select(_TABLE).where(_TABLE.c.order_id.in_(sorted(set(order_ids)))))
        return {row.order_id: _shipment(row) for row in rows}

    def compare_and_set(self, order_id: str, expected: Sequence[ShippingStatus], /, **changes: Any) -> bool:
        """Apply ``changes`` if the shipment is still in one of ``expected``; True if this call won."""
        if "status" in changes:
            changes["status"] = ShippingStatus(changes["status"]).value
        if "items" in changes:
            changes["items"] = json.dumps([dict(item) for item in changes["items"]], ensure_ascii=False,
                                          sort_keys=True)  # fmt: skip
        won = update_many(self._conn, _TABLE, "order_id", {order_id: changes},
                          expected=[status.value for status in expected])  # fmt: skip
        return order_id in won
