"""Two gaps closed: a rejected refund keeps its reason (API and console), and logging out needs the CSRF token."""

from __future__ import annotations

import re
from typing import Any

from ..web_harness import ADMIN_KEY, Harness


def _console_login(harness: Harness) -> None:
    response = harness.api.post("/console/login", data={"api_key": ADMIN_KEY})
    assert response.status_code == 303
    harness.api.cookies.set("weipay_console", response.cookies["weipay_console"], path="/console")


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match
    return match.group(1)


def _requested_refund(harness: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    order = harness.create_order(3000)
    payment = harness.api.post(
        f"/v1/orders/{order['id']}/payments", headers=harness.merchant, json={"channel": "native"}
    ).json()
    harness.pay(payment)
    harness.deliver()
    refund = harness.api.post(
        f"/v1/orders/{order['id']}/refunds", headers=harness.merchant, json={"merchant_refund_no": "G1", "amount": 700}
    ).json()
    assert refund["status"] == "requested"
    return order, refund


def test_rejection_reason_is_stored_and_shown_over_the_api(harness_factory: Any) -> None:
    harness: Harness = harness_factory(refund_approval_required=True)
    order, refund = _requested_refund(harness)
    rejected = harness.api.post(
        f"/v1/refunds/{refund['id']}/reject", headers=harness.merchant, json={"reason": "outside the return window"}
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["rejection_reason"]) == ("rejected", "outside the return window")
    again = harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()
    assert again["rejection_reason"] == "outside the return window"
    listed = harness.order(order["id"])
    assert listed["refunds"][0]["rejection_reason"] == "outside the return window"
    assert listed["refunded_amount"] == 0
    # The reserved amount is free again: the whole payment can still be refunded.
    full = harness.api.post(
        f"/v1/orders/{order['id']}/refunds", headers=harness.merchant, json={"merchant_refund_no": "G2", "amount": 3000}
    )
    assert full.status_code == 201, full.text
    assert full.json()["rejection_reason"] is None


def test_rejection_reason_from_the_console_is_shown_in_the_console(harness_factory: Any) -> None:
    harness: Harness = harness_factory(refund_approval_required=True)
    order, refund = _requested_refund(harness)
    _console_login(harness)
    detail = harness.api.get(f"/console/orders/{order['id']}")
    posted = harness.api.post(
        f"/console/refunds/{refund['id']}/reject",
        data={"csrf_token": _csrf(detail.text), "reason": "<b>duplicate</b> request"},
    )
    assert posted.status_code == 303
    stored = harness.api.get(f"/v1/refunds/{refund['id']}", headers=harness.merchant).json()
    assert stored["rejection_reason"] == "<b>duplicate</b> request"
    page = harness.api.get(f"/console/orders/{order['id']}").text
    assert "&lt;b&gt;duplicate&lt;/b&gt; request" in page and "<b>duplicate</b>" not in page


def test_logout_requires_the_csrf_token(harness: Harness) -> None:
    _console_login(harness)
    page = harness.api.get("/console/")
    assert page.status_code == 200
    for forged in ({}, {"csrf_token": "0" * 40}):
        refused = harness.api.post("/console/logout", data=forged)
        assert refused.status_code == 403
        assert harness.api.get("/console/").status_code == 200  # still logged in
    done = harness.api.post("/console/logout", data={"csrf_token": _csrf(page.text)})
    assert done.status_code == 303
    assert "weipay_console" in done.headers.get("set-cookie", "")
