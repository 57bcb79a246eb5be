"""Console pages: orders list/search, order detail, refund approval, anomalies, login/logout."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ..api.errors import ApiError
from ..api.presenters import job_out
from ..api.schemas import AbnormalRefundIn, ResolveRefundIn
from ..domain import DomainError, InvalidInput, OrderStatus, check_text
from ..domain.records import Anomaly
from .session import COOKIE_NAME, ConsoleSession, SessionCodec, basic_credentials, check_credentials

if TYPE_CHECKING:
    from ..api.runtime import Runtime

__all__ = ["PREFIX", "build_console_router"]

PREFIX = "/console"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)


_ABNORMAL_FIELDS = ("type", "bank_type", "bank_account", "real_name", "outcome", "note")


class _LoginRequired(Exception):
    pass


def build_console_router(runtime: Runtime) -> APIRouter:
    """The ``/console`` routes bound to ``runtime``."""
    router = APIRouter(prefix=PREFIX)
    codec = SessionCodec(runtime.secret, runtime.clock)
    admin = runtime.settings.admin

    def current(request: Request) -> ConsoleSession | None:
        session = codec.read(request.cookies.get(COOKIE_NAME))
        if session is not None:
            return session
        basic = basic_credentials(request)
        if basic is not None:
            operator = check_credentials(admin, username=basic[0], password=basic[1])
            if operator is not None:
                pseudo_id = hashlib.sha256(b"basic:" + runtime.secret + operator.encode()).hexdigest()[:32]
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
                            secure=runtime.settings.public_base_url.startswith("https://"))
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
        found = _search_orders(runtime, q.strip(), status)
        return page(request, "orders.html", session, orders=found, q=q, status=status,
                    statuses=[s.value for s in OrderStatus])

    @router.get("/orders/{order_id}", response_class=HTMLResponse)
    def order_detail(order_id: str, request: Request) -> Response:
        session = current(request)
        if session is None:
            return to_login()
        try:
            order = runtime.order_view(order_id)
        except ApiError:
            return page(request, "orders.html", session, status_code=404, orders=[], q=order_id, status="",
                        statuses=[s.value for s in OrderStatus], flash="No such order.", flash_error=True)
        events = runtime.events(order_id)
        return page(request, "order.html", session, order=order, events=[_event(e) for e in events])

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
            with runtime.uow.read() as tx:
                refund = tx.refunds.get(refund_id)
            if refund is None or refund.mchid not in runtime.merchants:
                return f"{PREFIX}/?flash=No+such+refund&error=1"
            try:
                if approve:
                    runtime.approve_refund(refund, operator=operator)
                else:
                    runtime.reject_refund(refund, operator=operator, reason=reason)
            except DomainError as exc:
                return f"{PREFIX}/orders/{refund.order_id}?flash={exc.code}&error=1"
            done = "approved" if approve else "rejected"
            return f"{PREFIX}/orders/{refund.order_id}?flash=Refund+{done}"

        return RedirectResponse(await run_in_threadpool(act), status_code=303)

    @router.post("/refunds/{refund_id}/approve")
    async def approve(refund_id: str, request: Request) -> Response:
        return await refund_action(request, refund_id, approve=True)

    @router.post("/refunds/{refund_id}/reject")
    async def reject(refund_id: str, request: Request) -> Response:
        return await refund_action(request, refund_id, approve=False)

    async def abnormal_action(request: Request, refund_id: str, action: str) -> Response:
        """Redirect (v3) or resolve (v2) an abnormal refund, through the same runtime calls as the API."""
        session = current(request)
        if session is None:
            return to_login()
        form = await request.form()
        if not codec.check_csrf(session, str(form.get("csrf_token", ""))):
            return HTMLResponse("invalid CSRF token; reload the page", status_code=403)
        fields = {name: str(form.get(name, "")).strip() or None for name in _ABNORMAL_FIELDS}
        operator = f"console:{session.operator}"

        def act() -> str:
            with runtime.uow.read() as tx:
                refund = tx.refunds.get(refund_id)
            if refund is None or refund.mchid not in runtime.merchants:
                return f"{PREFIX}/?flash=No+such+refund&error=1"
            try:
                if action == "abnormal-refund":
                    kind = fields["type"] or ""
                    card = kind == "user_bank_card"  # an account redirect carries no card fields
                    body = AbnormalRefundIn(
                        type=kind, bank_type=fields["bank_type"] if card else None,  # type: ignore[arg-type]
                        bank_account=fields["bank_account"] if card else None,
                        real_name=fields["real_name"] if card else None,
                    )  # fmt: skip
                    runtime.apply_abnormal_refund(refund, body, operator=operator)
                else:
                    resolution = ResolveRefundIn(outcome=fields["outcome"], note=fields["note"])  # type: ignore[arg-type]
                    runtime.resolve_abnormal_refund(refund, resolution, operator=operator)
            except DomainError as exc:
                return f"{PREFIX}/orders/{refund.order_id}?flash={exc.code}&error=1"
            except ValidationError:
                return f"{PREFIX}/orders/{refund.order_id}?flash=invalid_input&error=1"
            done = "sent+again" if action == "abnormal-refund" else "resolved"
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
        with runtime.uow.read() as tx:
            rows = tx.anomalies.list(limit=200)
        return page(request, "anomalies.html", session, anomalies=[_anomaly(a) for a in rows])

    @router.get("/jobs", response_class=HTMLResponse)
    def dead_jobs(request: Request) -> Response:
        session = current(request)
        if session is None:
            return to_login()
        jobs = runtime.jobs(None, status="dead", kind=None)
        return page(request, "jobs.html", session, jobs=[job_out(j) for j in jobs])

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
                runtime.retry_job(None, job_id, operator=f"console:{session.operator}")
            except ApiError as exc:
                return f"{PREFIX}/jobs?flash={exc.code}&error=1"
            return f"{PREFIX}/jobs?flash=Job+{job_id}+retried"

        return RedirectResponse(await run_in_threadpool(act), status_code=303)

    return router


def _search_orders(runtime: Runtime, q: str, status: str) -> list[Any]:
    wanted = OrderStatus(status) if status in {s.value for s in OrderStatus} else None
    with runtime.uow.read() as tx:
        if not q:
            found = tx.orders.list(status=wanted, limit=100)
        else:
            candidates = [tx.orders.get(q)]
            for mchid in runtime.merchants:
                candidates.append(tx.orders.by_merchant_order_no(mchid, q))
                attempt = tx.attempts.by_out_trade_no(mchid, q)
                candidates.append(tx.orders.get(attempt.order_id) if attempt else None)
            attempt = tx.attempts.by_transaction_id(q)
            candidates.append(tx.orders.get(attempt.order_id) if attempt else None)
            unique = {o.id: o for o in candidates if o is not None}
            found = [o for o in unique.values() if wanted is None or o.status == wanted]
    from ..api.presenters import order_out

    return [order_out(o) for o in found]


def _event(row: dict[str, Any]) -> dict[str, Any]:
    from ..api.presenters import event_out

    return event_out(row).model_dump()


def _anomaly(anomaly: Anomaly) -> dict[str, Any]:
    from ..api.presenters import iso

    seen = f"{anomaly.occurrences}×, last {iso(anomaly.last_seen_at)}" if anomaly.last_seen_at else "once"
    return {"at": iso(anomaly.created_at), "kind": anomaly.kind, "mchid": anomaly.mchid, "detail": anomaly.detail,
            "seen": seen}  # fmt: skip
