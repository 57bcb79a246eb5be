"""The hosted checkout page for Native and H5: ``GET /pay/{order_id}?sig=``, its status, and the link to it.

A web shop sends the buyer to the signed link (``POST /v1/orders/{id}/checkout-link``, merchant key). The page
shows the payee, the amount in yuan, the description and how to pay: the QR code of the open Native attempt
(started by the page itself when the order has none), or a button to WeChat for an H5 attempt the merchant
started. Its script then polls ``GET /pay/{order_id}/status?sig=`` (a database read that never asks WeChat: the
notification, or the worker's scheduled query, moves the order) until the order is paid, closed or expired.

The page carries its CSS and script inline (no CDN), under a Content-Security-Policy that allows only those
(by nonce), images and requests from the service itself. ``Referrer-Policy: no-referrer`` keeps the signed URL
from leaking; the H5 button sends the origin alone, which is what WeChat checks against the merchant's H5 domain.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from .. import usecases
from ..bootstrap import Services
from ..domain import DomainError, NotFound, fen_to_yuan
from .checkout_link import MAX_LINK_LIFETIME_S, CheckoutLinks
from .checkout_start import payer_ip, start_native
from .checkout_text import Language, choose_language, texts
from .checkout_view import PaymentView, beijing_time, payment_view, shown_status, status_body
from .errors import ApiError
from .schemas import ErrorOut
from .state import ApiState
from .times import iso

__all__ = ["CheckoutLinkIn", "CheckoutLinkOut", "build_checkout_router"]

log = logging.getLogger("weipay.service")

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)
# After the order's own expiry, a default link still shows the outcome (paid, expired) for a day.
_LINK_OUTLIVES_ORDER_S = 86_400
_SIG = Annotated[str, Query(max_length=64)]
_LANG = Annotated[str | None, Query(max_length=8)]


class CheckoutLinkIn(BaseModel):
    """Options of a checkout link (all optional)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"expires_in_s": 7200, "lang": "en"}})
    expires_in_s: int | None = Field(
        default=None, ge=60, le=MAX_LINK_LIFETIME_S,
        description="how long the link works; default: until a day after the order expires",
    )
    lang: Language | None = Field(default=None, description="pin the page's language; default: the payer's browser")


