"""The console: login, orders list/search, order detail, approve/reject with CSRF, anomalies; autoescaped."""

from __future__ import annotations

import base64
import re
from typing import Any

from ..web_harness import ADMIN_KEY, Harness


def login(harness: Harness) -> None:
    response = harness.api.post("/console/login", data={"api_key": ADMIN_KEY})
    assert response.status_code == 303
    harness.api.cookies.set("weipay_console", response.cookies["weipay_console"], path="/console")


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match
    return match.group(1)


def refund_waiting_for_approval(harness: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    order = harness.create_order(3000, description="<script>alert(1)</script>")
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()
    harness.pay(payment)
    harness.deliver()
    refund = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant,
                              json={"merchant_refund_no": "C1", "amount": 700}).json()
    assert refund["status"] == "requested"
    return order, refund


def test_login_required_and_wrong_key_refused(harness: Harness) -> None:
    assert harness.api.get("/console/").status_code == 303
    wrong = harness.api.post("/console/login", data={"api_key": "nope"})
    assert wrong.status_code == 401 and "Wrong key" in wrong.text
    basic = base64.b64encode(b"ops:ops-password-for-tests").decode()
    assert harness.api.get("/console/", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    bad_basic = base64.b64encode(b"ops:wrong").decode()
    assert harness.api.get("/console/", headers={"Authorization": f"Basic {bad_basic}"}).status_code == 303


def test_orders_search_detail_and_approve(harness_factory: Any) -> None:
    harness: Harness = harness_factory(refund_approval_required=True)
    order, refund = refund_waiting_for_approval(harness)
    login(harness)
    listing = harness.api.get("/console/")
    assert listing.status_code == 200 and order["id"] in listing.text
    found = harness.api.get("/console/", params={"q": order["merchant_order_no"]})
    assert order["id"] in found.text
    assert "No orders" in harness.api.get("/console/", params={"q": "nothing-like-this"}).text

    detail = harness.api.get(f"/console/orders/{order['id']}")
    assert detail.status_code == 200
    assert "<script>alert(1)</script>" not in detail.text and "&lt;script&gt;" in detail.text
    assert "notify/payment" in detail.text or "notify" in detail.text

    no_token = harness.api.post(f"/console/refunds/{refund['id']}/approve", data={})
    assert no_token.status_code == 403
    approved = harness.api.post(f"/console/refunds/{refund['id']}/approve", data={"csrf_token": csrf(detail.text)})
    assert approved.status_code == 303 and "approved" in approved.headers["location"]
    current = harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()
    assert current["status"] in ("processing", "succeeded")


def test_reject_and_anomalies(harness_factory: Any) -> None:
    harness: Harness = harness_factory(refund_approval_required=True)
    order, refund = refund_waiting_for_approval(harness)
    login(harness)
    detail = harness.api.get(f"/console/orders/{order['id']}")
    rejected = harness.api.post(f"/console/refunds/{refund['id']}/reject",
                                data={"csrf_token": csrf(detail.text), "reason": "no"})
    assert rejected.status_code == 303
    assert harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()["status"] == "rejected"

    harness.api.post("/notify/wechatpay/v3/1900000109", content=b'{"forged": true}',
                     headers={"Content-Type": "application/json"})
    anomalies = harness.api.get("/console/anomalies")
    assert anomalies.status_code == 200 and "unverifiable_v3_notification" in anomalies.text
    assert harness.api.get("/console/orders/ord_000000000000000000000000").status_code == 404
