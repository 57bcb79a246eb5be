"""Merchant webhooks at the wire: the httpx sender, and the signing helpers re-exported for receivers and tests.

What is sent, when and in which order is the use cases' business (``usecases.webhook_delivery``); the event
objects are ``usecases.webhook_events``; the signature scheme is ``domain.webhook_signature``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from weipay.service.domain.webhook_signature import sign_webhook, verify_webhook
from weipay.service.usecases.webhook_delivery import WebhookReply, WebhookSender

__all__ = ["WebhookReply", "WebhookSender", "http_sender", "sign_webhook", "verify_webhook", "webhook_body"]

_READ_BYTES = 2048  # enough for the excerpt an operator sees; a receiver's huge error page is never read whole


def webhook_body(event: str, data: dict[str, Any]) -> bytes:
    """A JSON body in the shape of an event object (tests and the guide; real events are written by the use case)."""
    return json.dumps({"type": event, "data": data}, sort_keys=True, ensure_ascii=False).encode()


def http_sender(timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None) -> WebhookSender:
    """A sender posting with httpx (``transport`` lets tests fake the merchant at the wire); redirects are not
    followed (a 3xx is a failed attempt, as with Stripe)."""
    client = httpx.Client(timeout=timeout_s, transport=transport)

    def send(url: str, body: bytes, headers: dict[str, str]) -> WebhookReply:
        with client.stream("POST", url, content=body, headers=headers) as response:
            read = b""
            for chunk in response.iter_bytes():
                read += chunk
                if len(read) >= _READ_BYTES:
                    break
            return WebhookReply(response.status_code, read[:_READ_BYTES].decode("utf-8", "replace"))

    return send
