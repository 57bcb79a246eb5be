"""The daily reconciliation reports table: one row per merchant and bill day, replaced by a rerun."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from weipay.service.usecases.reconcile_store import StoredReconciliation

from .sql import upsert
from .tables import reconciliation_reports

__all__ = ["ReconciliationReportRepository"]

_TABLE = reconciliation_reports


def _report(row: Any) -> StoredReconciliation:
    values = dict(row._mapping)
    values.pop("id")
    values["bill_day"] = dt.date.fromisoformat(values["bill_day"])
    return StoredReconciliation(**values)


class ReconciliationReportRepository:
    """Reports by merchant and day."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def save(self, report: StoredReconciliation) -> None:
        """Insert the day's report or replace the stored one's findings (its ``created_at`` stays)."""
        values = {**dataclasses.asdict(report), "bill_day": report.bill_day.isoformat()}
        replaced = {name: value for name, value in values.items() if name not in ("mchid", "bill_day", "created_at")}
        upsert(self._conn, _TABLE, values, ["mchid", "bill_day"], replaced)

    def get(self, mchid: str, bill_day: dt.date) -> StoredReconciliation | None:
        """The merchant's report of ``bill_day``."""
        row = self._conn.execute(
            sa.select(_TABLE).where(_TABLE.c.mchid == mchid, _TABLE.c.bill_day == bill_day.isoformat())
        ).first()
        return _report(row) if row else None

    def list(
        self, mchids: Collection[str] | None, *, bill_day: dt.date | None = None, limit: int = 100
    ) -> list[StoredReconciliation]:
        """Newest day first, then by merchant; ``mchids`` None means every merchant."""
        statement = sa.select(_TABLE).order_by(_TABLE.c.bill_day.desc(), _TABLE.c.mchid).limit(limit)
        if mchids is not None:
            statement = statement.where(_TABLE.c.mchid.in_(sorted(mchids)))
        if bill_day is not None:
            statement = statement.where(_TABLE.c.bill_day == bill_day.isoformat())
        return [_report(row) for row in self._conn.execute(statement)]
