"""Notifications: queue them in the order's API version, deliver them on WeChat's retry schedule.

The bodies come from :mod:`weipay.simulator.v2.notifications` and :mod:`weipay.simulator.v3.notifications`;
a v3 body is signed per attempt here (so the timestamp is fresh on every retry). Success is a 2xx (v3) or
XML ``return_code`` SUCCESS (v2) within 5 s. The schedule runs in simulated time, so ``--time-scale``
compresses it.
"""

from __future__ import annotations

import json

import httpx

from weipay.sdk.errors import ProtocolError
from weipay.sdk.v2.xmlcodec import from_xml

from .ledger import Notification, Order, Refund
from .state import SimulatorState
from .v2 import notifications as v2_notifications
from .v3 import notifications as v3_notifications
from .wechat_keys import notification_uses_public_key, signed_headers

__all__ = ["MERCHANT_TIMEOUT_S", "RETRY_SCHEDULE_S", "deliver_due", "enqueue_payment", "enqueue_refund"]

# WeChat's schedule after the first attempt: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (24 h 4 min).
RETRY_SCHEDULE_S = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
MERCHANT_TIMEOUT_S = 5.0
# A refund is notified once it has finished, whatever the outcome.
_NOTIFIED_REFUND_STATUSES = ("SUCCESS", "ABNORMAL", "CLOSED")


def _enqueue(sim: SimulatorState, *, kind: str, api: str, url: str, headers: dict[str, str], body: bytes,
             subject: str) -> int:
    now = sim.now()
    return sim.ledger.enqueue_notification(
        kind=kind, api=api, url=url, headers=headers, body=body, next_at=now + sim.faults.plan.notify_delay_s,
        now=now, subject=subject,
    )


def enqueue_payment(sim: SimulatorState, order: Order) -> int | None:
    """Queue the payment notification of a paid order."""
    if not order.notify_url:
        return None
    if order.api == "v3":
        headers, body = v3_notifications.payment_notification(sim, order)
    else:
        headers, body = v2_notifications.payment_notification(sim, order)
    return _enqueue(sim, kind="payment", api=order.api, url=order.notify_url, headers=headers, body=body,
                    subject=order.out_trade_no)


def enqueue_refund(sim: SimulatorState, refund: Refund) -> int | None:
    """Queue the refund notification (to the refund's notify_url, else the order's); None when there is none."""
    order = sim.ledger.order(refund.mchid, refund.out_trade_no)
    if order is None or refund.status not in _NOTIFIED_REFUND_STATUSES:
        return None
    # Without its own notify_url a refund is notified where its order was, if that speaks the same API version.
    url = refund.notify_url or (order.notify_url if order.api == refund.api else "")
    if not url:
        return None
    if refund.api == "v3":
        headers, body = v3_notifications.refund_notification(sim, refund, order)
    else:
        headers, body = v2_notifications.refund_notification(sim, refund, order)
    return _enqueue(sim, kind="refund", api=refund.api, url=url, headers=headers, body=body,
                    subject=refund.out_refund_no)


def _accepted(notification: Notification, response: httpx.Response) -> bool:
    if notification.api == "wxa":  # the mini-program message push: 200 with an empty body or "success"
        return response.status_code == 200 and response.text.strip() in ("", "success")
    if notification.api == "v3":
        return 200 <= response.status_code < 300
    if response.status_code != 200:
        return False
    try:
        return from_xml(response.content).get("return_code") == "SUCCESS"
    except ProtocolError:
        return False


def _post(sim: SimulatorState, client: httpx.Client, notification: Notification, *, probe: bool = False,
          public_key: bool = False) -> tuple[int | None, str, bool]:
    headers: dict[str, str] = json.loads(notification.headers)
    if notification.api == "v3":
        use_public_key = public_key or notification_uses_public_key(sim)
        headers.update(signed_headers(sim, notification.body, public_key=use_public_key, probe=probe))
        headers.pop("request-id", None)
    # WeChat sends canonical names (Wechatpay-Signature); some receivers read headers case-sensitively.
    headers = {name.title(): value for name, value in headers.items()}
    try:
        response = client.post(notification.url, content=notification.body, headers=headers)
    except httpx.TimeoutException:
        return None, f"no answer within {MERCHANT_TIMEOUT_S:g} s", False
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}", False
    return response.status_code, response.text[:500], _accepted(notification, response)


def _send(sim: SimulatorState, client: httpx.Client, notification: Notification) -> int:
    fate = sim.faults.notification_fate()
    now = sim.now()
    attempts = 0
    if fate.probe and notification.api == "v3":
        status, reply, accepted = _post(sim, client, notification, probe=True)
        note = "probe accepted: the merchant does not verify signatures!" if accepted else "probe rejected"
        sim.ledger.log_extra_delivery(notification.id, attempt=notification.attempt + 1, at=now, status=status,
                                      reply=f"[signtest {note}] {reply}")
        attempts += 1
    attempt = notification.attempt + 1
    retry_at = now + RETRY_SCHEDULE_S[attempt - 1] if attempt <= len(RETRY_SCHEDULE_S) else now
    give_up = attempt > len(RETRY_SCHEDULE_S)
    if fate.drop:
        sim.ledger.record_delivery(notification, at=now, status=None, reply="[dropped by the fault plan]",
                                   state="failed" if give_up else "pending", next_at=retry_at)
        return attempts + 1
    status, reply, accepted = _post(sim, client, notification, public_key=fate.public_key)
    state = "delivered" if accepted else ("failed" if give_up else "pending")
    sim.ledger.record_delivery(notification, at=now, status=status, reply=reply, state=state, next_at=retry_at)
    attempts += 1
    if accepted and fate.duplicate:
        status, reply, _ = _post(sim, client, notification, public_key=fate.public_key)
        sim.ledger.log_extra_delivery(notification.id, attempt=attempt, at=now, status=status,
                                      reply=f"[duplicate] {reply}")
        attempts += 1
    return attempts


def deliver_due(sim: SimulatorState) -> int:
    """Attempt every due notification once; returns the number of HTTP attempts (probes included)."""
    due = sim.ledger.due_notifications(sim.now())
    if not due:
        return 0
    sim.faults.shuffle(due)
    attempts = 0
    with httpx.Client(transport=sim.notify_transport, timeout=MERCHANT_TIMEOUT_S, trust_env=False) as client:
        for notification in due:
            attempts += _send(sim, client, notification)
    return attempts
