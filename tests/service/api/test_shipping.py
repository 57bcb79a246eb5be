"""Mini-program shipping information end to end: the service's API and jobs against the simulator's mini-program
platform, on SQLite and PostgreSQL. Upload through the job (and again after a lost answer or a busy platform,
without a second upload), the automatic upload of virtual goods, the buyer's confirmation reaching the merchant
as the ``order.receipt_confirmed`` webhook, the overdue alert, merchant scoping and bad input."""

from __future__ import annotations

import json
from typing import Any

import httpx
import sqlalchemy as sa

from weipay.service.db.tables import alert_events, wxa_access_tokens

from ..web_harness import ADMIN_KEY, MCHID, OTHER_API_KEY, SERVICE_URL, Harness

MESSAGE_TOKEN = "shipping-message-token"
WEBHOOK_SECRET = "shipping-webhook-secret"
EXPRESS = {"logistics_type": "express", "shipping_list": [
    {"item_desc": "Weipay mug", "tracking_no": "SF1400000001", "express_company": "SF",
     "contact": {"receiver_contact": "138****1234"}}]}  # fmt: skip


def _shop(harness_factory: Any, **shipping: Any) -> Harness:
    harness: Harness = harness_factory(
        webhook_url="https://merchant.example/hooks", webhook_secret=WEBHOOK_SECRET,
        shipping={"message_token": MESSAGE_TOKEN, **shipping},
    )
    harness.wechat.put("/simulator/wxa", json={"message_url": f"{SERVICE_URL}/notify/wxa/{MCHID}",
                                               "message_token": MESSAGE_TOKEN}).raise_for_status()  # fmt: skip
    return harness


def _paid_order(harness: Harness, channel: str = "miniprogram") -> dict[str, Any]:
    openid, _ = harness.login()
    order = harness.create_order(1999, payer_openid=openid)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": channel, "payer_openid": openid})  # fmt: skip
    assert payment.status_code == 201, payment.text
    harness.pay(payment.json(), openid=openid)
    harness.deliver()
    assert harness.order(order["id"])["status"] == "paid"
    return order


def _ship(harness: Harness, order_id: str, body: dict[str, Any] | None = None,
          headers: dict[str, str] | None = None) -> httpx.Response:
    return harness.api.post(f"/v1/orders/{order_id}/shipping", json=body or EXPRESS,
                            headers=headers or harness.merchant)  # fmt: skip


def _platform(harness: Harness) -> dict[str, Any]:
    """WeChat's side: the managed payments by out_trade_no, and the frozen funds."""
    data = harness.wechat.get("/simulator/wxa/orders").json()
    return {"frozen_fen": data["frozen_fen"], **{o["merchant_trade_no"]: o for o in data["orders"]}}


def _calls(harness: Harness, order_id: str, endpoint: str) -> list[dict[str, Any]]:
    events = harness.api.get(f"/v1/orders/{order_id}/events", headers=harness.merchant).json()["events"]
    return [e for e in events if e["type"] == "wechat.call" and e["endpoint"] == endpoint]


def _types(harness: Harness, order_id: str) -> list[str]:
    events = harness.api.get(f"/v1/orders/{order_id}/events", headers=harness.merchant).json()["events"]
    return [event["type"] for event in events]


