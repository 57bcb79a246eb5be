"""The JSON endpoints of the contract (``/v1/...``): thin adapters from HTTP to the runtime's use cases.

Handlers are plain ``def``: the use cases are synchronous (SQLAlchemy, the sync SDK client), so FastAPI
runs them in its thread pool. Every handler authenticates first, then checks that the caller may act
on the resource, then calls exactly one use case.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from .auth import Principal
from .errors import ApiError
from .presenters import event_out, job_out, order_out, refund_out
from .qr import qr_svg
from .runtime import Runtime
from .schemas import (
    AbnormalRefundIn,
    CreateOrderIn,
    CreateRefundIn,
    ErrorOut,
    EventsOut,
    JobOut,
    JobsOut,
    LoginIn,
    LoginOut,
    OrderOut,
    PaymentIn,
    PaymentOut,
    RefundOut,
    RejectRefundIn,
    ResolveRefundIn,
)

__all__ = ["build_router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (401, "missing or unknown API key / login token"),
        (403, "the caller may not act on this resource"),
        (404, "no such resource"),
        (409, "conflicts with the current state or an earlier request"),
        (422, "invalid input (code says which)"),
        (502, "WeChat refused or could not be reached; the outcome is recorded"),
    )
}


_MAX_JOB_ID = 2**31 - 1  # jobs.id is a 32-bit INTEGER on PostgreSQL: a bigger id is a 422, not a 500


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _principal(request: Request) -> Principal:
    return _runtime(request).authenticator.authenticate(request)


def build_router() -> APIRouter:
    """All ``/v1`` routes."""
    router = APIRouter(prefix="/v1", responses=_ERRORS)

    @router.post("/login", response_model=LoginOut, tags=["users"], summary="Exchange a mini-program login code")
    def login(body: LoginIn, request: Request) -> LoginOut:
        openid, token = _runtime(request).login(body.appid, body.code)
        return LoginOut(openid=openid, token=token)

    @router.post("/orders", status_code=201, response_model=OrderOut, tags=["orders"], summary="Create an order",
                 responses={200: {"model": OrderOut, "description": "the same order, created earlier (idempotent)"}})
    def create_order(
        body: CreateOrderIn,
        request: Request,
        response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    ) -> OrderOut:
        principal = _principal(request)
        principal.require_merchant()
        (mchid,) = principal.mchids
        order, created = _runtime(request).create_order(mchid, body, idempotency_key)
        response.status_code = 201 if created else 200
        return order_out(order)

    @router.post("/orders/{order_id}/payments", status_code=201, response_model=PaymentOut, tags=["payments"],
                 summary="Start a payment attempt on a channel")
    def start_payment(order_id: str, body: PaymentIn, request: Request) -> PaymentOut:
        runtime = _runtime(request)
        principal = _principal(request)
        order = runtime.order_for(principal, order_id)
        payer_openid = body.payer_openid
        if not principal.is_merchant:
            if payer_openid not in (None, principal.openid):
                raise ApiError(403, "payer_not_caller", "a user can only pay as themselves")
            payer_openid = principal.openid
        return runtime.start_payment(order, body.channel, body.api, payer_openid, _client_ip(body.client_ip, request))

    @router.get("/orders/{order_id}", response_model=OrderOut, tags=["orders"],
                summary="Current state (queries WeChat first if a notification is overdue)")
    def get_order(order_id: str, request: Request) -> OrderOut:
        runtime = _runtime(request)
        order = runtime.order_for(_principal(request), order_id)
        return runtime.get_order(order)

    @router.post("/orders/{order_id}/close", response_model=OrderOut, tags=["orders"],
                 summary="Close an unpaid order at WeChat, then locally")
    def close_order(order_id: str, request: Request) -> OrderOut:
        runtime = _runtime(request)
        order = runtime.order_for(_principal(request), order_id)
        return runtime.close_order(order)

    @router.post("/orders/{order_id}/refunds", status_code=201, response_model=RefundOut, tags=["refunds"],
                 summary="Refund part or all of a paid order",
                 responses={200: {"model": RefundOut, "description": "the same refund, requested earlier"}})
    def create_refund(order_id: str, body: CreateRefundIn, request: Request, response: Response) -> RefundOut:
        runtime = _runtime(request)
        principal = _principal(request)
        principal.require_merchant()
        order = runtime.order_for(principal, order_id)
        refund, created = runtime.request_refund(order, body)
        response.status_code = 201 if created else 200
        return refund_out(refund)

    @router.get("/refunds/{refund_id}", response_model=RefundOut, tags=["refunds"], summary="A refund")
    def get_refund(refund_id: str, request: Request) -> RefundOut:
        runtime = _runtime(request)
        principal = _principal(request)
        principal.require_merchant()
        return refund_out(runtime.get_refund(principal, refund_id))

    @router.post("/refunds/{refund_id}/approve", response_model=RefundOut, tags=["refunds"],
                 summary="Approve a requested refund (merchants with refund approval)")
    def approve_refund(refund_id: str, request: Request) -> RefundOut:
        runtime = _runtime(request)
        principal = _principal(request)
        principal.require_merchant()
        refund = runtime.refund_for(principal, refund_id)
        return refund_out(runtime.approve_refund(refund, operator="api"))

    @router.post("/refunds/{refund_id}/reject", response_model=RefundOut, tags=["refunds"],
                 summary="Reject a requested refund")
    def reject_refund(refund_id: str, request: Request, body: RejectRefundIn | None = None) -> RefundOut:
        runtime = _runtime(request)
        principal = _principal(request)
        principal.require_merchant()
        refund = runtime.refund_for(principal, refund_id)
        return refund_out(runtime.reject_refund(refund, operator="api", reason=body.reason if body else None))

    @router.post("/refunds/{refund_id}/abnormal-refund", response_model=RefundOut, tags=["refunds"],
                 summary="Send an abnormal (v3) refund again, to the payer's card or the merchant's account")
    def abnormal_refund(refund_id: str, body: AbnormalRefundIn, request: Request) -> RefundOut:
        runtime = _runtime(request)
        principal = _principal(request)
        principal.require_merchant()
        refund = runtime.refund_for(principal, refund_id)
        return refund_out(runtime.apply_abnormal_refund(refund, body, operator="api"))

    @router.post("/refunds/{refund_id}/resolve", response_model=RefundOut, tags=["refunds"],
                 summary="Record how an abnormal v2 refund was settled outside WeChat")
    def resolve_refund(refund_id: str, body: ResolveRefundIn, request: Request) -> RefundOut:
        runtime = _runtime(request)
        principal = _principal(request)
        principal.require_merchant()
        refund = runtime.refund_for(principal, refund_id)
        return refund_out(runtime.resolve_abnormal_refund(refund, body, operator="api"))

    @router.get("/orders/{order_id}/events", response_model=EventsOut, tags=["orders"],
                summary="The call log of an order: WeChat calls and notifications")
    def order_events(order_id: str, request: Request) -> EventsOut:
        runtime = _runtime(request)
        principal = _principal(request)
        principal.require_merchant()
        order = runtime.order_for(principal, order_id)
        return EventsOut(order_id=order.id, events=[event_out(row) for row in runtime.events(order.id)])

    @router.get("/jobs", response_model=JobsOut, tags=["jobs"],
                summary="Jobs by status (e.g. dead): all with an admin key, a merchant's own orders' with its key")
    def list_jobs(
        request: Request,
        status: Annotated[Literal["pending", "running", "done", "dead"] | None, Query()] = None,
        kind: Annotated[str | None, Query(max_length=32)] = None,
    ) -> JobsOut:
        runtime = _runtime(request)
        scope = runtime.job_scope(request)
        return JobsOut(jobs=[job_out(job) for job in runtime.jobs(scope, status=status, kind=kind)])

    @router.post("/jobs/{job_id}/retry", response_model=JobOut, tags=["jobs"],
                 summary="Retry a dead job: pending now, with all its attempts back")
    def retry_job(job_id: Annotated[int, Path(ge=1, le=_MAX_JOB_ID)], request: Request) -> JobOut:
        runtime = _runtime(request)
        scope = runtime.job_scope(request)
        return job_out(runtime.retry_job(scope, job_id, operator="api"))

    @router.get("/orders/{order_id}/payments/{seq}/qr.svg", tags=["payments"], summary="QR image of a code_url",
                response_class=Response, responses={200: {"content": {"image/svg+xml": {}},
                                                          "description": "the QR code as SVG"}})
    def payment_qr(
        order_id: str, seq: int, request: Request, sig: Annotated[str, Query(max_length=64)] = ""
    ) -> Response:
        runtime = _runtime(request)
        if not runtime.qr_signer.check(order_id, seq, sig):
            raise ApiError(404, "qr_not_found", "no such QR image")
        code_url = runtime.code_url(order_id, seq)
        return Response(qr_svg(code_url), media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})

    return router


def json_error(status: int, code: str, message: str) -> JSONResponse:
    """Shortcut used by non-API routes that answer in the API's error shape."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _client_ip(given: str | None, request: Request) -> str:
    """The payer's IP for WeChat (v2 ``spbill_create_ip``, v3 ``payer_client_ip``).

    An explicit ``client_ip`` must be an IP address (422 otherwise); the peer address is used only when it
    is one (test clients and unix sockets report names), else loopback.
    """
    if given is not None:
        try:
            return str(ipaddress.ip_address(given))
        except ValueError:
            raise ApiError(422, "invalid_client_ip", "client_ip must be an IPv4 or IPv6 address") from None
    peer = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(peer))
    except ValueError:
        return "127.0.0.1"
