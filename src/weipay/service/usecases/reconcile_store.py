"""What the daily reconciliation keeps: one report per merchant and bill day, and the store holding them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ReconciliationReportStore", "StoredReconciliation"]


@dataclass(frozen=True, slots=True)
class StoredReconciliation:
    """One merchant's reconciled day as stored: ``status`` is clean, differences or failed.

    ``detail`` is JSON text: ``{"differences": [...], "fund_flow": {...}}``, or ``{"error": ...}`` when failed.
    """

    mchid: str
    bill_day: dt.date
    status: str
    bill_lines: int
    payments_matched: int
    differences: int
    repaired: int
    detail: str
    created_at: float
    updated_at: float


class ReconciliationReportStore(Protocol):
    """Reports by merchant and day; saving a day again replaces it (a rerun is the newer truth)."""

    def save(self, report: StoredReconciliation) -> None:
        """Insert the day's report, or replace the stored one (keeping its ``created_at``)."""
        ...

    def get(self, mchid: str, bill_day: dt.date) -> StoredReconciliation | None:
        """The merchant's report of ``bill_day``."""
        ...

    def list(
        self, mchids: Collection[str] | None, *, bill_day: dt.date | None = None, limit: int = 100
    ) -> list[StoredReconciliation]:
        """Newest day first; ``mchids`` None means every merchant."""
        ...
