"""Console pages: orders list/search, order detail, refund approval, anomalies, login/logout."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from .. import jobs, usecases
from ..bootstrap import Services
from ..domain import DomainError, InvalidInput, OrderStatus, Refund, check_text
from ..operators import check_credentials
from .session import COOKIE_NAME, ConsoleSession, SessionCodec, basic_credentials

__all__ = ["PREFIX", "build_console_router"]

log = logging.getLogger("weipay.service")

PREFIX = "/console"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)


def _iso(unix_s: float | None) -> str:
    """``1795396740.5 -> "2026-11-23T01:19:00Z"``; empty for no time."""
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if unix_s else ""


_TEMPLATES.filters["iso"] = _iso


_ABNORMAL_FIELDS = ("type", "bank_type", "bank_account", "real_name", "outcome", "note")


class _LoginRequired(Exception):
    pass


def build_console_router(services: Services, secret: bytes) -> APIRouter:
    """The ``/console`` routes, calling the use cases with ``services``; ``secret`` signs the session cookies."""
    router = APIRouter(prefix=PREFIX)
    codec = SessionCodec(secret, services.clock)
    admin = services.settings.admin
    uow = services.uow

    def current(request: Request) -> ConsoleSession | None:
        session = codec.read(request.cookies.get(COOKIE_NAME))
        if session is not None:
            return session
        basic = basic_credentials(request)
        if basic is not None:
            operator = check_credentials(admin, username=basic[0], password=basic[1])
            if operator is not None:
                pseudo_id = hashlib.sha256(b"basic:" + secret + operator.encode()).hexdigest()[:32]
                return ConsoleSession(pseudo_id, operator, 0)
        return None

    def page(
        request: Request, template: str, session: ConsoleSession | None, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        html = _TEMPLATES.get_template(template).render(
            prefix=PREFIX,
            authenticated=session is not None,
            csrf_token=codec.csrf_token(session) if session else "",
            **{"flash": request.query_params.get("flash"), "flash_error": request.query_params.get("error") == "1",
               **context},
        )
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store",
                                                               "X-Frame-Options": "DENY"})

    def to_login() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", None)

    @router.post("/login")
    def login(
        request: Request,
        api_key: str = Form(""),
        username: str = Form(""),
        password: str = Form(""),
    ) -> Response:
        operator = check_credentials(admin, api_key=api_key, username=username, password=password)
        if operator is None:
            return page(request, "login.html", None, status_code=401, flash="Wrong key or password.", flash_error=True)
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(COOKIE_NAME, codec.issue(operator), httponly=True, samesite="strict", path=PREFIX,
                            secure=services.settings.public_base_url.startswith("https://"))
        return response

    @router.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")) -> Response:
        session = current(request)
        # A forged cross-site POST must not end an operator's session: only this session's own form may.
        if session is not None and not codec.check_csrf(session, csrf_token):
            return HTMLResponse("invalid CSRF token; reload the page", status_code=403)
        response = to_login()
        response.delete_cookie(COOKIE_NAME, path=PREFIX)
        return response

    @router.get("/", response_class=HTMLResponse)
    def orders(request: Request, q: str = "", status: str = "") -> Response:
        session = current(request)
        if session is None:
            return to_login()
        try:
            check_text("search", q.strip(), max_chars=64)  # a NUL reached PostgreSQL and was a 500
        except InvalidInput as bad:
            return page(request, "orders.html", session, status_code=422, orders=[], q="", status=status,
                        statuses=[s.value for s in OrderStatus], flash=bad.message, flash_error=True)
        wanted = OrderStatus(status) if status in {s.value for s in OrderStatus} else None
        found = usecases.search_orders(uow, services.merchants, q.strip(), wanted)
        return page(request, "orders.html", session, orders=found, q=q, status=status,
                    statuses=[s.value for s in OrderStatus])

    @router.get("/orders/{order_id}", response_class=HTMLResponse)
    def order_detail(order_id: str, request: Request) -> Response:
        session = current(request)
        if session is None:
            return to_login()
        try:
            details = usecases.order_details(uow, order_id)
        except DomainError:
            return page(request, "orders.html", session, status_code=404, orders=[], q=order_id, status="",
                        statuses=[s.value for s in OrderStatus], flash="No such order.", flash_error=True)
        return page(request, "order.html", session, order=details.order, attempts=details.attempts,
                    refunds=details.refunds, shipment=details.shipment, events=usecases.order_call_log(uow, order_id))

    async def refund_action(request: Request, refund_id: str, approve: bool) -> Response:
        session = current(request)
        if session is None:
            return to_login()
        form = await request.form()
        if not codec.check_csrf(session, str(form.get("csrf_token", ""))):
            return HTMLResponse("invalid CSRF token; reload the page", status_code=403)
        reason = str(form.get("reason", ""))[:200] or None
        operator = f"console:{session.operator}"

        def act() -> str:
            refund = _configured_refund(services, refund_id)
            if refund is None:
                return f"{PREFIX}/?flash=No+such+refund&error=1"
            try:
                if approve:
                    usecases.approve_refund(uow, services.gateway, services.clock, refund.id, refund.mchid)
                else:
                    usecases.reject_refund(uow, services.clock, refund.id, refund.mchid, reason=reason)
            except DomainError as exc:
                return f"{PREFIX}/orders/{refund.order_id}?flash={exc.code}&error=1"
            done = "approved" if approve else "rejected"
            log.info("refund %s %s by %s", refund.id, done, operator)
            return f"{PREFIX}/orders/{refund.order_id}?flash=Refund+{done}"

        return RedirectResponse(await run_in_threadpool(act), status_code=303)

    @router.post("/refunds/{refund_id}/approve")
    async def approve(refund_id: str, request: Request) -> Response:
        return await refund_action(request, refund_id, approve=True)

    @router.post("/refunds/{refund_id}/reject")
    async def reject(refund_id: str, request: Request) -> Response:
        return await refund_action(request, refund_id, approve=False)

    async def abnormal_action(request: Request, refund_id: str, action: str) -> Response:
        """Redirect (v3) or resolve (v2) an abnormal refund, through the same use cases as the API."""
        session = current(request)
        if session is None:
            return to_login()
        form = await request.form()
        if not codec.check_csrf(session, str(form.get("csrf_token", ""))):
            return HTMLResponse("invalid CSRF token; reload the page", status_code=403)
        fields = {name: str(form.get(name, "")).strip() or None for name in _ABNORMAL_FIELDS}
        operator = f"console:{session.operator}"

        def act() -> str:
            refund = _configured_refund(services, refund_id)
            if refund is None:
                return f"{PREFIX}/?flash=No+such+refund&error=1"
            try:
                if action == "abnormal-refund":
                    kind = fields["type"] or ""
                    card = kind == "user_bank_card"  # an account redirect carries no card fields
                    usecases.apply_abnormal_refund(
                        uow, services.gateway, services.clock, refund.id, refund.mchid, type=kind,
                        bank_type=fields["bank_type"] if card else None,
                        bank_account=fields["bank_account"] if card else None,
                        real_name=fields["real_name"] if card else None,
                    )  # fmt: skip
                else:
                    usecases.resolve_abnormal_refund(uow, services.clock, refund.id, refund.mchid,
                                                     outcome=fields["outcome"] or "", note=fields["note"],
                                                     operator=operator)  # fmt: skip
            except DomainError as exc:
                return f"{PREFIX}/orders/{refund.order_id}?flash={exc.code}&error=1"
            done = "sent+again" if action == "abnormal-refund" else "resolved"
            log.info("abnormal refund %s %s by %s", refund.id, done.replace("+", " "), operator)
            return f"{PREFIX}/orders/{refund.order_id}?flash=Refund+{done}"

        return RedirectResponse(await run_in_threadpool(act), status_code=303)

    @router.post("/refunds/{refund_id}/abnormal-refund")
    async def redirect_abnormal(refund_id: str, request: Request) -> Response:
        return await abnormal_action(request, refund_id, "abnormal-refund")

    @router.post("/refunds/{refund_id}/resolve")
    async def resolve_abnormal(refund_id: str, request: Request) -> Response:
        return await abnormal_action(request, refund_id, "resolve")

    @router.get("/anomalies", response_class=HTMLResponse)
    def anomalies(request: Request) -> Response:
        session = current(request)
        if session is None:
            return to_login()
        return page(request, "anomalies.html", session, anomalies=usecases.list_anomalies(uow, limit=200))

    @router.get("/jobs", response_class=HTMLResponse)
    def dead_jobs(request: Request) -> Response:
        session = current(request)
        if session is None:
            return to_login()
        return page(request, "jobs.html", session, jobs=jobs.list_jobs(uow, None, status="dead"))

    @router.post("/jobs/{job_id}/retry")
    async def retry_dead_job(job_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)], request: Request) -> Response:
        session = current(request)
        if session is None:
            return to_login()
        form = await request.form()
        if not codec.check_csrf(session, str(form.get("csrf_token", ""))):
            return HTMLResponse("invalid CSRF token; reload the page", status_code=403)

        def act() -> str:
            try:
                jobs.retry_dead_job(uow, services.clock, None, job_id, operator=f"console:{session.operator}")
            except DomainError as exc:
                return f"{PREFIX}/jobs?flash={exc.code}&error=1"
            return f"{PREFIX}/jobs?flash=Job+{job_id}+retried"

        return RedirectResponse(await run_in_threadpool(act), status_code=303)

    return router


def _configured_refund(services: Services, refund_id: str) -> Refund | None:
    """The refund if it exists and belongs to a configured merchant, else None."""
    try:
        refund = usecases.get_refund(services.uow, refund_id)
    except DomainError:
        return None
    return refund if refund.mchid in services.merchants else None
