"""Receipt confirmed → trade completed, and the ``trade_manage_order_settlement`` message the platform pushes.

The message goes to the app's message URL (set with ``PUT /simulator/wxa``) in 明文模式: the body is JSON or
XML (the app's format) and the URL carries ``signature``, ``timestamp`` and ``nonce``, where ``signature`` is
the SHA-1 of the token, timestamp and nonce sorted and joined, as WeChat's message push does. It is delivered
through the notification queue (WeChat's retry schedule, the delivery log); a reply of HTTP 200 with an empty
body or ``success`` ends it. Pushed twice in an order's life: when shipping completes (with
``estimated_settlement_time``) and when the trade completes (with how and when receipt was confirmed and
``settlement_time``). Completing a trade moves its amount from the unsettled (frozen) balance to the available one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from weipay.sdk.shipping import SETTLEMENT_EVENT
from weipay.sdk.v2.xmlcodec import to_xml

from ..state import SimulatorState
from .orders import COMPLETED, SHIPPED, ManagedPayment, managed_payments
from .wire import WxaError

__all__ = [
    "AUTO_CONFIRM_S",
    "BY_BUYER",
    "BY_PLATFORM",
    "SETTLE_AFTER_S",
    "auto_confirm_due",
    "confirm_receipt",
    "push_settlement",
    "signature",
]

#: ``confirm_receive_method``: 1 confirmed automatically by the platform, 2 by the buyer (as documented).
BY_PLATFORM, BY_BUYER = 1, 2
#: Simulated seconds after shipping at which the platform confirms receipt by itself.
AUTO_CONFIRM_S = 10 * 86_400.0
#: What the first message estimates for settlement: at the latest, the automatic confirmation.
SETTLE_AFTER_S = AUTO_CONFIRM_S


def signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's message-push signature: SHA-1 of the three values sorted and joined."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()  # noqa: S324


def _message(sim: SimulatorState, payment: ManagedPayment) -> dict[str, Any]:
    order, record = payment.order, payment.record
    appid = order.appid
    message: dict[str, Any] = {
        "ToUserName": "gh_" + hashlib.sha256(appid.encode()).hexdigest()[:12], "FromUserName": order.payer_openid,
        "CreateTime": int(sim.now()), "MsgType": "event", "Event": SETTLEMENT_EVENT,
        "transaction_id": order.transaction_id, "merchant_id": order.mchid, "sub_merchant_id": "",
        "merchant_trade_no": order.out_trade_no, "pay_time": int(order.success_time or 0),
        "shipped_time": int(record.shipped_at or 0),
    }  # fmt: skip
    if record.settled_at is None:
        message["estimated_settlement_time"] = int((record.shipped_at or sim.now()) + SETTLE_AFTER_S)
    else:
        message["confirm_receive_method"] = record.confirm_method
        message["confirm_receive_time"] = int(record.confirmed_at or 0)
        message["settlement_time"] = int(record.settled_at)
    return message


def push_settlement(sim: SimulatorState, payment: ManagedPayment) -> int | None:
    """Queue the message about ``payment`` to the app's message URL; None when no URL is set."""
    app = sim.ledger.wxa_app(payment.order.appid)
    if not app.message_url:
        return None
    message = _message(sim, payment)
    if app.message_format == "xml":
        body, content_type = to_xml({k: str(v) for k, v in message.items() if v is not None}), "text/xml"
    else:
        body, content_type = json.dumps(message, ensure_ascii=False).encode(), "application/json"
    timestamp, nonce = str(int(sim.wall_now())), secrets.token_hex(8)
    query = urlencode({"signature": signature(app.message_token, timestamp, nonce), "timestamp": timestamp,
                       "nonce": nonce})  # fmt: skip
    url = app.message_url + ("&" if "?" in app.message_url else "?") + query
    now = sim.now()
    return sim.ledger.enqueue_notification(
        kind=SETTLEMENT_EVENT, api="wxa", url=url, headers={"content-type": content_type}, body=body,
        next_at=now + sim.faults.plan.notify_delay_s, now=now, subject=payment.order.out_trade_no,
    )  # fmt: skip


def confirm_receipt(sim: SimulatorState, payment: ManagedPayment, *, method: int) -> ManagedPayment:
    """已发货 → 确认收货 → 交易完成: settle the funds and push the message. 10060004 unless shipped."""
    if payment.state != SHIPPED:
        raise WxaError(10060004, "当前订单状态不支持确认收货")
    now = sim.now()
    completed = replace(payment.record, order_state=COMPLETED, confirm_method=method, confirmed_at=now,
                        settled_at=now)  # fmt: skip
    if not payment.save(sim, completed):
        raise WxaError(-1, "system error")
    sim.ledger.settle_balance(payment.order.mchid, payment.order.amount_fen)
    done = ManagedPayment(sim, payment.order)
    push_settlement(sim, done)
    return done


def auto_confirm_due(sim: SimulatorState) -> int:
    """Confirm receipt for the buyer of every payment shipped more than :data:`AUTO_CONFIRM_S` ago."""
    due = {(record.mchid, record.out_trade_no) for record in sim.ledger.shipped_before(sim.now() - AUTO_CONFIRM_S)}
    if not due:
        return 0
    confirmed = 0
    for payment in managed_payments(sim):
        if (payment.order.mchid, payment.order.out_trade_no) in due and payment.state == SHIPPED:
            try:
                confirm_receipt(sim, payment, method=BY_PLATFORM)
            except WxaError:
                continue  # moved meanwhile (the buyer confirmed, a refund): nothing to do
            confirmed += 1
    return confirmed
