"""``GET /v1/reconciliation-reports`` and ``/{day}``: the daily reconciliation's stored reports.

An admin key sees every merchant's reports, a merchant key its own (the same scope as ``/v1/jobs``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from ..usecases.reconcile_store import StoredReconciliation
from .errors import ApiError
from .schemas import ErrorOut
from .state import ApiState

__all__ = ["ReconciliationReportOut", "ReconciliationReportsOut", "build_reconcile_router"]

_EXAMPLE: dict[str, Any] = {
    "mchid": "1230000109", "bill_day": "2026-11-23", "status": "differences", "bill_lines": 1284,
    "payments_matched": 1270, "differences": 1, "repaired": 1,
    "details": {"differences": [{"kind": "paid_not_recorded", "out_trade_no": "WP01J9Z3A1",
                                 "detail": "4200000000202611230000000001", "repaired": True}],
                "fund_flow": {"lines": 2561, "income_fen": 2520100, "refund_fen": 19900, "fee_fen": 15120}},
    "created_at": "2026-11-24T02:00:03Z", "updated_at": "2026-11-24T02:00:03Z",
}  # fmt: skip


class ReconciliationReportOut(BaseModel):
    """One merchant's reconciled day (Beijing ``bill_day``).

    ``status``: ``clean`` (bill and ledger agree), ``differences`` (see ``details.differences``; ``repaired``
    ones were fixed by querying WeChat) or ``failed`` (``details.error``; rerun with ``weipay reconcile --date``).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})
    mchid: str
    bill_day: dt.date
    status: str
    bill_lines: int
    payments_matched: int
    differences: int
    repaired: int
    details: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class ReconciliationReportsOut(BaseModel):
    """Reports, newest day first."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reports": [_EXAMPLE]}]})
    reports: list[ReconciliationReportOut]


def _out(report: StoredReconciliation) -> ReconciliationReportOut:
    return ReconciliationReportOut(
        mchid=report.mchid, bill_day=report.bill_day, status=report.status, bill_lines=report.bill_lines,
        payments_matched=report.payments_matched, differences=report.differences, repaired=report.repaired,
        details=json.loads(report.detail), created_at=dt.datetime.fromtimestamp(report.created_at, dt.UTC),
        updated_at=dt.datetime.fromtimestamp(report.updated_at, dt.UTC),
    )  # fmt: skip


def build_reconcile_router() -> APIRouter:
    """The two read endpoints."""
    router = APIRouter(prefix="/v1/reconciliation-reports", tags=["reconciliation"],
                       responses={status: {"model": ErrorOut} for status in (401, 403, 404, 422)})  # fmt: skip

    def _scope(request: Request) -> frozenset[str] | None:
        state: ApiState = request.app.state.api
        return state.authenticator.job_scope(request)

    def _list(request: Request, bill_day: dt.date | None, mchid: str | None, limit: int) -> list[StoredReconciliation]:
        scope = _scope(request)
        if mchid is not None:
            scope = frozenset({mchid}) & scope if scope is not None else frozenset({mchid})
        state: ApiState = request.app.state.api
        with state.services.uow.read() as tx:
            return tx.reconciliation_reports.list(scope, bill_day=bill_day, limit=limit)

    @router.get("", response_model=ReconciliationReportsOut, summary="Daily reconciliation reports, newest first")
    def list_reports(
        request: Request,
        mchid: Annotated[str | None, Query(pattern=r"^[0-9]{1,32}$")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> ReconciliationReportsOut:
        return ReconciliationReportsOut(reports=[_out(report) for report in _list(request, None, mchid, limit)])

    @router.get("/{day}", response_model=ReconciliationReportsOut,
                summary="One Beijing day's reports (one per merchant in scope); 404 when none was made")  # fmt: skip
    def day_reports(
        day: Annotated[dt.date, Path(description="the bill day, YYYY-MM-DD (Beijing)")],
        request: Request,
        mchid: Annotated[str | None, Query(pattern=r"^[0-9]{1,32}$")] = None,
    ) -> ReconciliationReportsOut:
        found = _list(request, day, mchid, 500)
        if not found:
            raise ApiError(404, "report_not_found", "no reconciliation report for this day")
        return ReconciliationReportsOut(reports=[_out(report) for report in found])

    return router
