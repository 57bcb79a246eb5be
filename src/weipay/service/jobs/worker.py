"""The job worker: claim due outbox rows, run each through its use case, complete or retry it.

``run_due_jobs`` is one pass, usable in-process (tests, the demo); ``poll_loop`` is the one loop that repeats it
(``weipay worker``, the demo). A claim is a lease: if this process dies mid-job, the row becomes due again when
the lease runs out and another worker takes it. Every handler is idempotent (compare-and-set all
the way down), so running a job twice is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from weipay.service.alerts import AlertRouter
from weipay.service.db import Job, SqlUnitOfWork
from weipay.service.db.job_queue import DEAD
from weipay.service.domain import AttemptStatus
from weipay.service.gateway.fund_flow import FundFlowBills
from weipay.service.usecases import (
    Gateway,
    MerchantConfig,
    auto_refund_attempt,
    load_order,
    sync_attempt,
    sync_refund,
)
from weipay.service.usecases.alerting import ALERT
from weipay.service.usecases.credential_watch import CHECK_CREDENTIALS, check_credentials
from weipay.service.usecases.lifecycle import expire_or_retry
from weipay.service.usecases.outbox import AUTO_REFUND, DELIVER_WEBHOOK, EXPIRE_ORDER, QUERY_ATTEMPT, SYNC_REFUND
from weipay.service.usecases.payments import query_delay_s
from weipay.service.usecases.reconcile_schedule import RECONCILE_DAY, parse_time_of_day, run_scheduled_reconciliation
from weipay.service.usecases.settlement import add_anomaly
from weipay.service.usecases.shipping import (
    CHECK_SHIPPING_DEADLINE,
    SHIPPING_AFTER_PAYMENT,
    SYNC_SHIPPING,
    UPLOAD_SHIPPING,
    after_payment,
    check_shipping_deadline,
    sync_shipping,
    upload_shipping,
)
from weipay.service.usecases.webhook_delivery import MAX_ATTEMPTS as WEBHOOK_MAX_ATTEMPTS
from weipay.service.usecases.webhook_delivery import deliver_webhook
from weipay.service.webhooks import WebhookSender

from . import job_log

__all__ = ["DEFAULT_LEASE_S", "JOB_DEAD", "JobContext", "poll_loop", "run_due_jobs"]

logger = logging.getLogger("weipay.service.jobs")

DEFAULT_LEASE_S = 120.0
JOB_DEAD = "job_dead"  # the anomaly kind raised when a job used up its attempts
_RETRY_BASE_S = 5.0
_RETRY_CAP_S = 3600.0


class JobContext:
    """What handlers need besides the unit of work: gateway, clock, merchants, webhook sender, alert router."""

    def __init__(
        self,
        uow: SqlUnitOfWork,
        gateway: Gateway,
        clock: Callable[[], float],
        merchants: Mapping[str, MerchantConfig] | None = None,
        webhook_sender: WebhookSender | None = None,
        alerts: AlertRouter | None = None,
    ) -> None:
        self.uow = uow
        self.gateway = gateway
        self.clock = clock
        self.merchants = dict(merchants or {})
        self.webhook_sender = webhook_sender
        self.alerts = alerts


class _Later(Exception):
    """A handler asks to run again at ``due_at`` (not an error: e.g. the attempt is still unpaid)."""

    def __init__(self, due_at: float, reason: str) -> None:
        super().__init__(reason)
        self.due_at = due_at


def _query_attempt(ctx: JobContext, job: Job) -> None:
    attempt = sync_attempt(ctx.uow, ctx.gateway, ctx.clock, job.payload["attempt_id"])
    if attempt.is_open:
        now = ctx.clock()
        order = load_order(ctx.uow, attempt.order_id)
        if order.expires_at + 60 < now and attempt.status != AttemptStatus.UNKNOWN:
            return  # the expiry job owns it from here
        raise _Later(now + query_delay_s(attempt.created_at, now), f"attempt still {attempt.status.value}")


def _expire_order(ctx: JobContext, job: Job) -> None:
    retry_at = expire_or_retry(ctx.uow, ctx.gateway, ctx.clock, job.payload["order_id"])
    if retry_at is not None:
        raise _Later(retry_at, "close at WeChat unresolved")


def _sync_refund(ctx: JobContext, job: Job) -> None:
    sync_refund(ctx.uow, ctx.gateway, ctx.clock, job.payload["refund_id"])
    # sync_refund re-arms its own job (same dedupe key) when the refund is still processing.


def _auto_refund(ctx: JobContext, job: Job) -> None:
    auto_refund_attempt(ctx.uow, ctx.gateway, ctx.clock, job.payload["attempt_id"])


class _AttemptFailed(_Later):
    """A webhook attempt failed and is retried at ``due_at``: logged as a failure, counted by its delivery row."""

    def __init__(self, due_at: float, error: str, attempt: int) -> None:
        super().__init__(due_at, error)
        self.attempt = attempt


def _deliver_webhook(ctx: JobContext, job: Job) -> None:
    # The delivery row counts attempts and keeps the schedule: between attempts the job only waits.
    legacy = None if job.payload.get("stored_event") else job.payload  # queued before revision 0011
    step = deliver_webhook(ctx.uow, ctx.clock, ctx.merchants.get(str(job.payload["mchid"])), ctx.webhook_sender,
                           str(job.payload["key"]), legacy=legacy)  # fmt: skip
    if step.retry_at is None:
        return
    if step.failed_attempt is not None:
        raise _AttemptFailed(step.retry_at, step.error or "failed", step.failed_attempt)
    raise _Later(step.retry_at, "an earlier webhook of the order goes first, or the next attempt is not due")


def _deliver_alert(ctx: JobContext, job: Job) -> None:
    if ctx.alerts is None:
        from weipay.service.alerts import AlertRouter  # see the TYPE_CHECKING import above

        ctx.alerts = AlertRouter.log_only()  # nothing configured: alerts still reach the log
    ctx.alerts.deliver(ctx.uow, job.payload["alert_key"], float(job.payload["window_start"]), ctx.clock)


def _reconcile_day(ctx: JobContext, job: Job) -> None:
    merchant = ctx.merchants.get(job.payload["mchid"])
    if merchant is None:
        return  # the merchant left the configuration: its schedule ends here
    # The fund-flow bill needs the merchant's SDK client, which only the WeChat gateway holds.
    client_for = getattr(ctx.gateway, "client", None)
    fund_flow = FundFlowBills(client_for) if client_for is not None else None
    day = dt.date.fromisoformat(job.payload["day"])
    run = run_scheduled_reconciliation(ctx.uow, ctx.gateway, ctx.clock, merchant, day,
                                       parse_time_of_day(job.payload["at"]), fund_flow=fund_flow)  # fmt: skip
    if run.retry_at is not None:
        raise _Later(run.retry_at, "WeChat's bill is not ready yet")


def _check_credentials(ctx: JobContext, job: Job) -> None:
    if ctx.merchants.get(job.payload["mchid"]) is None:
        return  # the merchant left the configuration: its checks end here
    check_credentials(ctx.uow, ctx.gateway, ctx.clock, job.payload["mchid"])


def _upload_shipping(ctx: JobContext, job: Job) -> None:
    upload_shipping(ctx.uow, ctx.gateway, ctx.clock, job.payload["order_id"])
    # ShippingRetry (not filed yet, busy, no answer) propagates: the job is retried with back-off.


def _sync_shipping(ctx: JobContext, job: Job) -> None:
    sync_shipping(ctx.uow, ctx.gateway, ctx.clock, job.payload["order_id"])


def _shipping_after_payment(ctx: JobContext, job: Job) -> None:
    order = load_order(ctx.uow, job.payload["order_id"])
    merchant = ctx.merchants.get(order.mchid)
    if merchant is not None:
        after_payment(ctx.uow, ctx.clock, merchant, order.id)


def _check_shipping_deadline(ctx: JobContext, job: Job) -> None:
    order = load_order(ctx.uow, job.payload["order_id"])
    merchant = ctx.merchants.get(order.mchid)
    if merchant is not None:
        check_shipping_deadline(ctx.uow, ctx.clock, merchant, order.id)


HANDLERS: dict[str, Callable[[JobContext, Job], None]] = {
    QUERY_ATTEMPT: _query_attempt,
    EXPIRE_ORDER: _expire_order,
    SYNC_REFUND: _sync_refund,
    AUTO_REFUND: _auto_refund,
    DELIVER_WEBHOOK: _deliver_webhook,
    ALERT: _deliver_alert,
    RECONCILE_DAY: _reconcile_day,
    CHECK_CREDENTIALS: _check_credentials,
    UPLOAD_SHIPPING: _upload_shipping,
    SYNC_SHIPPING: _sync_shipping,
    SHIPPING_AFTER_PAYMENT: _shipping_after_payment,
    CHECK_SHIPPING_DEADLINE: _check_shipping_deadline,
}


def _backoff_s(attempts: int) -> float:
    return min(_RETRY_CAP_S, _RETRY_BASE_S * 2.0 ** max(0, attempts - 1))


def run_due_jobs(
    uow: SqlUnitOfWork,
    gateway: Gateway,
    clock: Callable[[], float],
    limit: int = 50,
    *,
    merchants: Mapping[str, MerchantConfig] | None = None,
    webhook_sender: WebhookSender | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    kinds: list[str] | None = None,
    alerts: AlertRouter | None = None,
) -> int:
    """Claim up to ``limit`` due jobs, run them, and return how many were run."""
    ctx = JobContext(uow, gateway, clock, merchants, webhook_sender, alerts)
    with uow.write() as tx:
        now = clock()
        for dead in tx.jobs.bury_abandoned(now):
            _alert_dead(tx, now, job_id=dead.id, kind=dead.kind, order_id=dead.order_id, attempts=dead.attempts,
                        error=dead.last_error or "")  # fmt: skip
        claimed = tx.jobs.claim(now, limit=limit, lease_s=lease_s, kinds=kinds)
    ran = 0
    for job in claimed:
        # The claim's lease may have run out while earlier jobs of this pass ran, and another worker may
        # hold the job now: the lease covers the job being run, so renew it first and skip it if lost.
        with uow.write() as tx:
            held = tx.jobs.renew(job, clock(), lease_s=lease_s)
        if held:
            _run_one(ctx, job)
            ran += 1
    return ran


def _run_one(ctx: JobContext, job: Job) -> None:
    handler = HANDLERS.get(job.kind)
    started = time.perf_counter()
    try:
        if handler is None:
            raise RuntimeError(f"no handler for job kind {job.kind!r}")
        handler(ctx, job)
    except _AttemptFailed as failed:
        # A webhook's attempts are counted on its delivery row (12 over 3 days): the job gives its claim back.
        _finish(ctx, job, due_at=failed.due_at, error=str(failed), counted=False)
        shown = replace(job, attempts=failed.attempt, max_attempts=WEBHOOK_MAX_ATTEMPTS)
        job_log.log_outcome(shown, job_log.FAILED, time.perf_counter() - started, now=ctx.clock(),
                            next_run_at=failed.due_at, reason=str(failed),
                            host=job_log.target_host(failed, _webhook_url(ctx, job)))  # fmt: skip
        return
    except _Later as later:
        # Polling is not failing: give the attempt back so a long-unpaid order never goes dead.
        _finish(ctx, job, due_at=later.due_at, error=str(later), counted=False)
        job_log.log_outcome(job, job_log.LATER, time.perf_counter() - started, now=ctx.clock(),
                            next_run_at=later.due_at, reason=str(later))  # fmt: skip
        return
    except Exception as error:  # a job must never kill the worker
        code = job_log.error_code(error)
        due_at = ctx.clock() + _backoff_s(job.attempts)
        ended = _finish(ctx, job, due_at=due_at, error=code, counted=True)
        job_log.log_outcome(
            job, job_log.DEAD if ended == DEAD else job_log.FAILED, time.perf_counter() - started, now=ctx.clock(),
            next_run_at=due_at, reason=code, host=job_log.target_host(error, _webhook_url(ctx, job)),
        )
        return
    with ctx.uow.write() as tx:
        tx.jobs.complete(job, ctx.clock())
    job_log.log_outcome(job, job_log.DONE, time.perf_counter() - started)


def _webhook_url(ctx: JobContext, job: Job) -> str | None:
    """The URL a ``deliver_webhook`` job posts to (its host names the failure), else None."""
    if job.kind != DELIVER_WEBHOOK:
        return None
    merchant = ctx.merchants.get(str(job.payload.get("mchid")))
    return merchant.webhook_url if merchant is not None else None


def _finish(ctx: JobContext, job: Job, *, due_at: float, error: str, counted: bool) -> str | None:
    """Put the job back for ``due_at`` (or bury it); the status it ended in."""
    with ctx.uow.write() as tx:
        now = ctx.clock()
        ended = tx.jobs.retry(job, now, due_at=due_at, error=error, counted=counted)
        if ended == DEAD:
            _alert_dead(tx, now, job_id=job.id, kind=job.kind, order_id=job.order_id, attempts=job.attempts,
                        error=error, logged=False)  # fmt: skip
    return ended


def _alert_dead(
    tx: Any, now: float, *, job_id: int, kind: str, order_id: str | None, attempts: int, error: str,
    logged: bool = True,
) -> None:
    """In the transaction that marks the job dead: a dead job is never silent (no payload: it may hold secrets).

    ``logged=False`` when the caller logs the death itself (with the run's duration and the failing host).
    """
    add_anomaly(tx, JOB_DEAD, now, order_id=order_id, job_id=job_id, job_kind=kind, attempts=attempts,
                last_error=error[:500])  # fmt: skip
    if logged:
        logger.error("job %s (%s) is dead after %s attempts: %s", job_id, kind, attempts, error,
                     extra={"job_id": job_id, "job_kind": kind, "order_id": order_id, "result": "dead",
                            "attempt": attempts, "error": error})  # fmt: skip


def poll_loop(
    run_pass: Callable[[], int],
    *,
    stop: threading.Event,
    poll_s: float,
    on_error: Callable[[Exception], None],
    heartbeat: Callable[[], None] | None = None,
) -> None:
    """Run passes until ``stop`` is set, sleeping ``poll_s`` when nothing ran (every worker loop is this one).

    ``heartbeat`` is called after every pass that did not fail (``weipay worker --heartbeat-file``): a worker
    whose passes keep failing (database down) stops beating, so its liveness check fails.
    """
    while not stop.is_set():
        try:
            ran = run_pass()
        except Exception as error:  # the database may be briefly unavailable; keep the worker alive
            on_error(error)
            ran = 0
        else:
            if heartbeat is not None:
                heartbeat()
        if ran == 0:
            stop.wait(poll_s)
