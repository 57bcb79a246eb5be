"""Notify endpoints: verified messages applied once; forged, tampered, oversized or probing ones refused."""

from __future__ import annotations

import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from weipay.sdk.v3.wechat_side import encrypt_resource
from weipay.simulator.wechat_keys import signed_headers

from ..web_harness import MCHID, Harness


def replay(harness: Harness, request: httpx.Request, *, content: bytes | None = None,
           headers: dict[str, str] | None = None) -> httpx.Response:
    override = {k.lower(): v for k, v in (headers or {}).items()}
    sent = {k.lower(): v for k, v in request.headers.items() if k.lower() not in ("content-length", "host")}
    return harness.api.post(request.url.path, content=request.content if content is None else content,
                            headers={**sent, **override})


def anomalies(harness: Harness) -> list[Any]:
    with harness.app.state.services.uow.read() as tx:
        return list(tx.anomalies.list())


def test_genuine_notification_is_204_and_applied(harness: Harness) -> None:
    order, request = harness.captured_payment()
    response = replay(harness, request)
    assert response.status_code == 204 and response.content == b""
    assert harness.order(order["id"])["status"] == "paid"


@pytest.mark.parametrize(("api", "success"), [("v3", 204), ("v2", 200)])
def test_fifty_concurrent_duplicates_make_one_transition(harness: Harness, api: str, success: int) -> None:
    order, request = harness.captured_payment(api=api)
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: replay(harness, request).status_code, range(50)))
    assert statuses == [success] * 50
    with harness.app.state.services.uow.read() as tx:
        stored = tx.notifications.for_out_trade_nos(
            harness.account["mchid"], [harness.order(order["id"])["attempts"][0]["out_trade_no"]]
        )
        current = tx.orders.get(order["id"])
    assert len(stored) == 1
    assert current is not None and current.paid_fen == 1234 and current.status == "paid"


def test_tampered_body_is_refused_stored_as_anomaly_and_changes_nothing(harness: Harness) -> None:
    order, request = harness.captured_payment()
    body = json.loads(request.content)
    body["resource"]["ciphertext"] = body["resource"]["ciphertext"][:-4] + "AAAA"
    response = replay(harness, request, content=json.dumps(body, separators=(",", ":")).encode())
    assert response.status_code == 401
    assert response.json() == {"code": "FAIL", "message": "signature did not verify"}
    assert harness.order(order["id"])["status"] == "pending"
    assert any(a.kind == "unverifiable_v3_notification" for a in anomalies(harness))


def test_signtest_probe_stale_timestamp_and_missing_headers(harness: Harness) -> None:
    order, request = harness.captured_payment()
    probe = replay(harness, request, headers={"Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + "A" * 100})
    assert probe.status_code == 401
    stale = replay(harness, request, headers={"Wechatpay-Timestamp": str(int(harness.clock()) - 301)})
    assert stale.status_code == 401
    bare = harness.api.post(request.url.path, content=request.content, headers={"Content-Type": "application/json"})
    assert bare.status_code == 401 and bare.json()["code"] == "FAIL"
    assert harness.order(order["id"])["status"] == "pending"


def test_validly_signed_but_wrong_amount_is_an_anomaly_without_state_change(harness: Harness) -> None:
    order, request = harness.captured_payment()
    out_trade_no = harness.order(order["id"])["attempts"][0]["out_trade_no"]
    resource = {
        "appid": harness.appid("official_account"), "mchid": MCHID, "out_trade_no": out_trade_no,
        "transaction_id": "4200000000000000000000000001", "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "trade_state_desc": "ok", "bank_type": "OTHERS", "success_time": "2026-11-23T09:20:00+08:00",
        "payer": {"openid": "o-x"}, "amount": {"total": 1, "payer_total": 1, "currency": "CNY"},
    }  # fmt: skip
    envelope = {
        "id": "EV-forged-amount", "create_time": "2026-11-23T09:20:00+08:00", "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS", "summary": "ok",
        "resource": encrypt_resource(harness.account["apiv3_key"].encode(), "transaction", "transaction",
                                     json.dumps(resource).encode(), secrets.token_hex(6)),
    }  # fmt: skip
    body = json.dumps(envelope, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", **signed_headers(harness.sim, body, public_key=True)}
    response = harness.api.post(request.url.path, content=body, headers=headers)
    assert response.status_code == 204  # verified and durably recorded as an anomaly: no need for retries
    assert harness.order(order["id"])["status"] == "pending"
    assert any(a.kind == "notification_mismatch" for a in anomalies(harness))


def test_oversized_body_is_413_and_unknown_merchant_404(harness: Harness) -> None:
    too_big = harness.api.post(f"/notify/wechatpay/v3/{MCHID}", content=b"x" * (64 * 1024 + 1))
    assert too_big.status_code == 413 and too_big.json()["code"] == "FAIL"
    too_big_v2 = harness.api.post(f"/notify/wechatpay/v2/{MCHID}", content=b"<xml>" + b"x" * 70000)
    assert too_big_v2.status_code == 413 and b"FAIL" in too_big_v2.content
    unknown = harness.api.post("/notify/wechatpay/v3/1999999999", content=b"{}")
    assert unknown.status_code == 404 and unknown.json()["code"] == "FAIL"
    unknown_v2 = harness.api.post("/notify/wechatpay/v2/1999999999", content=b"<xml></xml>")
    assert unknown_v2.status_code == 404 and b"FAIL" in unknown_v2.content


def test_v2_genuine_tampered_and_hostile(harness: Harness) -> None:
    order, request = harness.captured_payment(api="v2")
    tampered = replay(harness, request, content=request.content.replace(b"<total_fee>1234", b"<total_fee>1"))
    assert tampered.status_code == 401 and b"<return_code>FAIL</return_code>" in tampered.content
    hostile = replay(harness, request, content=b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                                               b'"file:///etc/passwd">]><xml><a>&e;</a></xml>')
    assert 400 <= hostile.status_code < 500 and b"FAIL" in hostile.content
    assert harness.order(order["id"])["status"] == "pending"
    genuine = replay(harness, request)
    assert genuine.status_code == 200 and b"SUCCESS" in genuine.content
    assert harness.order(order["id"])["status"] == "paid"
    again = replay(harness, request)
    assert again.status_code == 200 and b"SUCCESS" in again.content


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_a_notification_the_database_cannot_take_is_500_fail_and_applied_on_redelivery(
    harness: Harness, api: str
) -> None:
    order, request = harness.captured_payment(api=api)
    engine = harness.app.state.services.uow.engine
    with engine.begin() as conn:  # the call log becomes unwritable: the whole transaction must fail
        conn.exec_driver_sql("ALTER TABLE call_log RENAME TO call_log_away")
    try:
        refused = replay(harness, request)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE call_log_away RENAME TO call_log")
    assert refused.status_code == 500 and b"FAIL" in refused.content
    assert harness.order(order["id"])["status"] == "pending"  # nothing of it was committed
    accepted = replay(harness, request)
    assert accepted.status_code == (204 if api == "v3" else 200)
    assert harness.order(order["id"])["status"] == "paid"
