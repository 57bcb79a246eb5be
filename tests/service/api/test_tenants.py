"""Merchants share one service but never each other's rows: lookups by WeChat's numbers are scoped by mchid.

``out_trade_no`` and ``out_refund_no`` are unique only within a merchant, so a verified message of merchant B
that carries merchant A's number must never reach A's order, its events or its refunds.
"""

from __future__ import annotations

import secrets

from weipay.sdk.v2.wechat_side import build_payment_notification, build_refund_notification

from ..web_harness import OTHER_MCHID, Harness


def _paid_order(harness: Harness) -> tuple[dict[str, object], str]:
    order = harness.create_order(1500)
    payment = harness.api.post(
        f"/v1/orders/{order['id']}/payments", headers=harness.merchant, json={"channel": "native"}
    ).json()
    harness.pay(payment)
    harness.deliver()
    out_trade_no = harness.order(str(order["id"]))["attempts"][0]["out_trade_no"]
    return order, out_trade_no


def _notification_from_b(out_trade_no: str, marker: str) -> bytes:
    """A payment notification correctly signed with merchant B's own API v2 key, naming A's out_trade_no."""
    fields = {
        "result_code": "SUCCESS", "appid": "wx0000000000000000", "mch_id": OTHER_MCHID,
        "nonce_str": secrets.token_hex(8), "openid": "o-b-user", "trade_type": "NATIVE", "bank_type": "OTHERS",
        "total_fee": "1500", "fee_type": "CNY", "cash_fee": "1500", "transaction_id": "4200009999202612049999999999",
        "out_trade_no": out_trade_no, "attach": marker, "time_end": "20261204120000",
    }  # fmt: skip
    return build_payment_notification("k" * 32, fields)


def test_another_merchants_notification_never_reaches_an_orders_events(harness: Harness) -> None:
    order, out_trade_no = _paid_order(harness)
    marker = "B-was-here-" + secrets.token_hex(4)
    answer = harness.api.post(f"/notify/wechatpay/v2/{OTHER_MCHID}", content=_notification_from_b(out_trade_no, marker))
    assert answer.status_code == 200, answer.text  # B's own message, verified with B's key: B's business
    events = harness.api.get(f"/v1/orders/{order['id']}/events", headers=harness.merchant)
    assert events.status_code == 200
    assert marker not in events.text
    assert OTHER_MCHID not in events.text
    assert harness.order(str(order["id"]))["status"] == "paid"


def test_another_merchants_refund_notification_never_settles_a_refund(harness: Harness) -> None:
    order, out_trade_no = _paid_order(harness)
    refund = harness.api.post(
        f"/v1/orders/{order['id']}/refunds", headers=harness.merchant, json={"merchant_refund_no": "T-1", "amount": 500}
    ).json()
    assert refund["status"] == "processing"
    forged_by_b = build_refund_notification(
        "k" * 32, "wx0000000000000000", OTHER_MCHID,
        {"out_refund_no": refund["out_refund_no"], "out_trade_no": out_trade_no, "refund_id": "50300999999",
         "transaction_id": "4200009999202612049999999998", "total_fee": 1500, "refund_fee": 500,
         "settlement_refund_fee": 500, "refund_status": "CHANGE", "refund_recv_accout": "x",
         "refund_account": "REFUND_SOURCE_UNSETTLED_FUNDS", "refund_request_source": "API"},
        secrets.token_hex(8),
    )  # fmt: skip
    answer = harness.api.post(f"/notify/wechatpay/v2/{OTHER_MCHID}", content=forged_by_b)
    assert answer.status_code == 200, answer.text
    assert harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()["status"] == "processing"
    harness.deliver(60)  # WeChat's own answer for A still settles A's refund
    assert harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()["status"] == "succeeded"
