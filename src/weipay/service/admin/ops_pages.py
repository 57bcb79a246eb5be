"""The operations pages: refunds waiting for a person, anomalies, dead jobs, reconciliation reports, alerts sent."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from .. import jobs, usecases
from ..domain import RefundStatus
from .context import Console
from .paging import ListQuery

__all__ = ["build_ops_pages"]

_ROWS = 200


def build_ops_pages(console: Console) -> APIRouter:
    """``/console/refunds``, ``/anomalies``, ``/jobs``, ``/reconciliation``, ``/alerts``."""
    router = APIRouter()
    uow = console.uow

    @router.get("/refunds", response_class=HTMLResponse)
    def refunds(request: Request) -> Response:
        operator = console.operator(request)
        if operator is None:
            return console.to_login()
        query = ListQuery.from_params(request.query_params, console.merchant_ids)
        waiting = usecases.list_refunds(uow, query.refunds_filter([RefundStatus.REQUESTED.value])).refunds
        abnormal = usecases.list_refunds(uow, query.refunds_filter([RefundStatus.ABNORMAL.value])).refunds
        return console.render(request, "refunds.html", operator, query=query, waiting=waiting, abnormal=abnormal)

    @router.get("/anomalies", response_class=HTMLResponse)
    def anomalies(request: Request) -> Response:
        operator = console.operator(request)
        if operator is None:
            return console.to_login()
        show_resolved = request.query_params.get("resolved") == "1"
        rows = usecases.list_anomalies(uow, limit=_ROWS, unresolved=not show_resolved)
        return console.render(request, "anomalies.html", operator, anomalies=rows, show_resolved=show_resolved,
                              pretty=_pretty)  # fmt: skip

    @router.get("/jobs", response_class=HTMLResponse)
    def dead_jobs(request: Request) -> Response:
        operator = console.operator(request)
        if operator is None:
            return console.to_login()
        return console.render(request, "jobs.html", operator, jobs=jobs.list_jobs(uow, None, status="dead"))

    @router.get("/reconciliation", response_class=HTMLResponse)
    def reconciliation(request: Request) -> Response:
        operator = console.operator(request)
        if operator is None:
            return console.to_login()
        reports = usecases.list_reconciliation_reports(uow, None, limit=_ROWS)
        return console.render(request, "reconciliation.html", operator, reports=reports, pretty=_pretty)

    @router.get("/alerts", response_class=HTMLResponse)
    def alerts(request: Request) -> Response:
        operator = console.operator(request)
        if operator is None:
            return console.to_login()
        return console.render(request, "alerts.html", operator, alerts=usecases.list_alerts_sent(uow, limit=_ROWS))

    return router


def _pretty(text: str) -> str:
    """Stored JSON indented for reading (as stored when it is not JSON)."""
    try:
        value: Any = json.loads(text)
    except ValueError:
        return text
    return json.dumps(value, ensure_ascii=False, indent=1)
