"""The console over HTTP: login and server-side logout, the order list's filters and paging, the order page and its
actions (CSRF-checked), the operations pages; in Chinese by default, in English on request; autoescaped."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from weipay.service.jobs import http_sender
from weipay.service.usecases.reconcile_store import StoredReconciliation

from ..web_harness import ADMIN_KEY, MCHID, OTHER_MCHID, Harness


def login(harness: Harness) -> str:
    """Log in with the admin key; the session cookie's value."""
    response = harness.api.post("/console/login", data={"api_key": ADMIN_KEY})
    assert response.status_code == 303
    token = response.cookies["weipay_console"]
    harness.api.cookies.set("weipay_console", token, path="/console")
    return token


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match
    return match.group(1)


def paid_order(harness: Harness, amount: int = 3000, **extra: Any) -> dict[str, Any]:
    order = harness.create_order(amount, **extra)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()  # fmt: skip
    harness.pay(payment)
    harness.deliver()
    assert harness.order(order["id"])["status"] == "paid"
    return order


def refund_waiting_for_approval(harness: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    order = paid_order(harness, description="<script>alert(1)</script>")
    refund = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "C1", "amount": 700}).json()
    assert refund["status"] == "requested"
    return order, refund


def test_login_required_wrong_key_refused_and_basic_accepted(harness: Harness) -> None:
    assert harness.api.get("/console/").headers["location"] == "/console/login"
    wrong = harness.api.post("/console/login", data={"api_key": "nope"})
    assert wrong.status_code == 401 and "密钥或密码错误" in wrong.text
    basic = base64.b64encode(b"ops:ops-password-for-tests").decode()
    assert harness.api.get("/console/", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    bad_basic = base64.b64encode(b"ops:wrong").decode()
    assert harness.api.get("/console/", headers={"Authorization": f"Basic {bad_basic}"}).status_code == 303


def test_logout_ends_the_session_on_the_server(harness: Harness) -> None:
    token = login(harness)
    page = harness.api.get("/console/")
    assert page.status_code == 200
    assert harness.api.post("/console/logout", data={"csrf_token": "0" * 40}).status_code == 403
    assert harness.api.get("/console/").status_code == 200  # a forged logout ended nothing
    assert harness.api.post("/console/logout", data={"csrf_token": csrf(page.text)}).status_code == 303
    harness.api.cookies.set("weipay_console", token, path="/console")  # a copy of the cookie kept from before
    assert harness.api.get("/console/").status_code == 303
    with harness.app.state.services.uow.read() as tx:
        assert tx.connection.exec_driver_sql("SELECT count(*) FROM operator_sessions").scalar() == 0


def test_chinese_by_default_english_on_request_amounts_in_yuan(harness: Harness) -> None:
    order = harness.create_order(1234, description="手冲咖啡豆 250g")
    login(harness)
    page = harness.api.get("/console/").text
    assert '<html lang="zh-CN">' in page and "订单" in page and "待支付" in page
    assert "¥12.34" in page and "1234" not in page.replace(order["id"], "")
    switched = harness.api.get("/console/lang/en", headers={"Referer": "http://service.test/console/orders/x"})
    assert switched.status_code == 303 and switched.headers["location"] == "http://service.test/console/orders/x"
    harness.api.cookies.set("weipay_console_lang", switched.cookies["weipay_console_lang"], path="/console")
    english = harness.api.get("/console/").text
    assert '<html lang="en">' in english and "Orders" in english and ">pending<" in english and "¥12.34" in english
    elsewhere = harness.api.get("/console/lang/zh", headers={"Referer": "https://evil.example/console/"})
    assert elsewhere.headers["location"] == "/console/"  # never back to another site


def test_times_are_in_the_merchants_time_zone(harness_factory: Any) -> None:
    harness: Harness = harness_factory(time_zone="America/New_York")
    order = harness.create_order(500)
    login(harness)
    detail = harness.api.get(f"/console/orders/{order['id']}").text
    with harness.app.state.services.uow.read() as tx:
        stored = tx.orders.get(order["id"])
    assert stored is not None
    local = dt.datetime.fromtimestamp(stored.created_at, ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M:%S")
    shanghai = dt.datetime.fromtimestamp(stored.created_at, ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert local in detail and shanghai not in detail and "America/New_York" in detail


def test_the_order_list_filters_and_pages_like_the_api(harness: Harness) -> None:
    orders = []
    for n in range(23):
        harness.clock.advance(1)  # newest first needs distinct times (the manual clock stands still otherwise)
        orders.append(harness.create_order(100 + n, number=f"PAGE-{n:02d}"))
    harness.clock.advance(1)
    paid = paid_order(harness, 4321, number="PAID-1")
    login(harness)
    first = harness.api.get("/console/")
    shown = re.findall(r'href="/console/orders/(ord_[0-9a-z]+)"', first.text)
    assert len(shown) == 20 and shown[0] == paid["id"]
    following = re.search(r'id="next-page" href="([^"]+)"|href="([^"]+)" id="next-page"', first.text)
    assert following
    second = harness.api.get((following.group(1) or following.group(2)).replace("&amp;", "&"))
    rest = re.findall(r'href="/console/orders/(ord_[0-9a-z]+)"', second.text)
    assert len(rest) == 4 and not set(rest) & set(shown)
    assert set(shown + rest) == {o["id"] for o in [*orders, paid]}

    by_status = harness.api.get("/console/", params={"status": "paid"}).text
    assert re.findall(r'href="/console/orders/(ord_[0-9a-z]+)"', by_status) == [paid["id"]]
    by_channel = harness.api.get("/console/", params={"channel": "native"}).text
    assert re.findall(r'href="/console/orders/(ord_[0-9a-z]+)"', by_channel) == [paid["id"]]
    transaction_id = harness.order(paid["id"])["attempts"][0]["transaction_id"]
    by_number = harness.api.get("/console/", params={"q": transaction_id}).text
    assert re.findall(r'href="/console/orders/(ord_[0-9a-z]+)"', by_number) == [paid["id"]]
    future = dt.datetime.fromtimestamp(harness.clock() + 86400, ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    assert "没有符合条件的订单" in harness.api.get("/console/", params={"created_from": future}).text
    everything = harness.api.get("/console/", params={"created_to": future}).text
    assert len(re.findall(r'href="/console/orders/(ord_[0-9a-z]+)"', everything)) == 20
    bad = harness.api.get("/console/", params={"q": "abc\x00"})
    assert bad.status_code == 422
    backwards = harness.api.get("/console/", params={"created_from": future, "created_to": "2020-01-01T00:00"})
    assert backwards.status_code == 422


def test_order_page_refund_then_approve_with_csrf(harness_factory: Any) -> None:
    harness: Harness = harness_factory(refund_approval_required=True)
    order = paid_order(harness, 3000, description="<script>alert(1)</script>")
    login(harness)
    detail = harness.api.get(f"/console/orders/{order['id']}")
    assert detail.status_code == 200
    assert "<script>alert(1)</script>" not in detail.text and "&lt;script&gt;" in detail.text
    for event in ("order.created", "payment.started", "notification.received", "payment.succeeded"):
        assert f'data-type="{event}"' in detail.text
    assert "支付成功" in detail.text and "¥30.00" in detail.text

    form = {"csrf_token": csrf(detail.text), "back": f"/console/orders/{order['id']}", "amount": "12.34",
            "reason": "尺码不合适", "merchant_refund_no": "console-test-1"}
    url = f"/console/orders/{order['id']}/refunds"
    assert harness.api.post(url, data={**form, "csrf_token": ""}).status_code == 403
    made = harness.api.post(url, data=form)
    assert made.status_code == 303 and made.headers["location"].endswith("?done=refund_requested")
    again = harness.api.post(f"/console/orders/{order['id']}/refunds", data=form)  # a double submit
    assert again.headers["location"].endswith("?done=refund_requested")
    (refund,) = harness.order(order["id"])["refunds"]
    assert (refund["amount"], refund["status"]) == (1234, "requested")
    assert "已提交退款" in harness.api.get(made.headers["location"]).text

    too_much = harness.api.post(f"/console/orders/{order['id']}/refunds",
                                data={**form, "amount": "30.00", "merchant_refund_no": "console-test-2"})
    assert too_much.headers["location"].endswith("?failed=refund_exceeds_paid")
    assert "退款金额超过了可退金额" in harness.api.get(too_much.headers["location"]).text
    typo = harness.api.post(f"/console/orders/{order['id']}/refunds",
                            data={**form, "amount": "1.234", "merchant_refund_no": "console-test-3"})
    assert typo.headers["location"].endswith("?failed=invalid_amount")

    waiting = harness.api.get("/console/refunds")
    assert refund["id"] in waiting.text or order["id"] in waiting.text
    approved = harness.api.post(f"/console/refunds/{refund['id']}/approve",
                                data={"csrf_token": csrf(waiting.text), "back": "/console/refunds"})
    assert approved.headers["location"] == "/console/refunds?done=refund_approved"
    harness.deliver(60)
    harness.run_jobs()
    assert harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()["status"] == "succeeded"
    after = harness.api.get(f"/console/orders/{order['id']}").text
    assert "退款成功" in after and 'data-type="refund.succeeded"' in after and "¥12.34" in after
    assert "没有待审批的退款" in harness.api.get("/console/refunds").text


def test_reject_with_a_reason_and_redirects_stay_inside_the_console(harness_factory: Any) -> None:
    harness: Harness = harness_factory(refund_approval_required=True)
    order, refund = refund_waiting_for_approval(harness)
    login(harness)
    detail = harness.api.get(f"/console/orders/{order['id']}")
    rejected = harness.api.post(f"/console/refunds/{refund['id']}/reject",
                                data={"csrf_token": csrf(detail.text), "reason": "<b>no</b>",
                                      "back": "https://evil.example/"})  # fmt: skip
    assert rejected.status_code == 303 and rejected.headers["location"] == "/console/?done=refund_rejected"
    assert harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()["status"] == "rejected"
    page = harness.api.get(f"/console/orders/{order['id']}").text
    assert "&lt;b&gt;no&lt;/b&gt;" in page and "<b>no</b>" not in page
    crafted = harness.api.get("/console/", params={"failed": "<i>x</i>", "done": "anything"}).text
    assert "<i>x</i>" not in crafted and "&lt;i&gt;" not in crafted  # only catalogue words reach the page


def test_close_a_pending_order(harness: Harness) -> None:
    order = harness.create_order(800)
    harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant, json={"channel": "native"})
    login(harness)
    detail = harness.api.get(f"/console/orders/{order['id']}")
    assert "关闭订单" in detail.text and 'id="refund-form"' not in detail.text
    closed = harness.api.post(f"/console/orders/{order['id']}/close",
                              data={"csrf_token": csrf(detail.text), "back": f"/console/orders/{order['id']}"})
    assert closed.headers["location"].endswith("?done=order_closed")
    assert harness.order(order["id"])["status"] == "closed"


def test_anomalies_are_resolved_and_leave_the_open_list(harness: Harness) -> None:
    harness.api.post(f"/notify/wechatpay/v3/{MCHID}", content=b'{"forged": true}',
                     headers={"Content-Type": "application/json"})
    login(harness)
    page = harness.api.get("/console/anomalies")
    assert page.status_code == 200 and "unverifiable_v3_notification" in page.text
    (anomaly_id,) = re.findall(r'action="/console/anomalies/(\d+)/resolve"', page.text)
    resolved = harness.api.post(f"/console/anomalies/{anomaly_id}/resolve",
                                data={"csrf_token": csrf(page.text), "back": "/console/anomalies", "note": "探测流量"})
    assert resolved.headers["location"] == "/console/anomalies?done=anomaly_resolved"
    assert "没有待处理的异常" in harness.api.get("/console/anomalies").text
    history = harness.api.get("/console/anomalies", params={"resolved": "1"}).text
    assert "探测流量" in history and "console:admin-key-1" in history
    missing = harness.api.post("/console/anomalies/999999/resolve", data={"csrf_token": csrf(page.text)})
    assert missing.headers["location"] == "/console/?failed=anomaly_not_found"
    assert harness.api.get("/console/orders/ord_000000000000000000000000").status_code == 404


def test_reconciliation_reports_and_alerts_sent(harness: Harness) -> None:
    now = harness.clock()
    with harness.app.state.services.uow.write() as tx:
        tx.reconciliation_reports.save(StoredReconciliation(
            mchid=MCHID, bill_day=dt.date(2026, 11, 23), status="differences", bill_lines=12, payments_matched=11,
            differences=1, repaired=1, created_at=now, updated_at=now,
            detail='{"differences": [{"kind": "paid_not_recorded", "out_trade_no": "WP01", "repaired": true}]}',
        ))  # fmt: skip
    harness.api.post(f"/notify/wechatpay/v3/{MCHID}", content=b'{"forged": true}',
                     headers={"Content-Type": "application/json"})
    harness.run_jobs()
    login(harness)
    reports = harness.api.get("/console/reconciliation").text
    assert "2026-11-23" in reports and "有差异" in reports and "paid_not_recorded" in reports
    alerts = harness.api.get("/console/alerts").text
    assert 'id="alerts"' in alerts
    with harness.app.state.services.uow.read() as tx:
        sent = tx.alerts.sent()
    assert sent  # the forged notification's anomaly reached the log sink
    for alert in sent:
        assert alert.title in alerts and alert.sink in alerts


def test_each_merchant_is_listed_on_its_own(harness: Harness) -> None:
    order = harness.create_order(600)
    login(harness)
    page = harness.api.get("/console/").text
    assert f'<option value="{MCHID}" selected>' in page and f'<option value="{OTHER_MCHID}"' in page
    assert order["id"] in page
    other = harness.api.get("/console/", params={"mchid": OTHER_MCHID}).text
    assert order["id"] not in other and "没有符合条件的订单" in other
    unknown = harness.api.get("/console/", params={"mchid": "123"}).text  # not configured: the first merchant
    assert order["id"] in unknown


def test_webhook_deliveries_are_shown_and_redelivered_with_csrf(harness_factory: Any) -> None:
    harness: Harness = harness_factory(webhook_url="https://shop.test/hooks", webhook_secret="whsec-console-0123456789")
    received: list[httpx.Request] = []
    answers = [503]

    def system(request: httpx.Request) -> httpx.Response:
        request.read()
        received.append(request)
        return httpx.Response(answers[0], text="维护中" if answers[0] >= 300 else "ok")

    harness.app.state.services.webhook_sender = http_sender(transport=httpx.MockTransport(system))
    order = paid_order(harness, 800)
    harness.run_jobs()
    login(harness)
    page = harness.api.get(f"/console/orders/{order['id']}").text
    row = re.search(r'<tr class="pending" data-delivery="(\d+)">(.*?)</tr>', page, re.S)
    assert row, "no pending delivery row"
    assert "order.paid" in row.group(2) and "待投递" in row.group(2) and "HTTP 503" in row.group(2)
    assert "维护中" in row.group(2)  # the answer's excerpt, among the attempts
    delivery_id = row.group(1)
    url = f"/console/webhook-deliveries/{delivery_id}/redeliver"
    assert harness.api.post(url, data={"csrf_token": "0" * 40}).status_code == 403
    answers[0] = 200
    done = harness.api.post(url, data={"csrf_token": csrf(page), "back": f"/console/orders/{order['id']}"})
    assert done.headers["location"] == f"/console/orders/{order['id']}?done=webhook_redelivered"
    harness.run_jobs()
    after = harness.api.get(done.headers["location"]).text
    assert "已安排重新投递" in after
    assert re.search(rf'<tr class="delivered" data-delivery="{delivery_id}">.*?已送达.*?手动重投', after, re.S)
    assert len(received) == 2 and received[0].content == received[1].content  # the same event, byte for byte
    missing = harness.api.post("/console/webhook-deliveries/999999/redeliver", data={"csrf_token": csrf(page)})
    assert missing.headers["location"] == "/console/?failed=webhook_delivery_not_found"
