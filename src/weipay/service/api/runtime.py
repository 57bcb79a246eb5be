"""The composition root of the service: settings -> database, SDK clients, gateway, use cases.

One :class:`Runtime` per app (or per worker process). It owns the unit of work, one SDK client per
merchant, the gateway, the clock and the metrics; the HTTP layer, the console and the CLI call its
methods, each of which runs exactly one use case. Nothing here is global.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import sqlalchemy as sa

from .. import usecases
from ..db import SqlUnitOfWork
from ..db.job_queue import JobRow
from ..domain import Channel, Order, PaymentAttempt, Refund
from ..settings import Settings
from .auth import Authenticator, Principal
from .errors import ApiError
from .inbox import NotificationInbox
from .metrics import Metrics
from .presenters import order_out
from .qr import QrSigner
from .schemas import AbnormalRefundIn, CreateOrderIn, CreateRefundIn, OrderOut, PaymentOut, ResolveRefundIn
from .wiring import MerchantRuntime, SerializedWrites, merchant_runtime, route_login

__all__ = ["Runtime"]

log = logging.getLogger("weipay.service")


class Runtime:
    """Everything the HTTP layer, the console and the worker need, built once from settings."""

    def __init__(
        self,
        settings: Settings,
        uow: SqlUnitOfWork,
        merchants: Mapping[str, MerchantRuntime],
        gateway: Any,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.uow = uow
        self.merchants = dict(merchants)
        self.gateway = gateway
        self.clock = clock
        self.metrics = Metrics()
        self._webhook_sender: Any = None
        self.on_close: list[Callable[[], None]] = []
        secret = settings.admin.session_secret
        self.secret = secret.get_secret_value().encode() if secret else secrets.token_bytes(32)
        self.qr_signer = QrSigner(self.secret)
        self.authenticator = Authenticator(settings, self._lookup_stored_secret)
        self.inbox = NotificationInbox(
            frozenset(self.merchants), self._verify_v3, self.accept_notification,
            self._record_unverifiable,
        )

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        wechat_transport: httpx.BaseTransport | None = None,
        secure_transport: httpx.BaseTransport | None = None,
        login_transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
    ) -> Runtime:
        """Open the database and one SDK client per merchant (no network call happens here)."""
        from ..gateway import WeChatGateway

        clock = clock or time.time
        merchants = {
            m.mchid: merchant_runtime(
                m, settings, wechat_transport=route_login(wechat_transport, login_transport, m),
                secure_transport=secure_transport, clock=clock,
            )
            for m in settings.merchants
        }
        gateway = WeChatGateway(
            {mchid: m.client for mchid, m in merchants.items()}, notify_base_url=settings.public_base_url, clock=clock
        )
        uow = SerializedWrites.from_url(settings.database_url)
        return cls(settings, uow, merchants, gateway, clock)

    def close(self) -> None:
        """Stop helpers (the notification writer), then close HTTP pools and database connections."""
        for hook in self.on_close:
            hook()
        for merchant in self.merchants.values():
            merchant.client.close()
        self.uow.dispose()

    # -- auth -------------------------------------------------------------------------------------------
    def _lookup_stored_secret(self, secret_hash: str) -> Principal | None:
        with self.uow.read() as tx:
            mchid = tx.api_keys.mchid_for(secret_hash)
            if mchid is not None:
                return Principal("merchant", frozenset({mchid}))
            session = tx.sessions.get(secret_hash, self.clock())
        if session is None:
            return None
        return Principal("user", frozenset({session.mchid}), openid=session.openid, appid=session.appid)

    def merchant(self, mchid: str) -> MerchantRuntime:
        """A configured merchant, or 404."""
        merchant = self.merchants.get(mchid)
        if merchant is None:
            raise ApiError(404, "merchant_not_found", "no such merchant")
        return merchant

    def merchant_for_appid(self, appid: str) -> MerchantRuntime:
        """The (first) merchant collecting for ``appid``, or 422."""
        for merchant in self.merchants.values():
            if appid in merchant.credentials.appids.values():
                return merchant
        raise ApiError(422, "unknown_appid", "no configured merchant uses this appid")

    # -- reads ------------------------------------------------------------------------------------------
    def order_for(self, principal: Principal, order_id: str) -> Order:
        """The order if the caller may act on it (404 / 403 otherwise)."""
        with self.uow.read() as tx:
            order = tx.orders.get(order_id)
        if order is None:
            raise ApiError(404, "order_not_found", "no such order")
        principal.require_access(order.mchid, order.payer_openid)
        return order

    def refund_for(self, principal: Principal, refund_id: str) -> Refund:
        """The refund if the caller's merchant owns it."""
        with self.uow.read() as tx:
            refund = tx.refunds.get(refund_id)
        if refund is None or refund.mchid not in principal.mchids:
            raise ApiError(404, "refund_not_found", "no such refund")
        return refund

    def order_view(self, order_id: str) -> OrderOut:
        """Order with attempts and refunds, as stored."""
        with self.uow.read() as tx:
            order = tx.orders.get(order_id)
            if order is None:
                raise ApiError(404, "order_not_found", "no such order")
            return order_out(order, tx.attempts.for_order(order_id), tx.refunds.for_order(order_id))

    def events(self, order_id: str) -> list[dict[str, Any]]:
        """Call log and stored notifications of an order, oldest first."""
        with self.uow.read() as tx:
            calls = [_call_row(c) for c in tx.calls.for_order(order_id)]
            attempts = tx.attempts.for_order(order_id)
            out_trade_nos = [a.out_trade_no for a in attempts]
            mchid = attempts[0].mchid if attempts else ""
            inbound = [_notification_row(n) for n in tx.notifications.for_out_trade_nos(mchid, out_trade_nos)]
        return sorted(calls + inbound, key=lambda row: row["created_at"] or 0.0)

    def code_url(self, order_id: str, seq: int) -> str:
        """The native ``code_url`` of one attempt, or 404."""
        with self.uow.read() as tx:
            for attempt in tx.attempts.for_order(order_id):
                if attempt.seq == seq and attempt.code_url:
                    return attempt.code_url
        raise ApiError(404, "qr_not_found", "no such QR image")

    def health(self) -> dict[str, Any]:
        """``status: ok`` when the database answers."""
        with self.uow.read() as tx:
            tx.connection.execute(sa.text("SELECT 1"))
        return {"status": "ok", "database": self.uow.dialect, "merchants": sorted(self.merchants)}

    # -- use cases --------------------------------------------------------------------------------------
    def login(self, appid: str, code: str) -> tuple[str, str]:
        """Mini-program login: ``(openid, token)``; the session_key stays in the database."""
        merchant = self.merchant_for_appid(appid)
        result = usecases.login(self.uow, self.gateway, self.clock, merchant.config, appid, code)
        return result.openid, result.token

    def create_order(self, mchid: str, body: CreateOrderIn, idempotency_key: str | None) -> tuple[Order, bool]:
        """Create (or return the same) order; ``True`` when this call created it."""
        command = usecases.CreateOrder(
            merchant_order_no=body.merchant_order_no,
            amount_fen=body.amount,
            description=body.description,
            currency=body.currency,
            attach=body.attach,
            expire_after_s=body.expire_in_s,
            payer_openid=body.payer_openid,
        )
        return usecases.create_order_idempotently(
            self.uow, self.merchant(mchid).config, command, idempotency_key, clock=self.clock
        )

    def start_payment(
        self, order: Order, channel: str, api: str | None, payer_openid: str | None, client_ip: str
    ) -> PaymentOut:
        """Start an attempt and return what the client needs."""
        merchant = self.merchant(order.mchid)
        start = usecases.start_payment(
            self.uow, self.gateway, self.clock, merchant.config, order.id, channel, api, payer_openid, client_ip
        )
        attempt: PaymentAttempt = start.attempt
        params = dict(start.client_params)
        out = PaymentOut(
            order_id=order.id, seq=attempt.seq, out_trade_no=attempt.out_trade_no, channel=str(attempt.channel),
            api=str(attempt.api), status=str(attempt.status),
        )
        if attempt.channel in (Channel.JSAPI, Channel.MINIPROGRAM):
            out.request_payment = params
        elif attempt.channel == Channel.APP:
            out.app_payment = params
        elif attempt.channel == Channel.NATIVE:
            out.code_url = start.code_url or params.get("code_url")
            out.qr_url = self.settings.public_base_url + self.qr_signer.path(order.id, attempt.seq)
        else:
            out.h5_url = start.h5_url or params.get("h5_url")
        return out

    def get_order(self, order: Order) -> OrderOut:
        """Sync an overdue attempt with WeChat, then the order as stored."""
        usecases.get_order(self.uow, self.gateway, self.clock, order.id, order.mchid,
                           sync_after_s=float(self.settings.notify_expected_after_s))
        return self.order_view(order.id)

    def close_order(self, order: Order) -> OrderOut:
        """Close at WeChat, then locally."""
        usecases.close_order(self.uow, self.gateway, self.clock, order.id, order.mchid)
        return self.order_view(order.id)

    def request_refund(self, order: Order, body: CreateRefundIn) -> tuple[Refund, bool]:
        """Request a refund (submitted at once unless the merchant requires approval)."""
        return usecases.request_refund_idempotently(
            self.uow, self.gateway, self.clock, self.merchant(order.mchid).config, order.id, body.amount,
            body.reason, body.merchant_refund_no,
        )

    def get_refund(self, principal: Principal, refund_id: str) -> Refund:
        """The refund as stored (the worker and notifications keep it current)."""
        refund = self.refund_for(principal, refund_id)
        return usecases.get_refund(self.uow, refund.id, refund.mchid)

    def approve_refund(self, refund: Refund, *, operator: str) -> Refund:
        """Approve and submit a requested refund."""
        log.info("refund %s approved by %s", refund.id, operator)
        return usecases.approve_refund(self.uow, self.gateway, self.clock, refund.id, refund.mchid)

    def reject_refund(self, refund: Refund, *, operator: str, reason: str | None) -> Refund:
        """Reject a requested refund."""
        log.info("refund %s rejected by %s: %s", refund.id, operator, reason or "-")
        return usecases.reject_refund(self.uow, self.clock, refund.id, refund.mchid, reason=reason)

    def apply_abnormal_refund(self, refund: Refund, body: AbnormalRefundIn, *, operator: str) -> Refund:
        """Send an abnormal (v3) refund again to a bank card or the merchant's account (the card details are
        passed to WeChat encrypted and never stored or logged)."""
        log.info("abnormal refund %s redirected (%s) by %s", refund.id, body.type, operator)
        return usecases.apply_abnormal_refund(
            self.uow, self.gateway, self.clock, refund.id, refund.mchid, type=body.type, bank_type=body.bank_type,
            bank_account=body.bank_account, real_name=body.real_name,
        )  # fmt: skip

    def resolve_abnormal_refund(self, refund: Refund, body: ResolveRefundIn, *, operator: str) -> Refund:
        """Record how an abnormal v2 refund was settled outside WeChat."""
        log.info("abnormal refund %s resolved as %s by %s", refund.id, body.outcome, operator)
        return usecases.resolve_abnormal_refund(
            self.uow, self.clock, refund.id, refund.mchid, outcome=body.outcome, note=body.note, operator=operator
        )

    def job_scope(self, request: Any) -> frozenset[str] | None:
        """Whose jobs the caller may see: None (all) for an admin key, else the merchant key's mchids."""
        from ..admin.session import check_credentials
        from .auth import bearer_token

        token = bearer_token(request)
        if token and check_credentials(self.settings.admin, api_key=token) is not None:
            return None
        principal = self.authenticator.authenticate(request)
        principal.require_merchant()
        return principal.mchids

    def jobs(self, scope: frozenset[str] | None, *, status: str | None, kind: str | None) -> list[JobRow]:
        """Jobs in the caller's scope (a merchant sees only its orders' jobs), oldest first."""
        with self.uow.read() as tx:
            return tx.jobs.list(status=status, kind=kind, mchids=scope, limit=500)

    def retry_job(self, scope: frozenset[str] | None, job_id: int, *, operator: str) -> JobRow:
        """An operator's retry: a dead job becomes pending now with all its attempts back."""
        with self.uow.write() as tx:
            found = tx.jobs.list(job_id=job_id, mchids=scope)
            if not found:
                raise ApiError(404, "job_not_found", "no such job")
            if not tx.jobs.revive(job_id, self.clock()):
                raise ApiError(409, "job_not_dead", f"only a dead job can be retried (it is {found[0].status})")
            (job,) = tx.jobs.list(job_id=job_id)
        log.info("dead job %s (%s) retried by %s", job.id, job.kind, operator)
        return job

    def run_due_jobs(self, limit: int = 50) -> int:
        """Run the jobs due now (queries, expiries, refunds, webhooks); the number run."""
        from ..jobs import http_sender, run_due_jobs

        if self._webhook_sender is None:
            self._webhook_sender = http_sender()
        configs = {mchid: merchant.config for mchid, merchant in self.merchants.items()}
        return run_due_jobs(self.uow, self.gateway, self.clock, limit, merchants=configs,
                            webhook_sender=self._webhook_sender)

    def reconcile_day(self, mchid: str, day: dt.date) -> Any:
        """Reconcile one merchant's bill of ``day`` (needs ``usecases.reconcile_day`` from the core layer)."""
        reconcile = getattr(usecases, "reconcile_day", None)
        if reconcile is None:
            raise ApiError(501, "reconcile_unavailable", "reconciliation is not available in this build")
        return reconcile(self.uow, self.gateway, self.clock, self.merchant(mchid).config, day)

    # -- notifications ------------------------------------------------------------------------------------
    def _verify_v3(self, mchid: str, headers: Mapping[str, str], body: bytes) -> Any:
        from ..gateway import verify_v3

        return verify_v3(self.gateway, mchid, headers, body)

    def verify_v2(self, mchid: str, body: bytes) -> Any:
        """The use cases' notice for a v2 delivery, or the SDK's error; only the API key is needed (no I/O)."""
        from ..gateway import verify_v2_payment, verify_v2_refund

        # Refund notifications carry an encrypted req_info and no sign; payment ones the reverse.
        if b"<req_info>" in body:
            return verify_v2_refund(self.gateway, mchid, body)
        return verify_v2_payment(self.gateway, mchid, body)

    def accept_notification(self, mchid: str, notice: Any, uow: Any = None) -> str:
        """Apply a verified notice in a transaction of its own (or in ``uow``)."""
        return self.accept_notifications([(mchid, notice)], uow)[0]

    def accept_notifications(self, deliveries: Sequence[tuple[str, Any]], uow: Any = None) -> list[str]:
        """Apply verified (mchid, notice) pairs in ``uow`` (e.g. a group-commit batch); an outcome each.

        Payment notifications go to the use case together, so that a burst costs a few statements per
        batch; refund notifications (rare) one by one.
        """
        uow = uow if uow is not None else self.uow
        outcomes: list[str] = [""] * len(deliveries)
        payments = [index for index, (_, notice) in enumerate(deliveries) if isinstance(notice, usecases.PaymentNotice)]
        if payments:
            applied = usecases.accept_payment_notifications(
                uow, [(self.merchants[deliveries[i][0]].config, deliveries[i][1]) for i in payments], self.clock
            )
            for index, result in zip(payments, applied, strict=True):
                outcomes[index] = result.value
        for index, (mchid, notice) in enumerate(deliveries):
            if not isinstance(notice, usecases.PaymentNotice):
                config = self.merchants[mchid].config
                outcomes[index] = usecases.accept_refund_notification(uow, config, notice, self.clock).value
        return outcomes

    def _record_unverifiable(self, mchid: str, api: str, reason: str, body: bytes) -> None:
        usecases.record_anomaly(
            self.uow, self.clock, f"unverifiable_{api}_notification",
            mchid=mchid if mchid in self.merchants else None,
            reason=reason, size_bytes=len(body), sha256=hashlib.sha256(body).hexdigest()[:16],
        )


def _call_row(call: Any) -> dict[str, Any]:
    return {
        "created_at": call.created_at,
        "direction": call.direction,
        "endpoint": call.endpoint,
        "http_status": call.http_status,
        "wechat_code": call.wechat_code,
        "latency_ms": call.latency_ms,
        "request_id": call.request_id,
        "request_body": call.request_body,
        "response_body": call.response_body,
    }


def _notification_row(notification: Any) -> dict[str, Any]:
    return {
        "created_at": notification.received_at,
        "direction": "inbound",
        "endpoint": f"POST /notify/wechatpay/{notification.api}/{notification.mchid}",
        "http_status": None,
        "wechat_code": notification.kind,
        "latency_ms": None,
        "request_id": notification.event_id,
        "body": f"[{notification.outcome}] {notification.body}",
    }
