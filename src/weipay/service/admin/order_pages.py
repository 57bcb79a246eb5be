"""The order pages: the list with the filters of ``GET /v1/orders`` and cursor paging, and one order in full."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from .. import usecases
from ..domain import Channel, DomainError, InvalidInput, OrderStatus
from .context import Console
from .display import event_details
from .paging import ListQuery

__all__ = ["build_order_pages"]


def build_order_pages(console: Console) -> APIRouter:
    """``GET /console/`` and ``GET /console/orders/{id}``."""
    router = APIRouter()
    uow = console.uow

    @router.get("/", response_class=HTMLResponse)
    def orders(request: Request) -> Response:
        operator = console.operator(request)
        if operator is None:
            return console.to_login()
        query = ListQuery.from_params(request.query_params, console.merchant_ids)
        choices: dict[str, Any] = {"statuses": [s.value for s in OrderStatus], "channels": [c.value for c in Channel]}
        try:
            page = usecases.list_orders(uow, query.orders_filter(console.clocks))
        except InvalidInput as bad:
            return console.render(request, "orders.html", operator, status_code=422, query=query, rows=[],
                                  next_link=None, bad_filter=bad.code, **choices)  # fmt: skip
        next_link = query.link(page.next_after) if page.next_after else None
        return console.render(request, "orders.html", operator, query=query, rows=page.orders, next_link=next_link,
                              bad_filter=None, **choices)  # fmt: skip

    @router.get("/orders/{order_id}", response_class=HTMLResponse)
    def order(order_id: str, request: Request) -> Response:
        operator = console.operator(request)
        if operator is None:
            return console.to_login()
        try:
            details = usecases.order_details(uow, order_id)
            timeline = usecases.order_timeline(uow, order_id)
            calls = usecases.order_call_log(uow, order_id)
            webhooks = usecases.webhook_deliveries_for_order(uow, order_id)
        except DomainError:
            return console.render(request, "missing.html", operator, status_code=404)
        merchant = console.services.merchants.get(details.order.mchid)
        return console.render(
            request, "order.html", operator, order=details.order, attempts=sorted(details.attempts, key=_seq),
            refunds=sorted(details.refunds, key=_seq), shipment=details.shipment, timeline=timeline, webhooks=webhooks,
            details=event_details, calls=calls,
            approval_required=bool(merchant and merchant.settings.refund_approval_required),
            configured=merchant is not None, refund_no=f"console-{secrets.token_hex(8)}",
            at_merchant=lambda unix_s: console.clocks.at(unix_s, details.order.mchid),
        )  # fmt: skip

    return router


def _seq(row: object) -> int:
    return int(getattr(row, "seq", 0))