class CheckoutLinkOut(BaseModel):
    """A signed link to the order's checkout page, to send the buyer to."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "order_id": "01J9Z3Q6W8M2", "url": "https://pay.example.com/pay/01J9Z3Q6W8M2?sig=1796000000.9f2c…",
        "expires_at": "2026-11-24T01:19:00Z"}})  # fmt: skip
    order_id: str
    url: str
    expires_at: str


def build_checkout_router(secret: bytes) -> APIRouter:
    """``/pay/{order_id}`` (page and status, outside the API schema) and ``POST /v1/orders/{id}/checkout-link``;
    ``secret`` signs the links (the app's signing secret, as for QR images and console cookies)."""
    router = APIRouter()
    links = CheckoutLinks(secret)

    @router.post("/v1/orders/{order_id}/checkout-link", response_model=CheckoutLinkOut, tags=["payments"],
                 summary="A signed link to the hosted checkout page (Native QR code / H5 button, live status)",
                 responses={code: {"model": ErrorOut} for code in (401, 403, 404, 422)})
    async def checkout_link(order_id: str, request: Request, body: CheckoutLinkIn | None = None) -> CheckoutLinkOut:
        state: ApiState = request.app.state.api
        services = state.services
        principal = await state.authenticator.authenticate_async(request)
        principal.require_merchant()
        (mchid,) = principal.mchids
        order = await services.reads.run(usecases.load_order, services.uow, order_id, mchid)
        options = body or CheckoutLinkIn()
        now = services.clock()
        default_s = max(order.expires_at, now) + _LINK_OUTLIVES_ORDER_S - now
        expires_at = int(now + min(options.expires_in_s or default_s, MAX_LINK_LIFETIME_S))
        url = services.settings.public_base_url + links.path(order.id, expires_at, options.lang)
        return CheckoutLinkOut(order_id=order.id, url=url, expires_at=iso(expires_at) or "")

    @router.get("/pay/{order_id}", response_class=HTMLResponse, include_in_schema=False)
    async def checkout_page(order_id: str, request: Request, sig: _SIG = "", lang: _LANG = None) -> HTMLResponse:
        state: ApiState = request.app.state.api
        services = state.services
        language = choose_language(lang, request.headers.get("accept-language"))
        if not links.check(order_id, sig, services.clock()):
            return _page("checkout_missing.html", language, status_code=404)
        try:
            details = await services.reads.run(usecases.order_details, services.uow, order_id)
        except NotFound:
            return _page("checkout_missing.html", language, status_code=404)
        view = await _payment_to_show(services, details, payer_ip(request))
        if view is None:  # starting failed; what was there before (or another request's attempt) is shown
            details = await services.reads.run(usecases.order_details, services.uow, order_id)
            view = payment_view(details.attempts)
        qr_path = state.qr_signer.path(order_id, view.seq) if view.kind == "qr" and view.seq is not None else None
        context = _context(services, details, view, order_id, sig, language)
        return _page("checkout.html", language, qr_src=qr_path, **context)

    @router.get("/pay/{order_id}/status", include_in_schema=False)
    async def checkout_status(order_id: str, request: Request, sig: _SIG = "") -> JSONResponse:
        services: Services = request.app.state.api.services
        if not links.check(order_id, sig, services.clock()):
            raise ApiError(404, "checkout_not_found", "no such checkout page")
        details = await services.reads.run(usecases.order_details, services.uow, order_id)
        return JSONResponse(status_body(details.order, details.attempts, services.clock()),
                            headers={"Cache-Control": "no-store"})

    return router


async def _payment_to_show(services: Services, details: usecases.OrderDetails, client_ip: str) -> PaymentView | None:
    """How the payer pays now; starts a Native attempt when there is nothing to show (None if that failed)."""
    if shown_status(details.order, services.clock()) != "pending":
        return PaymentView("elsewhere")
    view = payment_view(details.attempts)
    if view.kind != "start":
        return view
    try:
        start = await start_native(services, details.order, client_ip)
    except DomainError as error:
        # WeChat refused or was busy, the order was paid or started meanwhile, the merchant has no Native appid:
        # the page says so (or shows what is there now); the code names which for the operator.
        log.warning("checkout page could not start a native payment for order %s: %s", details.order.id, error.code)
        return None
    return PaymentView("qr", seq=start.attempt.seq) if start.code_url else None


def _context(
    services: Services, details: usecases.OrderDetails, view: PaymentView, order_id: str, sig: str, language: Language
) -> dict[str, Any]:
    order = details.order
    now = services.clock()
    status = shown_status(order, now)
    self_url = f"/pay/{order_id}?sig={quote(sig)}&lang={language}"
    other = "en" if language == "zh" else "zh"
    h5_href = None
    if view.h5_url:
        # WeChat sends the payer back to redirect_url after paying (or cancelling): here, to see the outcome.
        h5_href = f"{view.h5_url}&redirect_url={quote(services.settings.public_base_url + self_url, safe='')}"
    merchant = services.merchants.get(order.mchid)
    return {
        "status": status,
        "view": view,
        "merchant_name": (merchant.settings.display_name if merchant else None) or order.mchid,
        "amount_yuan": fen_to_yuan(order.amount_fen),
        "description": order.description,
        "merchant_order_no": order.merchant_order_no,
        "pay_before": texts(language)["pay_before"].format(time=beijing_time(order.expires_at)),
        "h5_href": h5_href,
        "self_url": self_url,
        "other_language": other,
        "other_language_url": f"/pay/{order_id}?sig={quote(sig)}&lang={other}",
        "config": {
            "status_url": f"/pay/{order_id}/status?sig={quote(sig)}",
            "payment": view.key,
            "expires_in_s": max(0, int(order.expires_at - now)),
        },
    }


def _page(template: str, language: Language, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render with a fresh CSP nonce and the headers every checkout page carries."""
    nonce = secrets.token_urlsafe(16)
    html = _TEMPLATES.get_template(template).render(t=texts(language), nonce=nonce, **context)
    csp = (f"default-src 'none'; img-src 'self'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return HTMLResponse(html, status_code=status_code, headers={
        "Cache-Control": "no-store", "Content-Security-Policy": csp, "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Vary": "Accept-Language",
        "X-Robots-Tag": "noindex",
    })  # fmt: skip