def test_upload_confirm_and_webhook(harness_factory: Any) -> None:
    harness = _shop(harness_factory)
    sent: list[dict[str, Any]] = []
    harness.app.state.services.webhook_sender = lambda url, body, headers: sent.append(json.loads(body)) or 200
    order = _paid_order(harness)
    out_trade_no = harness.order(order["id"])["attempts"][0]["out_trade_no"]
    harness.run_jobs()  # the after-payment job: no automatic upload for this merchant, only the deadline check
    assert _platform(harness)[out_trade_no]["order_state"] == 1 and _platform(harness)["frozen_fen"] == 1999
    accepted = _ship(harness, order["id"])
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["shipping"]["state"] == "pending"
    assert _ship(harness, order["id"]).json()["shipping"]["state"] == "pending"  # a retried request: same one
    harness.run_jobs()
    shipping = harness.order(order["id"])["shipping"]
    assert shipping["state"] == "uploaded" and shipping["uploaded_at"] and shipping["last_error"] is None
    on_record = _platform(harness)[out_trade_no]
    assert on_record["order_state"] == 2 and on_record["shipping"]["shipping_list"][0]["tracking_no"] == "SF1400000001"
    with harness.app.state.services.uow.read() as tx:
        tokens = tx.connection.execute(sa.select(wxa_access_tokens)).all()
    assert [row.appid for row in tokens] == [harness.appid()] and tokens[0].value  # shared through the database
    harness.deliver()  # the first settlement message (shipped): a hint, the query finds no receipt yet
    harness.run_jobs()
    assert harness.order(order["id"])["shipping"]["state"] == "uploaded"
    confirmed = harness.wechat.post("/simulator/wxa/confirm-receipt", json={"out_trade_no": out_trade_no})
    assert confirmed.status_code == 200 and _platform(harness)["frozen_fen"] == 0
    harness.deliver()  # the settlement message, signed with the Token, into /notify/wxa/{mchid}
    log = harness.wechat.get("/simulator/notifications").json()["notifications"]
    assert [n["last_status"] for n in log if n["api"] == "wxa"] == [200, 200]
    harness.run_jobs()  # sync_shipping asks get_order, then the webhook
    harness.run_jobs()
    shipping = harness.order(order["id"])["shipping"]
    assert shipping["state"] == "confirmed" and shipping["confirmed_at"]
    assert [hook["type"] for hook in sent].count("order.receipt_confirmed") == 1
    types = _types(harness, order["id"])
    for kind in ("shipping.submitted", "shipping.uploaded", "shipping.receipt_confirmed"):
        assert kind in types
    assert len(_calls(harness, order["id"], "wxa/sec/order/upload_shipping_info")) == 1
    assert harness.api.post("/console/login", data={"api_key": ADMIN_KEY}, follow_redirects=False).status_code == 303
    console = harness.api.get(f"/console/orders/{order['id']}")
    assert console.status_code == 200 and 'id="shipping"' in console.text and "s-confirmed" in console.text
    assert "shipping.receipt_confirmed" in console.text  # the timeline's event


def test_a_lost_answer_is_queried_not_uploaded_twice(harness: Harness) -> None:
    order = _paid_order(harness)
    out_trade_no = harness.order(order["id"])["attempts"][0]["out_trade_no"]
    harness.wechat.put("/simulator/faults", json={"commit_then_timeout_rate": 1.0,
                                                  "paths": ["/wxa/sec/order/upload_shipping_info"]})  # fmt: skip
    assert _ship(harness, order["id"]).status_code == 202
    harness.run_jobs()
    shipping = harness.order(order["id"])["shipping"]
    assert shipping["state"] == "pending" and shipping["last_error"]["code"] == "outcome_unknown"
    assert _platform(harness)[out_trade_no]["order_state"] == 2  # it landed; only the answer was lost
    harness.wechat.put("/simulator/faults", json={"commit_then_timeout_rate": 0})
    harness.clock.advance(10)  # past the job's back-off
    harness.run_jobs()
    assert harness.order(order["id"])["shipping"]["state"] == "uploaded"
    assert len(_calls(harness, order["id"], "wxa/sec/order/upload_shipping_info")) == 1
    assert len(_calls(harness, order["id"], "wxa/sec/order/get_order")) == 1
    assert _platform(harness)[out_trade_no]["shipping"]["finish_shipping_count"] == 1


def test_a_busy_platform_is_retried(harness: Harness) -> None:
    order = _paid_order(harness)
    harness.wechat.put("/simulator/faults", json={"system_error_rate": 1.0, "paths": ["/wxa/"]})
    _ship(harness, order["id"])
    harness.run_jobs()
    assert harness.order(order["id"])["shipping"]["last_error"]["code"] == "SYSTEM_BUSY"
    harness.wechat.put("/simulator/faults", json={"system_error_rate": 0})
    harness.clock.advance(10)
    harness.run_jobs()
    assert harness.order(order["id"])["shipping"]["state"] == "uploaded"


def test_virtual_goods_are_uploaded_right_after_payment(harness_factory: Any) -> None:
    harness = _shop(harness_factory, auto_upload_virtual=True)
    order = _paid_order(harness)
    harness.run_jobs()  # after payment: submit the virtual shipment
    harness.run_jobs()  # upload it
    shipping = harness.order(order["id"])["shipping"]
    assert shipping["state"] == "uploaded" and shipping["automatic"] and shipping["logistics_type"] == "virtual"
    out_trade_no = harness.order(order["id"])["attempts"][0]["out_trade_no"]
    assert _platform(harness)[out_trade_no]["shipping"]["logistics_type"] == 3
    # The merchant may still correct it once (WeChat's one re-shipment): the express information replaces it.
    assert _ship(harness, order["id"]).status_code == 202
    harness.run_jobs()
    assert _platform(harness)[out_trade_no]["shipping"]["logistics_type"] == 1
    native = _paid_order(harness, channel="native")
    harness.run_jobs()
    assert harness.order(native["id"])["shipping"] is None  # only mini-program payments are managed


