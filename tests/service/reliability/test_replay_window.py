"""T05 at the service: a v3 notification re-signed with its timestamp ±299 s from our clock is accepted (and applied
once); ±301 s is refused with 401, stored as an anomaly, and changes nothing."""

from __future__ import annotations

import secrets

import httpx

from weipay.sdk.crypto import rsa_sign
from weipay.sdk.v3.signing import SCHEME, response_message
from weipay.simulator.wechat_keys import notification_uses_public_key

from ..web_harness import Harness


def _send_at(harness: Harness, request: httpx.Request, offset_s: int) -> httpx.Response:
    """The captured body, signed by WeChat's key with a timestamp ``offset_s`` from the service's clock."""
    account = harness.sim.account
    if notification_uses_public_key(harness.sim):
        key, serial = account["wechatpay_private_key"], account["wechatpay_public_key_id"]
    else:
        key, serial = account["platform_private_key"], account["platform_serial_no"]
    timestamp, nonce = str(int(harness.clock()) + offset_s), secrets.token_hex(16)
    headers = {
        "content-type": "application/json",
        "wechatpay-timestamp": timestamp,
        "wechatpay-nonce": nonce,
        "wechatpay-serial": serial,
        "wechatpay-signature-type": SCHEME,
        "wechatpay-signature": rsa_sign(key, response_message(timestamp, nonce, request.content)),
    }
    return harness.api.post(request.url.path, content=request.content, headers=headers)


def _state(harness: Harness, order_id: str) -> tuple[str, int, int, int]:
    with harness.app.state.services.uow.read() as tx:
        order = tx.orders.get(order_id)
        webhooks = [j for j in tx.jobs.list(order_id=order_id) if j.kind == "deliver_webhook"]
        anomalies = sum(a.occurrences for a in tx.anomalies.list(limit=1000) if "unverifiable" in a.kind)
    assert order is not None
    return str(order.status), order.paid_fen, len(webhooks), anomalies


def test_timestamp_window_edges_are_exactly_300_seconds(harness: Harness) -> None:
    order, request = harness.captured_payment(1500)
    for offset_s in (-301, 301, -3600, 3600):
        answer = _send_at(harness, request, offset_s)
        assert answer.status_code == 401 and answer.json()["code"] == "FAIL", offset_s
    status, paid, webhooks, unverifiable = _state(harness, order["id"])
    assert (status, paid, webhooks, unverifiable) == ("pending", 0, 0, 4)

    assert _send_at(harness, request, -299).status_code == 204
    assert _state(harness, order["id"])[:3] == ("paid", 1500, 1)
    # The same event again, inside the window from the other side: acknowledged, applied no second time.
    assert _send_at(harness, request, +299).status_code == 204
    assert _send_at(harness, request, -299).status_code == 204
    assert _state(harness, order["id"]) == ("paid", 1500, 1, 4)
    with harness.app.state.services.uow.read() as tx:
        attempt = tx.attempts.for_order(order["id"])[0]
        assert len(tx.notifications.for_out_trade_nos(attempt.mchid, [attempt.out_trade_no])) == 1
