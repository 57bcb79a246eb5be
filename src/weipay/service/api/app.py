"""``create_app(settings)``: the FastAPI application, built from a settings value and nothing global."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from ..admin import build_console_router
from ..bootstrap import Services, build_services
from ..domain import DomainError
from ..settings import Settings
from .body_limit import BodyLimit
from .checkout_page import build_checkout_router
from .errors import install_error_handlers
from .list_routes import build_list_router
from .metrics import MetricsMiddleware, metrics_endpoint
from .notification_intake import NotificationIntake
from .notification_lane import NotificationLane
from .notification_openapi import document_notifications
from .reconcile_routes import build_reconcile_router
from .request_id import RequestId
from .routes import build_router
from .shipping_routes import build_shipping_router
from .state import ApiState
from .webhook_routes import build_webhook_router

__all__ = ["create_app"]

_DESCRIPTION = """\
The merchant's payment service between its mini-program / app / web frontends and WeChat Pay.

* Amounts are **integer fen** (1 yuan = 100 fen); floats are refused.
* Merchant backends authenticate with `Authorization: Bearer <api key>`; mini-program users with the
  token from `POST /v1/login` and may act only on their own orders.
* Every error is `{"error": {"code", "message"}}` with a 4xx status (502 when WeChat refused or was unreachable).
"""


def create_app(
    settings: Settings,
    *,
    wechat_transport: httpx.BaseTransport | None = None,
    secure_transport: httpx.BaseTransport | None = None,
    login_transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] | None = None,
    services: Services | None = None,
) -> FastAPI:
    """The service as an ASGI app. Transports and clock are the test seams (the simulator plugs in there).

    ``services`` lets a caller (the demo, a worker in the same process) share one set of collaborators;
    otherwise ``bootstrap`` builds them from ``settings``. Nothing runs at import time and nothing is global,
    so two apps never interfere. ``app.state.api.close()`` stops the app's helpers and closes the collaborators.
    """
    if services is None:
        services = build_services(
            settings,
            wechat_transport=wechat_transport,
            secure_transport=secure_transport,
            login_transport=login_transport,
            clock=clock,
        )
    secret = _signing_secret(settings)
    state = ApiState(services, secret)
    # /docs and /redoc load Swagger UI and ReDoc from the package's own copies (under /static-offline-docs), not
    # from a CDN: servers in mainland China or on closed networks often cannot reach one.
    app = FastAPIOffline(
        lifespan=_lifespan(services),
        title="weipay payment service",
        version="1.0",
        description=_DESCRIPTION,
        openapi_tags=[
            {"name": "orders", "description": "business orders"},
            {"name": "payments", "description": "payment attempts and what clients need to pay"},
            {"name": "refunds", "description": "refunds, with optional operator approval"},
            {"name": "users", "description": "mini-program login"},
            {"name": "notifications", "description": "WeChat Pay's callbacks (signed by WeChat, not by you)"},
            {"name": "reconciliation", "description": "the daily comparison of WeChat's bills with the ledger"},
            {"name": "operations", "description": "health and metrics"},
        ],
    )
    app.state.api = state
    app.state.services = services
    app.state.settings = settings
    install_error_handlers(app, (DomainError,))
    app.include_router(build_router())
    app.include_router(build_reconcile_router())
    app.include_router(build_list_router())
    app.include_router(build_webhook_router())
    app.include_router(build_shipping_router())
    app.include_router(build_checkout_router(secret))
    _add_operations(app, state)
    app.include_router(build_console_router(services, secret), include_in_schema=False)
    # Behind the notification lane (which caps its own bodies and answers in WeChat's format), in front of the rest.
    app.add_middleware(BodyLimit, limit_bytes=settings.max_body_bytes)
    _install_notifications(app, state)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    app.add_middleware(RequestId)  # added last, so outermost: the lane's answers and the metrics' lines carry it
    return app


def _install_notifications(app: FastAPI, state: ApiState) -> None:
    """The notification lane in front of the routing (it has no route), its intake, and its OpenAPI description."""
    services = state.services
    intake = NotificationIntake(services.gateway, services.merchant_configs, services.uow, services.clock)
    state.on_close.append(intake.close)
    app.add_middleware(NotificationLane, intake=intake, counter=state.metrics.notifications)
    document_notifications(app)


def _lifespan(services: Services) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """On shutdown, close the async WeChat clients the serving event loop opened (the rest closes with ``state``)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await services.wechat.aclose()

    return lifespan


def _signing_secret(settings: Settings) -> bytes:
    """What signs console cookies and QR image URLs: the configured one, else one per process (cookies and
    QR links then last as long as the process)."""
    secret = settings.admin.session_secret
    return secret.get_secret_value().encode() if secret else secrets.token_bytes(32)


def _add_operations(app: FastAPI, state: ApiState) -> None:
    app.add_api_route(
        "/metrics", metrics_endpoint(state.metrics), methods=["GET"], tags=["operations"],
        summary="Prometheus metrics",
        response_class=JSONResponse,
        responses={200: {"content": {"text/plain": {"example": "weipay_http_requests_total{...} 3.0"}},
                         "description": "Prometheus text format"}},
    )

    async def healthz() -> dict[str, Any]:
        return await state.services.reads.run(state.services.health)

    app.add_api_route(
        "/healthz", healthz, methods=["GET"], tags=["operations"], summary="Liveness and database check",
        responses={200: {"content": {"application/json": {"example": {"status": "ok", "database": "sqlite",
                                                                       "merchants": ["1230000109"]}}},
                         "description": "the service is up and its database answers"}},
    )
