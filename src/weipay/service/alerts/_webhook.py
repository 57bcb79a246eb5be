"""A generic signed webhook: the alert as an event object, signed like the service's merchant webhooks.

The body is ``{"id", "type": "alert", "created", "data"}``; ``X-Weipay-Signature: t=<unix>,v1=<hex>`` is
HMAC-SHA256 over ``"{t}.{body}"`` with the sink's secret, computed by the same ``sign_webhook`` as the
merchant webhooks (``weipay.service.webhooks``), so one verifier serves both. Any 2xx accepts.
"""

from __future__ import annotations

import json

import httpx

from weipay.service.webhooks import sign_webhook

from ._http import post_json
from ._message import AlertMessage

__all__ = ["WebhookSink"]


def _accepted(response: httpx.Response) -> str | None:
    return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


class WebhookSink:
    """Posts signed alert events to one URL."""

    def __init__(self, name: str, url: str, client: httpx.Client, secret: str) -> None:
        if not secret:
            raise ValueError(f"alert sink {name}: a webhook sink needs a secret")
        self.name = name
        self._url = url
        self._client = client
        self._secret = secret

    def __repr__(self) -> str:
        return f"WebhookSink(name={self.name!r})"

    def body(self, message: AlertMessage, now: float) -> bytes:
        """The event object."""
        event = {"id": message.id, "type": "alert", "created": int(now), "data": message.as_data()}
        return json.dumps(event, sort_keys=True, ensure_ascii=False, default=str).encode()

    def send(self, message: AlertMessage, now: float) -> None:
        """Post signed; raise ``AlertDeliveryFailed`` unless the receiver answers 2xx."""
        body = self.body(message, now)
        headers = {"x-weipay-signature": sign_webhook(self._secret, int(now), body)}
        post_json(self._client, self.name, self._url, body, _accepted, headers)
