"""A restart loses nothing; mini-program login (jscode2session) answers as WeChat does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from weipay.simulator.clock import ManualClock
from weipay.simulator.core import SimRequest, Simulator
from weipay.simulator.transport import SimulatorTransport

from .conftest import BASE_URL, V3Merchant
from .test_v3_lifecycle import order_body


def test_restart_loses_nothing(merchant: V3Merchant, sim: Simulator, bundle_dir: Path, clock: ManualClock,
                               notify_handler: dict[str, Any]) -> None:
    notify_handler["handler"] = lambda request: httpx.Response(500)  # the merchant is down
    assert merchant.request("POST", "/v3/pay/transactions/native", order_body(sim, "native", "RS-000001")
                            ).status_code == 200
    order = sim.ledger.order(sim.mchid, "RS-000001")
    assert order is not None
    paid = sim.pay(order)
    sim.tick()
    refund = merchant.request("POST", "/v3/refund/domestic/refunds", {
        "out_trade_no": "RS-000001", "out_refund_no": "RS-R1",
        "amount": {"refund": 10, "total": 100, "currency": "CNY"}})
    assert refund.json()["status"] == "PROCESSING"
    sim.close()

    received: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        request.read()
        received.append(request)
        return httpx.Response(204)

    clock.advance(15)
    restarted = Simulator(bundle_dir, clock=clock, notify_transport=httpx.MockTransport(accept))
    try:
        again = restarted.ledger.order(restarted.mchid, "RS-000001")
        assert again is not None and again.transaction_id == paid["transaction_id"] and again.state == "SUCCESS"
        pending = restarted.ledger.notifications()
        assert [(n.kind, n.state, n.attempt) for n in pending] == [("payment", "pending", 1)]
        restarted.tick()  # the payment retry is due, and the refund finished while we were down
        kinds = sorted(n.kind for n in restarted.ledger.notifications())
        assert kinds == ["payment", "refund"]
        assert len(received) == 2
        assert {n.state for n in restarted.ledger.notifications()} == {"delivered"}
        with httpx.Client(transport=SimulatorTransport(restarted)) as client:
            merchant.client = client
            assert merchant.request("GET", "/v3/refund/domestic/refunds/RS-R1").json()["status"] == "SUCCESS"
    finally:
        restarted.close()


def test_scaled_clock_resumes_after_restart(bundle_dir: Path) -> None:
    first = Simulator(bundle_dir, time_scale=1_000_000)
    later = first.now()
    first.close()
    second = Simulator(bundle_dir, time_scale=1.0)
    try:
        assert second.now() >= later  # simulated time never runs backwards
    finally:
        second.close()


def _session(sim: Simulator, **params: str) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = sim.handle(SimRequest("GET", "/sns/jscode2session", query))
    assert response.status == 200
    import json

    answer: dict[str, Any] = json.loads(response.body)
    return answer


def _mint(sim: Simulator, **body: str) -> dict[str, Any]:
    with httpx.Client(transport=SimulatorTransport(sim)) as client:
        response = client.post(f"{BASE_URL}/simulator/login-codes", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_jscode2session(sim: Simulator, clock: ManualClock) -> None:
    appid = sim.account["appids"]["miniprogram"]
    secret = sim.account["app_secrets"]["miniprogram"]
    good = {"appid": appid, "secret": secret, "grant_type": "authorization_code"}
    minted = _mint(sim, appid=appid, user="alice")
    session = _session(sim, **good, js_code=minted["code"])
    assert session["openid"] == minted["openid"] == sim.openid_for(appid, "alice")
    assert len(session["session_key"]) == 24 and "errcode" not in session
    assert _session(sim, **good, js_code=minted["code"])["errcode"] == 40163  # used
    assert _session(sim, **good, js_code="made-up")["errcode"] == 40029
    again = _mint(sim, appid=appid, user="alice")
    assert again["openid"] == minted["openid"] and again["code"] != minted["code"]  # stable openid per user
    bob = _mint(sim, appid=appid, user="bob")
    assert bob["openid"] != minted["openid"]
    assert _session(sim, **{**good, "secret": "wrong"}, js_code=bob["code"])["errcode"] == 40125
    assert _session(sim, **{**good, "appid": "wx0000000000000000"}, js_code=bob["code"])["errcode"] == 40013
    assert _session(sim, **{**good, "grant_type": "code"}, js_code=bob["code"])["errcode"] == 40002
    other_app = sim.account["appids"]["app"]
    foreign = _mint(sim, appid=other_app, user="alice")
    assert foreign["openid"] != minted["openid"]  # openids are per app
    assert _session(sim, **good, js_code=foreign["code"])["errcode"] == 40029
    stale = _mint(sim, appid=appid, user="carol")
    clock.advance(301)
    error = _session(sim, **good, js_code=stale["code"])
    assert error["errcode"] == 40029 and "rid:" in error["errmsg"]
    assert secret not in str(error)


@pytest.mark.parametrize("body", [{"appid": "wx0000000000000000"}, {"user": ""}])
def test_login_code_minting_errors(sim: Simulator, body: dict[str, str]) -> None:
    with httpx.Client(transport=SimulatorTransport(sim)) as client:
        response = client.post(f"{BASE_URL}/simulator/login-codes", json=body)
    assert response.status_code == 400 and response.json()["code"] == "PARAM_ERROR"


def test_control_api_errors(sim: Simulator) -> None:
    with httpx.Client(transport=SimulatorTransport(sim)) as client:
        assert client.post(f"{BASE_URL}/simulator/payments", json={}).status_code == 400
        assert client.post(f"{BASE_URL}/simulator/payments", json={"prepay_id": "wx_nope"}).status_code == 404
        assert client.post(f"{BASE_URL}/simulator/payments", content=b"{").status_code == 400
        assert client.post(f"{BASE_URL}/simulator/payments", json={"prepay_id": "x", "outcome": "maybe"}
                           ).status_code == 400
        assert client.get(f"{BASE_URL}/simulator/nothing").status_code == 404
        assert client.get(f"{BASE_URL}/simulator/payments").status_code == 405
        assert client.get(f"{BASE_URL}/nowhere").json()["code"] == "NOT_FOUND"
        # /secapi/ needs the client certificate: refused on the plain port, passed through with mtls.
        assert client.post(f"{BASE_URL}/secapi/pay/refund", content=b"<xml/>").status_code == 403
    with httpx.Client(transport=SimulatorTransport(sim, mtls=True)) as secure:
        assert secure.post(f"{BASE_URL}/secapi/pay/refund", content=b"<xml/>").status_code != 403


@pytest.mark.parametrize("status", ["ABNORMAL", "CLOSED"])
def test_forced_refund_outcome_is_notified(merchant: V3Merchant, sim: Simulator, notify_log: list[httpx.Request],
                                           status: str) -> None:
    import json

    from weipay.sdk.crypto import aes_gcm_decrypt

    assert merchant.request("POST", "/v3/pay/transactions/native", order_body(sim, "native", "FORCE-0001")
                            ).status_code == 200
    order = sim.ledger.order(sim.mchid, "FORCE-0001")
    assert order is not None
    sim.pay(order)
    before = sim.ledger.balance(sim.mchid)
    merchant.request("POST", "/v3/refund/domestic/refunds", {
        "out_trade_no": "FORCE-0001", "out_refund_no": "FORCE-R1", "amount": {"refund": 10, "total": 100,
                                                                             "currency": "CNY"}})
    forced = merchant.client.post(f"{BASE_URL}/simulator/refunds", json={"out_refund_no": "FORCE-R1",
                                                                         "status": status})
    assert forced.json()["status"] == status
    again = merchant.client.post(f"{BASE_URL}/simulator/refunds", json={"out_refund_no": "FORCE-R1"})
    assert again.status_code == 409
    sim.tick()
    envelope = json.loads(notify_log[-1].content)
    assert envelope["event_type"] == f"REFUND.{status}"
    resource = envelope["resource"]
    plain = json.loads(aes_gcm_decrypt(sim.account["apiv3_key"].encode(), resource["nonce"],
                                       resource["associated_data"], resource["ciphertext"]))
    assert plain["refund_status"] == status and "success_time" not in plain
    # A closed refund gives the money back; an abnormal one keeps it out (WeChat resolves it offline).
    assert sim.ledger.balance(sim.mchid) == (before if status == "CLOSED" else (before[0] - 10, before[1]))


def test_orders_ground_truth(merchant: V3Merchant, sim: Simulator) -> None:
    for number in ("GT-000001", "GT-000002"):
        assert merchant.request("POST", "/v3/pay/transactions/native", order_body(sim, "native", number, total=300)
                                ).status_code == 200
    order = sim.ledger.order(sim.mchid, "GT-000001")
    assert order is not None
    sim.pay(order)
    merchant.request("POST", "/v3/refund/domestic/refunds", {
        "out_trade_no": "GT-000001", "out_refund_no": "GT-R1", "amount": {"refund": 120, "total": 300,
                                                                          "currency": "CNY"}})
    everything = merchant.client.get(f"{BASE_URL}/simulator/orders").json()
    assert {o["out_trade_no"]: o["state"] for o in everything["orders"]} == {"GT-000001": "SUCCESS",
                                                                             "GT-000002": "NOTPAY"}
    assert everything["unsettled_fen"] == 180
    one = merchant.client.get(f"{BASE_URL}/simulator/orders?out_trade_no=GT-000001").json()["orders"]
    assert [r["amount_fen"] for r in one[0]["refunds"]] == [120]
    unpaid = merchant.client.get(f"{BASE_URL}/simulator/orders?state=NOTPAY").json()["orders"]
    assert [o["out_trade_no"] for o in unpaid] == ["GT-000002"]
