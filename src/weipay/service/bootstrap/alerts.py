"""Building the router from the settings (the composition root calls this once)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from weipay.service.alerts import (
    AlertRoute,
    AlertRouter,
    AlertSink,
    DingTalkSink,
    FeishuSink,
    LogSink,
    WebhookSink,
    WeComSink,
)
from weipay.service.settings import AlertSink as AlertSinkSettings
from weipay.service.usecases.alerting import Severity

__all__ = ["router_from_settings"]


def router_from_settings(
    configured: Sequence[AlertSinkSettings], *, transport: httpx.BaseTransport | None = None
) -> AlertRouter:
    """One route per configured sink (the log alone when none is); ``transport`` lets tests fake the robots."""
    if not configured:
        return AlertRouter.log_only()
    return AlertRouter([_route(entry, transport) for entry in configured])


def _route(entry: AlertSinkSettings, transport: httpx.BaseTransport | None) -> AlertRoute:
    return AlertRoute(_sink(entry, transport), Severity(entry.min_severity), frozenset(entry.merchants))


def _sink(entry: AlertSinkSettings, transport: httpx.BaseTransport | None) -> AlertSink:
    name = entry.sink_name
    if entry.kind == "log":
        return LogSink(name)
    url = entry.url.get_secret_value() if entry.url else ""
    secret = entry.secret.get_secret_value() if entry.secret else None
    # Robots are slow at worst: a short timeout keeps a stuck one from holding a worker (the job retries).
    client = httpx.Client(timeout=entry.timeout_s, transport=transport)
    if entry.kind == "wecom":
        return WeComSink(name, url, client, entry.msgtype)
    if entry.kind == "dingtalk":
        return DingTalkSink(name, url, client, secret, entry.msgtype)
    if entry.kind == "feishu":
        return FeishuSink(name, url, client, secret)
    return WebhookSink(name, url, client, secret or "")
