"""The console's actions: each a CSRF-checked POST that runs one use case (the same ones as the API) and goes back.

The order's own merchant is the scope of every action (an operator acts for every configured merchant). The
blocking forms of the use cases run here: FastAPI runs these plain ``def`` handlers on its thread pool, so a
WeChat call never holds the event loop. Each logs who did it.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from .. import jobs, usecases
from ..domain import NotFound, Refund
from .context import Console
from .display import parse_yuan
from .session import Operator

__all__ = ["build_actions"]

log = logging.getLogger("weipay.service")

Text = Annotated[str, Form(max_length=400)]
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


def build_actions(console: Console) -> APIRouter:
    """The POST routes under ``/console``."""
    router = APIRouter()
    services = console.services
    uow, gateway, clock = services.uow, services.gateway, services.clock

    def refund_of(refund_id: str) -> Refund:
        refund = usecases.get_refund(uow, refund_id)
        if refund.mchid not in services.merchants:
            raise NotFound("refund_not_found", "no such refund")
        return refund

    @router.post("/orders/{order_id}/refunds")
    def refund(order_id: str, request: Request, csrf_token: Text = "", back: Text = "", amount: Text = "",
               reason: Text = "", merchant_refund_no: Text = "") -> Response:  # fmt: skip
        def work(operator: Operator) -> str:
            order = usecases.load_order(uow, order_id)
            merchant = services.merchant_config(order.mchid)
            made = usecases.request_refund(uow, gateway, clock, merchant, order.id, parse_yuan(amount),
                                           reason.strip() or None, merchant_refund_no or None)  # fmt: skip
            log.info("refund %s of order %s requested by console:%s", made.id, order.id, operator.name)
            return "refund_requested"

        return console.act(request, csrf_token, back, work)

    @router.post("/orders/{order_id}/close")
    def close(order_id: str, request: Request, csrf_token: Text = "", back: Text = "") -> Response:
        def work(operator: Operator) -> str:
            order = usecases.load_order(uow, order_id)
            usecases.close_order(uow, gateway, clock, order.id, order.mchid)
            log.info("order %s closed by console:%s", order.id, operator.name)
            return "order_closed"

        return console.act(request, csrf_token, back, work)

    @router.post("/refunds/{refund_id}/approve")
    def approve(refund_id: str, request: Request, csrf_token: Text = "", back: Text = "") -> Response:
        def work(operator: Operator) -> str:
            found = refund_of(refund_id)
            usecases.approve_refund(uow, gateway, clock, found.id, found.mchid)
            log.info("refund %s approved by console:%s", found.id, operator.name)
            return "refund_approved"

        return console.act(request, csrf_token, back, work)

    @router.post("/refunds/{refund_id}/reject")
    def reject(refund_id: str, request: Request, csrf_token: Text = "", back: Text = "", reason: Text = "") -> Response:
        def work(operator: Operator) -> str:
            found = refund_of(refund_id)
            usecases.reject_refund(uow, clock, found.id, found.mchid, reason=reason.strip()[:200] or None)
            log.info("refund %s rejected by console:%s", found.id, operator.name)
            return "refund_rejected"

        return console.act(request, csrf_token, back, work)

    @router.post("/refunds/{refund_id}/abnormal-refund")
    def redirect_abnormal(refund_id: str, request: Request, csrf_token: Text = "", back: Text = "", type: Text = "",
                          bank_type: Text = "", bank_account: Text = "", real_name: Text = "") -> Response:  # fmt: skip
        def work(operator: Operator) -> str:
            found = refund_of(refund_id)
            card = type == "user_bank_card"  # an account redirect carries no card fields
            usecases.apply_abnormal_refund(
                uow, gateway, clock, found.id, found.mchid, type=type,
                bank_type=bank_type.strip() or None if card else None,
                bank_account=bank_account.strip() or None if card else None,
                real_name=real_name.strip() or None if card else None,
            )  # fmt: skip
            log.info("abnormal refund %s sent again by console:%s", found.id, operator.name)
            return "refund_sent_again"

        return console.act(request, csrf_token, back, work)

    @router.post("/refunds/{refund_id}/resolve")
    def resolve_abnormal(refund_id: str, request: Request, csrf_token: Text = "", back: Text = "",
                         outcome: Text = "", note: Text = "") -> Response:  # fmt: skip
        def work(operator: Operator) -> str:
            found = refund_of(refund_id)
            usecases.resolve_abnormal_refund(uow, clock, found.id, found.mchid, outcome=outcome,
                                             note=note.strip() or None, operator=f"console:{operator.name}")
            log.info("abnormal refund %s resolved by console:%s", found.id, operator.name)
            return "refund_resolved"

        return console.act(request, csrf_token, back, work)

    @router.post("/anomalies/{anomaly_id}/resolve")
    def resolve_anomaly(anomaly_id: RowId, request: Request, csrf_token: Text = "", back: Text = "",
                        note: Text = "") -> Response:  # fmt: skip
        def work(operator: Operator) -> str:
            usecases.resolve_anomaly(uow, clock, anomaly_id, operator=f"console:{operator.name}",
                                     note=note.strip() or None)  # fmt: skip
            return "anomaly_resolved"

        return console.act(request, csrf_token, back, work)

    @router.post("/webhook-deliveries/{delivery_id}/redeliver")
    def redeliver(delivery_id: RowId, request: Request, csrf_token: Text = "", back: Text = "") -> Response:
        def work(operator: Operator) -> str:
            usecases.redeliver_webhook(uow, clock, delivery_id, operator=f"console:{operator.name}")
            return "webhook_redelivered"

        return console.act(request, csrf_token, back, work)

    @router.post("/jobs/{job_id}/retry")
    def retry_dead_job(job_id: RowId, request: Request, csrf_token: Text = "", back: Text = "") -> Response:
        def work(operator: Operator) -> str:
            jobs.retry_dead_job(uow, clock, None, job_id, operator=f"console:{operator.name}")
            return "job_retried"

        return console.act(request, csrf_token, back, work)

    return router
