"""Text that WeChat or the database would refuse later is refused where it enters, with 422 and a code."""

from __future__ import annotations

from typing import Any

import pytest

from ..web_harness import ADMIN_KEY, Harness

BAD = {"nul": "ab\x00cd", "control": "ab\x07cd", "newline": "two\nlines", "edge_space": " padded"}


def _order(harness: Harness, **fields: Any) -> Any:
    body = {"merchant_order_no": "TXT-1", "amount": 100, "description": "goods", **fields}
    return harness.api.post("/v1/orders", headers=harness.merchant, json=body)


@pytest.mark.parametrize("field", ["description", "attach", "payer_openid", "merchant_order_no"])
@pytest.mark.parametrize("kind", sorted(BAD))
def test_order_text_with_control_characters_is_422(harness: Harness, field: str, kind: str) -> None:
    answer = _order(harness, **{field: BAD[kind]})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] in (f"invalid_{field}", "invalid_request")  # use case or schema


@pytest.mark.parametrize("field", ["description", "attach"])
def test_lengths_are_utf8_bytes_as_wechat_counts_them(harness: Harness, field: str) -> None:
    """Before: 127 Chinese characters passed (127 characters), then WeChat refused 381 bytes: a 502 at payment."""
    too_long = _order(harness, merchant_order_no=f"{field}-1", **{field: "好" * 43})  # 129 bytes
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == f"invalid_{field}", too_long.text
    fits = _order(harness, merchant_order_no=f"{field}-2", **{field: "好" * 42}).json()  # 126 bytes
    for api in ("v3", "v2"):
        paid = harness.api.post(f"/v1/orders/{fits['id']}/payments", headers=harness.merchant,
                                json={"channel": "native", "api": api})  # fmt: skip
        assert paid.status_code == 201, paid.text


def test_a_v2_payment_of_an_accepted_order_never_fails_on_its_text(harness: Harness) -> None:
    """Before: a control character passed order creation, then every v2 payment start was a 500."""
    answer = _order(harness, description="bell\x07")
    assert answer.status_code == 422


@pytest.mark.parametrize("kind", sorted(BAD))
def test_refund_reason_and_number_refuse_control_characters(harness: Harness, kind: str) -> None:
    order = _order(harness, merchant_order_no=f"R-{kind}").json()
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native"}).json()  # fmt: skip
    harness.pay(payment)
    harness.deliver()
    for body in ({"merchant_refund_no": "OK-1", "amount": 10, "reason": BAD[kind]},
                 {"merchant_refund_no": BAD[kind], "amount": 10}):
        answer = harness.api.post(f"/v1/orders/{order['id']}/refunds", headers=harness.merchant, json=body)
        assert answer.status_code == 422, answer.text
    assert harness.order(order["id"])["refunds"] == []


def test_console_search_refuses_a_nul(harness: Harness) -> None:
    login = harness.api.post("/console/login", data={"api_key": ADMIN_KEY})
    harness.api.cookies.set("weipay_console", login.cookies["weipay_console"], path="/console")
    assert harness.api.get("/console/", params={"q": "abc\x00"}).status_code == 422
    assert harness.api.get("/console/", params={"q": "abc"}).status_code == 200


@pytest.mark.parametrize("openid", ["o abc<def", "o" * 129, "oé-not-ascii"])
def test_an_openid_outside_wechats_alphabet_is_422_at_order_and_payment(harness: Harness, openid: str) -> None:
    """Before: the order was accepted, then a v2 payment start was a 500 and v3 sent WeChat what it refuses."""
    answer = _order(harness, merchant_order_no=f"OID-{len(openid)}", payer_openid=openid)
    assert answer.status_code == 422 and answer.json()["error"]["code"] in ("invalid_payer_openid", "invalid_request")
    order = _order(harness, merchant_order_no=f"OID2-{len(openid)}").json()
    started = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "miniprogram", "api": "v2", "payer_openid": openid})  # fmt: skip
    assert started.status_code == 422, started.text
    assert harness.order(order["id"])["attempts"] == []
