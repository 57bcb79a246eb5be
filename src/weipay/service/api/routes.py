"""The JSON endpoints of the contract (``/v1/...``): thin adapters from HTTP to the use cases.

Every handler authenticates first, then checks that the caller may act on the resource, then calls one use
case with the collaborators from ``bootstrap`` and presents its answer. Handlers whose use case may ask
WeChat are ``async``: they run the use case's flow through ``services.wechat`` (database steps on worker
threads, WeChat calls on the event loop, at most ``max_in_flight`` per merchant, else 503), so a slow WeChat
holds no thread. The others are plain ``def`` on FastAPI's thread pool, which those flows leave free.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Header, Path, Query, Request, Response

from .. import jobs, usecases
from ..bootstrap import Services
from ..domain import Busy, Order, Refund
from .auth import Principal
from .errors import ApiError
from .presenters import details_out, event_out, job_out, order_out, payment_out, refund_out
from .qr import qr_svg
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
from .state import ApiState

__all__ = ["build_router"]

log = logging.getLogger("weipay.service")
T = TypeVar("T")

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (401, "missing or unknown API key / login token"),
        (403, "the caller may not act on this resource"),
        (404, "no such resource"),
        (409, "conflicts with the current state or an earlier request"),
        (422, "invalid input (code says which)"),
        (502, "WeChat refused or could not be reached; the outcome is recorded"),
        (503, "wechat_busy: too many of the merchant's requests wait on WeChat; retry after Retry-After seconds"),
    )
}


_MAX_JOB_ID = 2**31 - 1  # jobs.id is a 32-bit INTEGER on PostgreSQL: a bigger id is a 422, not a 500


def _state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def _services(request: Request) -> Services:
    return _state(request).services


def _principal(request: Request) -> Principal:
    return _state(request).authenticator.authenticate(request)


async def _caller(request: Request) -> Principal:
    return await _state(request).authenticator.authenticate_async(request)


async def _run(request: Request, principal: Principal, flow: Callable[[], usecases.Calls[T]]) -> T:
    """Run ``flow`` for the caller's merchant through the async WeChat driver."""
    return await _services(request).wechat.run(_merchant(principal), flow)


def _merchant(principal: Principal) -> str:
    """The merchant a merchant key or a user's session belongs to (each belongs to exactly one)."""
    (mchid,) = principal.mchids
    return mchid


def _order_for(services: Services, principal: Principal, order_id: str) -> Order:
    """The order if the caller may act on it: 404 for another merchant's (ids do not leak), 403 another user's."""
    order = usecases.load_order(services.uow, order_id, _merchant(principal))
    principal.require_access(order.mchid, order.payer_openid)
    return order


