"""Prometheus metrics with a registry per app (two apps in one process never share counters).

The middleware is plain ASGI and does two dictionary lookups and one histogram observation per
request, so it costs the notification hot path next to nothing. Labels are route templates, never
raw paths (which would carry order ids) and never anything secret.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Metrics", "MetricsMiddleware", "metrics_endpoint"]


@dataclass
class Metrics:
    """The app's collectors."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "weipay_http_requests", "HTTP requests by route and status", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "weipay_http_request_seconds", "HTTP latency by route", ["route"], registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.notifications = Counter(
            "weipay_notifications", "WeChat notifications by API version and outcome", ["api", "outcome"],
            registry=self.registry,
        )


class MetricsMiddleware:
    """Counts requests and observes latency per route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap ``send`` to catch the status code."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def capture(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status_code)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


def metrics_endpoint(metrics: Metrics):  # type: ignore[no-untyped-def]
    """A handler serving the registry in the Prometheus text format."""

    async def serve_metrics(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return serve_metrics
