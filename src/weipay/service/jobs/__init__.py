"""Jobs: the outbox worker (query attempts, expire orders, submit/query refunds, auto-refund, webhooks)."""

from __future__ import annotations

from .webhooks import WebhookSender, http_sender, sign_webhook, webhook_body
from .worker import DEFAULT_LEASE_S, HANDLERS, JOB_DEAD, poll_loop, run_due_jobs, run_forever

__all__ = [
    "DEFAULT_LEASE_S",
    "HANDLERS",
    "JOB_DEAD",
    "WebhookSender",
    "http_sender",
    "poll_loop",
    "run_due_jobs",
    "run_forever",
    "sign_webhook",
    "webhook_body",
]