def _overdue_alerts(harness: Harness) -> list[Any]:
    with harness.app.state.services.uow.read() as tx:
        return tx.connection.execute(
            sa.select(alert_events).where(alert_events.c.kind == "shipping_overdue")).all()


def test_overdue_alert_near_the_deadline(harness: Harness) -> None:
    unshipped = _paid_order(harness)
    shipped = _paid_order(harness)
    harness.run_jobs()
    _ship(harness, shipped["id"])
    harness.run_jobs()
    harness.clock.advance(41 * 3600)
    harness.run_jobs()
    assert _overdue_alerts(harness) == []  # 48 h deadline, alert 6 h before
    harness.clock.advance(2 * 3600)
    harness.run_jobs()
    alerts = _overdue_alerts(harness)
    assert [row.order_id for row in alerts] == [unshipped["id"]]
    assert json.loads(alerts[0].detail)["shipping_status"] is None


def test_scoping_and_bad_input(harness: Harness) -> None:
    order = _paid_order(harness)
    other = {"Authorization": f"Bearer {OTHER_API_KEY}"}
    assert _ship(harness, order["id"], headers=other).status_code == 404
    _, user = harness.login()
    assert _ship(harness, order["id"], headers=user).status_code == 403
    assert _ship(harness, "or_missing").status_code == 404
    no_tracking = {"logistics_type": "express", "shipping_list": [{"item_desc": "mug"}]}
    refused = _ship(harness, order["id"], no_tracking)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_shipping"
    assert "tracking_no" in refused.json()["error"]["message"]
    unified_two = {"logistics_type": "virtual", "shipping_list": [{"item_desc": "a"}, {"item_desc": "b"}]}
    assert _ship(harness, order["id"], unified_two).status_code == 422
    drone = {"logistics_type": "drone", "shipping_list": [{"item_desc": "a"}]}
    assert _ship(harness, order["id"], drone).status_code == 422
    unmasked = {"logistics_type": "express", "shipping_list": [{"item_desc": "mug", "tracking_no": "SF1",
                                                                "express_company": "SF",
                                                                "contact": {"receiver_contact": "13800001234"}}]}
    assert _ship(harness, order["id"], unmasked).status_code == 422
    unpaid = harness.create_order(100)
    assert _ship(harness, unpaid["id"]).json()["error"]["code"] == "order_not_paid"
    native = _paid_order(harness, channel="native")
    assert _ship(harness, native["id"]).json()["error"]["code"] == "not_miniprogram"
    assert harness.order(order["id"])["shipping"] is None


def test_message_push_is_verified(harness_factory: Any) -> None:
    harness = _shop(harness_factory)
    check = harness.api.get(f"/notify/wxa/{MCHID}", params={"signature": "0" * 40, "timestamp": "1", "nonce": "n",
                                                            "echostr": "hello"})  # fmt: skip
    assert check.status_code == 401
    from weipay.service.api.shipping_routes import message_signature

    good = {"signature": message_signature(MESSAGE_TOKEN, "1700000000", "n1"), "timestamp": "1700000000",
            "nonce": "n1"}
    assert harness.api.get(f"/notify/wxa/{MCHID}", params={**good, "echostr": "hello"}).text == "hello"
    forged = harness.api.post(f"/notify/wxa/{MCHID}", params={**good, "signature": "f" * 40},
                              content=b'{"MsgType":"event","Event":"trade_manage_order_settlement"}')
    assert forged.status_code == 401
    junk = harness.api.post(f"/notify/wxa/{MCHID}", params=good,
                            content=b'{"MsgType":"event","Event":"trade_manage_order_settlement"}')
    assert junk.status_code == 400
    other_event = harness.api.post(f"/notify/wxa/{MCHID}", params=good, content=b'{"MsgType":"text"}')
    assert other_event.text == "success"
    unconfigured = harness.api.get("/notify/wxa/1900000209", params={**good, "echostr": "x"})
    assert unconfigured.status_code == 403
