"""Merchant webhooks: tell the merchant's business system that an order was paid or a refund ended.

The body is JSON; ``X-Weipay-Signature: t=<unix>,v1=<hex>`` is HMAC-SHA256 over ``"{t}.{body}"``
with the merchant's webhook secret (Stripe's scheme), so the receiver can check origin and freshness.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx

__all__ = ["WebhookSender", "http_sender", "sign_webhook", "webhook_body"]

# (url, body, headers) -> HTTP status; raises on transport failure.
WebhookSender = Callable[[str, bytes, dict[str, str]], int]


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Weipay-Signature`` header value."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_body(event: str, data: dict[str, Any]) -> bytes:
    """The JSON body of one webhook."""
    return json.dumps({"event": event, "data": data}, sort_keys=True, ensure_ascii=False).encode()


def http_sender(timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None) -> WebhookSender:
    """A sender posting with httpx (``transport`` lets tests fake the merchant at the wire)."""
    client = httpx.Client(timeout=timeout_s, transport=transport)

    def send(url: str, body: bytes, headers: dict[str, str]) -> int:
        return client.post(url, content=body, headers=headers).status_code

    return send
