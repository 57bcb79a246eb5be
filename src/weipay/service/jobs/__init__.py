"""Jobs: the outbox worker (query attempts, expire orders, submit/query refunds, auto-refund, webhooks)."""

from __future__ import annotations

from weipay.service.webhooks import WebhookSender, http_sender, sign_webhook, webhook_body

from .operator import list_jobs, retry_dead_job
from .worker import DEFAULT_LEASE_S, HANDLERS, JOB_DEAD, poll_loop, run_due_jobs

__all__ = [
    "DEFAULT_LEASE_S",
    "HANDLERS",
    "JOB_DEAD",
    "WebhookSender",
    "http_sender",
    "list_jobs",
    "poll_loop",
    "retry_dead_job",
    "run_due_jobs",
    "sign_webhook",
    "webhook_body",
]
