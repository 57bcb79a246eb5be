"""One log line per job run, saying what became of it: done, later (still waiting), failed (and when it runs
again, and which host failed), or dead.

Each line is a readable sentence and carries the same facts as fields (``extra``), which the JSON formatter of
:mod:`weipay.service.logs` turns into keys (``job_id``, ``job_kind``, ``order_id``, ``result``, ``duration_ms``,
``next_run_at``, ``retry_in_s``, ``attempt``, ``max_attempts``, ``error``, ``target_host``) for log search.
Never a payload, a URL's path or query, or an error's full text from a remote party: those may hold secrets.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from weipay.service.db import Job

__all__ = ["DEAD", "DONE", "FAILED", "LATER", "error_code", "log_outcome", "target_host"]

logger = logging.getLogger("weipay.service.jobs")

DONE, LATER, FAILED, DEAD = "done", "later", "failed", "dead"
_LEVELS = {DONE: logging.INFO, LATER: logging.INFO, FAILED: logging.WARNING, DEAD: logging.ERROR}


def error_code(error: BaseException) -> str:
    """What the job row keeps as its error: a domain or WeChat code, else the exception's type."""
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else type(error).__name__


def target_host(error: BaseException, webhook_url: str | None = None) -> str | None:
    """``host:port`` of the remote party that failed: from an HTTP error in the chain, else the webhook's URL."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, httpx.RequestError):
            try:
                url = current.request.url
            except RuntimeError:  # an error raised without a request
                url = None
            if url is not None:
                return f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
        current = current.__cause__ or current.__context__
    if webhook_url:
        parts = urlsplit(webhook_url)
        if parts.hostname:
            return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    return None


def log_outcome(
    job: Job,
    result: str,
    duration_s: float,
    *,
    now: float | None = None,
    next_run_at: float | None = None,
    reason: str | None = None,
    host: str | None = None,
) -> None:
    """Log one job run: ``result`` is ``done``, ``later``, ``failed`` or ``dead``; times are epoch seconds."""
    fields: dict[str, Any] = {
        "job_id": job.id, "job_kind": job.kind, "order_id": job.order_id, "result": result,
        "duration_ms": round(duration_s * 1000, 1),
    }  # fmt: skip
    text = f"job {job.id} ({job.kind}"
    text += f", order {job.order_id})" if job.order_id else ")"
    if result == DONE:
        text += f" done in {fields['duration_ms']:g} ms"
    elif result == LATER:
        text += f" not finished: {reason}"
    else:
        fields.update(error=reason, attempt=job.attempts, max_attempts=job.max_attempts, target_host=host)
        text += f" failed ({reason})" + (f" at {host}" if host else "")
        text += f", attempt {job.attempts} of {job.max_attempts}"
        if result == DEAD:
            text += ": no attempts left, the job is dead (an anomaly records it)"
    if next_run_at is not None and result != DEAD:
        when = dt.datetime.fromtimestamp(next_run_at, dt.UTC).isoformat(timespec="seconds")
        fields["next_run_at"] = when
        if now is not None:
            fields["retry_in_s"] = round(max(0.0, next_run_at - now), 1)
            text += f"; runs again in {fields['retry_in_s']:g} s ({when})"
        else:
            text += f"; runs again at {when}"
    logger.log(_LEVELS[result], text, extra=_without_none(fields))


def _without_none(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