def build_router() -> APIRouter:
    """All ``/v1`` routes."""
    router = APIRouter(prefix="/v1", responses=_ERRORS)

    @router.post("/login", response_model=LoginOut, tags=["users"], summary="Exchange a login code")
    async def login(body: LoginIn, request: Request) -> LoginOut:
        services = _services(request)
        merchant = services.merchant_for_appid(body.appid)
        result = await services.wechat.run(merchant.mchid, lambda: usecases.login_flow(
            services.uow, services.gateway, services.clock, merchant, body.appid, body.code,
        ))  # fmt: skip
        return LoginOut(openid=result.openid, token=result.token)

    @router.post("/orders", status_code=201, response_model=OrderOut, tags=["orders"], summary="Create an order",
                 responses={200: {"model": OrderOut, "description": "the same order, created earlier (idempotent)"}})
    def create_order(
        body: CreateOrderIn,
        request: Request,
        response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    ) -> OrderOut:
        services = _services(request)
        principal = _principal(request)
        principal.require_merchant()
        command = usecases.CreateOrder(
            merchant_order_no=body.merchant_order_no, amount_fen=body.amount, description=body.description,
            currency=body.currency, attach=body.attach, expire_after_s=body.expire_in_s,
            payer_openid=body.payer_openid, options=body.options.to_domain() if body.options else None,
        )  # fmt: skip
        merchant = services.merchant_config(_merchant(principal))
        order, created = usecases.create_order_idempotently(
            services.uow, merchant, command, idempotency_key, clock=services.clock
        )
        response.status_code = 201 if created else 200
        return order_out(order)

    @router.post("/orders/{order_id}/payments", status_code=201, response_model=PaymentOut, tags=["payments"],
                 summary="Start a payment attempt on a channel")
    async def start_payment(order_id: str, body: PaymentIn, request: Request) -> PaymentOut:
        state = _state(request)
        services = state.services
        principal = await _caller(request)
        payer_openid = body.payer_openid
        if not principal.is_merchant:
            if payer_openid not in (None, principal.openid):
                raise ApiError(403, "payer_not_caller", "a user can only pay as themselves")
            payer_openid = principal.openid
        client_ip = _client_ip(body.client_ip, request)

        def flow() -> usecases.Calls[usecases.PaymentStart]:
            if not principal.is_merchant:  # a merchant's scope the use case checks itself; a user's ownership here
                _order_for(services, principal, order_id)
            return (yield from usecases.start_payment_flow(
                services.uow, services.gateway, services.clock, services.merchant_config(_merchant(principal)),
                order_id, body.channel, body.api, payer_openid, client_ip, body.appid,
            ))  # fmt: skip

        start = await _run(request, principal, flow)
        qr_url = services.settings.public_base_url + state.qr_signer.path(order_id, start.attempt.seq)
        return payment_out(start, qr_url)

    @router.get("/orders/{order_id}", response_model=OrderOut, tags=["orders"],
                summary="Current state (queries WeChat first if a notification is overdue)")
    async def get_order(order_id: str, request: Request) -> OrderOut:
        services = _services(request)
        principal = await _caller(request)
        sync_after_s = float(services.settings.notify_expected_after_s)

        def read() -> tuple[OrderOut, bool]:
            details = usecases.order_details(services.uow, _order_for(services, principal, order_id).id)
            now = services.clock()
            due = any(usecases.due_for_sync(attempt, now, sync_after_s) for attempt in details.attempts)
            return details_out(details), due

        known, due = await services.reads.run(read)
        if not due:
            return known

        def flow() -> usecases.Calls[OrderOut]:
            order = _order_for(services, principal, order_id)
            yield from usecases.get_order_flow(services.uow, services.gateway, services.clock, order.id, order.mchid,
                                               sync_after_s=sync_after_s)  # fmt: skip
            return details_out(usecases.order_details(services.uow, order.id))

        try:
            return await _run(request, principal, flow)
        except Busy:
            # A read never waits behind WeChat: with the merchant's calls all taken, it answers what is known.
            return known

    @router.post("/orders/{order_id}/close", response_model=OrderOut, tags=["orders"],
                 summary="Close an unpaid order at WeChat, then locally")
    async def close_order(order_id: str, request: Request) -> OrderOut:
        services = _services(request)
        principal = await _caller(request)

        def flow() -> usecases.Calls[OrderOut]:
            order = _order_for(services, principal, order_id)
            yield from usecases.close_order_flow(services.uow, services.gateway, services.clock, order.id, order.mchid)
            return details_out(usecases.order_details(services.uow, order.id))

        return await _run(request, principal, flow)

    @router.post("/orders/{order_id}/refunds", status_code=201, response_model=RefundOut, tags=["refunds"],
                 summary="Refund part or all of a paid order",
                 responses={200: {"model": RefundOut, "description": "the same refund, requested earlier"}})
    async def create_refund(order_id: str, body: CreateRefundIn, request: Request, response: Response) -> RefundOut:
        services = _services(request)
        principal = await _caller(request)
        principal.require_merchant()

        def flow() -> usecases.Calls[tuple[Refund, bool]]:
            order = _order_for(services, principal, order_id)
            return (yield from usecases.request_refund_flow(
                services.uow, services.gateway, services.clock, services.merchant_config(order.mchid), order.id,
                body.amount, body.reason, body.merchant_refund_no,
            ))  # fmt: skip

        refund, created = await _run(request, principal, flow)
        response.status_code = 201 if created else 200
        return refund_out(refund)

    @router.get("/refunds/{refund_id}", response_model=RefundOut, tags=["refunds"], summary="A refund")
    def get_refund(refund_id: str, request: Request) -> RefundOut:
        principal = _principal(request)
        principal.require_merchant()
        return refund_out(usecases.get_refund(_services(request).uow, refund_id, _merchant(principal)))

    @router.post("/refunds/{refund_id}/approve", response_model=RefundOut, tags=["refunds"],
                 summary="Approve a requested refund (merchants with refund approval)")
    async def approve_refund(refund_id: str, request: Request) -> RefundOut:
        services = _services(request)
        principal = await _caller(request)
        principal.require_merchant()
        refund = await _run(request, principal, lambda: usecases.approve_refund_flow(
            services.uow, services.gateway, services.clock, refund_id, _merchant(principal),
        ))  # fmt: skip
        log.info("refund %s approved by api", refund.id)
        return refund_out(refund)

    @router.post("/refunds/{refund_id}/reject", response_model=RefundOut, tags=["refunds"],
                 summary="Reject a requested refund")
    def reject_refund(refund_id: str, request: Request, body: RejectRefundIn | None = None) -> RefundOut:
        services = _services(request)
        principal = _principal(request)
        principal.require_merchant()
        reason = body.reason if body else None
        refund = usecases.reject_refund(services.uow, services.clock, refund_id, _merchant(principal), reason=reason)
        log.info("refund %s rejected by api: %s", refund.id, reason or "-")
        return refund_out(refund)

    @router.post("/refunds/{refund_id}/abnormal-refund", response_model=RefundOut, tags=["refunds"],
                 summary="Send an abnormal (v3) refund again, to the payer's card or the merchant's account")
    async def abnormal_refund(refund_id: str, body: AbnormalRefundIn, request: Request) -> RefundOut:
        services = _services(request)
        principal = await _caller(request)
        principal.require_merchant()
        # The card details go to WeChat encrypted and are never stored or logged.
        refund = await _run(request, principal, lambda: usecases.apply_abnormal_refund_flow(
            services.uow, services.gateway, services.clock, refund_id, _merchant(principal), type=body.type,
            bank_type=body.bank_type, bank_account=body.bank_account, real_name=body.real_name,
        ))  # fmt: skip
        log.info("abnormal refund %s redirected (%s) by api", refund.id, body.type)
        return refund_out(refund)

    @router.post("/refunds/{refund_id}/resolve", response_model=RefundOut, tags=["refunds"],
                 summary="Record how an abnormal v2 refund was settled outside WeChat")
    def resolve_refund(refund_id: str, body: ResolveRefundIn, request: Request) -> RefundOut:
        services = _services(request)
        principal = _principal(request)
        principal.require_merchant()
        refund = usecases.resolve_abnormal_refund(
            services.uow, services.clock, refund_id, _merchant(principal), outcome=body.outcome, note=body.note,
            operator="api",
        )  # fmt: skip
        log.info("abnormal refund %s resolved as %s by api", refund.id, body.outcome)
        return refund_out(refund)

    @router.get("/orders/{order_id}/events", response_model=EventsOut, tags=["orders"],
                summary="The order's timeline: typed events (the raw call log: /calls)")
    def order_events(order_id: str, request: Request) -> EventsOut:
        services = _services(request)
        principal = _principal(request)
        principal.require_merchant()
        order = _order_for(services, principal, order_id)
        timeline = usecases.order_timeline(services.uow, order.id)
        return EventsOut(order_id=order.id, events=[event_out(entry) for entry in timeline])

    @router.get("/jobs", response_model=JobsOut, tags=["jobs"],
                summary="Jobs by status (e.g. dead): all with an admin key, a merchant's own orders' with its key")
    def list_jobs(
        request: Request,
        status: Annotated[Literal["pending", "running", "done", "dead"] | None, Query()] = None,
        kind: Annotated[str | None, Query(max_length=32)] = None,
    ) -> JobsOut:
        scope = _state(request).authenticator.job_scope(request)
        found = jobs.list_jobs(_services(request).uow, scope, status=status, kind=kind)
        return JobsOut(jobs=[job_out(job) for job in found])

    @router.post("/jobs/{job_id}/retry", response_model=JobOut, tags=["jobs"],
                 summary="Retry a dead job: pending now, with all its attempts back")
    def retry_job(job_id: Annotated[int, Path(ge=1, le=_MAX_JOB_ID)], request: Request) -> JobOut:
        services = _services(request)
        scope = _state(request).authenticator.job_scope(request)
        return job_out(jobs.retry_dead_job(services.uow, services.clock, scope, job_id, operator="api"))

    @router.get("/orders/{order_id}/payments/{seq}/qr.svg", tags=["payments"], summary="QR image of a code_url",
                response_class=Response, responses={200: {"content": {"image/svg+xml": {}},
                                                          "description": "the QR code as SVG"}})
    def payment_qr(
        order_id: str, seq: int, request: Request, sig: Annotated[str, Query(max_length=64)] = ""
    ) -> Response:
        if not _state(request).qr_signer.check(order_id, seq, sig):
            raise ApiError(404, "qr_not_found", "no such QR image")
        code_url = usecases.payment_code_url(_services(request).uow, order_id, seq)
        return Response(qr_svg(code_url), media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})

    return router


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
