"""API v3 end to end through the in-process transport: raw httpx signed with our primitives, and weipay.sdk.Client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from weipay.sdk import Client, MerchantCredentials
from weipay.sdk.crypto import aes_gcm_decrypt
from weipay.sdk.errors import SignatureError
from weipay.sdk.v3 import notify as v3_notify
from weipay.sdk.v3.verifier import SignedHeaders
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport

from .conftest import BASE_URL, V3Merchant

NOTIFY_URL = "http://127.0.0.1:9/notify/wechatpay/v3/1900000109"
pytestmark = pytest.mark.parametrize("verification", ["public_key", "platform_certificate"], indirect=True)


def order_body(sim: Simulator, channel: str, out_trade_no: str, total: int = 100, **extra: Any) -> dict[str, Any]:
    kind = {"jsapi": "miniprogram", "app": "app", "h5": "official_account", "native": "official_account"}[channel]
    appid = sim.account["appids"][kind]
    body: dict[str, Any] = {"appid": appid, "mchid": sim.mchid, "description": "Image形象店-深圳腾大-QQ公仔",
                            "out_trade_no": out_trade_no, "notify_url": NOTIFY_URL,
                            "amount": {"total": total, "currency": "CNY"}, **extra}
    if channel == "jsapi":
        body["payer"] = {"openid": sim.openid_for(appid, "alice")}
    if channel == "h5":
        body["scene_info"] = {"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}}
    return body


def receiver(merchant: V3Merchant, api_v3_key: bytes, received: list[dict[str, Any]]) -> Any:
    """A merchant notify endpoint: verify the signature, decrypt, answer 204 (401 when the signature fails)."""

    def handle(request: httpx.Request) -> httpx.Response:
        try:
            merchant.verifier.verify(SignedHeaders.from_headers(request.headers), request.content)
        except SignatureError:
            return httpx.Response(401, json={"code": "FAIL", "message": "bad signature"})
        envelope = json.loads(request.content)
        resource = envelope["resource"]
        plaintext = aes_gcm_decrypt(api_v3_key, resource["nonce"], resource["associated_data"], resource["ciphertext"])
        received.append({"event_type": envelope["event_type"], "serial": request.headers["wechatpay-serial"],
                         **json.loads(plaintext)})
        return httpx.Response(204)

    return handle


def test_v3_lifecycle(sim: Simulator, merchant: V3Merchant, clock: ManualClock, notify_handler: dict[str, Any],
                      verification: str) -> None:
    received: list[dict[str, Any]] = []
    notify_handler["handler"] = receiver(merchant, sim.account["apiv3_key"].encode(), received)

    answers = {}
    for channel in ("jsapi", "app", "h5", "native"):
        body = order_body(sim, channel, f"T-{channel}-1")
        response = merchant.request("POST", f"/v3/pay/transactions/{channel}", body)
        assert response.status_code == 200, response.text
        merchant.verify(response)
        expected_serial = (sim.account["wechatpay_public_key_id"] if verification == "public_key"
                           else sim.account["platform_serial_no"])
        assert response.headers["wechatpay-serial"] == expected_serial
        assert response.headers["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048"
        assert response.headers["request-id"]
        answers[channel] = response.json()
    assert answers["jsapi"]["prepay_id"].startswith("wx") and len(answers["jsapi"]["prepay_id"]) == 36
    assert answers["app"]["prepay_id"] != answers["jsapi"]["prepay_id"]
    assert answers["native"]["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    h5_url = answers["h5"]["h5_url"]
    assert "/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx" in h5_url and "&package=" in h5_url

    # Re-entry with the same parameters returns the same prepay_id; different parameters are refused.
    again = merchant.request("POST", "/v3/pay/transactions/jsapi", order_body(sim, "jsapi", "T-jsapi-1"))
    assert again.json() == answers["jsapi"]
    changed = merchant.request("POST", "/v3/pay/transactions/jsapi", order_body(sim, "jsapi", "T-jsapi-1", total=101))
    assert changed.status_code == 400 and changed.json()["code"] == "INVALID_REQUEST"

    # Pay each order as a user: JSAPI by prepay_id, Native by code_url, APP and H5 by out_trade_no.
    control = merchant.client
    paid = control.post(f"{BASE_URL}/simulator/payments", json={"prepay_id": answers["jsapi"]["prepay_id"]}).json()
    assert paid["trade_state"] == "SUCCESS" and paid["transaction_id"].startswith("42000")
    assert control.post(f"{BASE_URL}/simulator/payments",
                        json={"code_url": answers["native"]["code_url"], "outcome": "success"}).status_code == 200
    cancelled = control.post(f"{BASE_URL}/simulator/payments",
                             json={"mchid": sim.mchid, "out_trade_no": "T-app-1", "outcome": "cancel"}).json()
    assert cancelled["trade_state"] == "NOTPAY"
    twice = control.post(f"{BASE_URL}/simulator/payments", json={"prepay_id": answers["jsapi"]["prepay_id"]})
    assert twice.status_code == 409 and twice.json()["code"] == "ORDERPAID"

    sim.tick()
    assert [n["out_trade_no"] for n in received] == ["T-jsapi-1", "T-native-1"]
    first = received[0]
    assert first["event_type"] == "TRANSACTION.SUCCESS"
    assert first["trade_state"] == "SUCCESS" and first["transaction_id"] == paid["transaction_id"]
    assert first["amount"] == {"total": 100, "currency": "CNY", "payer_total": 100, "payer_currency": "CNY"}
    assert first["serial"] == expected_serial
    log = control.get(f"{BASE_URL}/simulator/notifications").json()
    assert {n["state"] for n in log["notifications"]} == {"delivered"}
    assert all(d["status"] == 204 for d in log["deliveries"])

    # Queries by out_trade_no and by transaction_id agree; an unpaid order has no transaction_id.
    by_no = merchant.request("GET", f"/v3/pay/transactions/out-trade-no/T-jsapi-1?mchid={sim.mchid}")
    merchant.verify(by_no)
    by_id = merchant.request("GET", f"/v3/pay/transactions/id/{paid['transaction_id']}?mchid={sim.mchid}")
    assert by_no.json() == by_id.json()
    assert by_no.json()["trade_state"] == "SUCCESS"
    unpaid = merchant.request("GET", f"/v3/pay/transactions/out-trade-no/T-app-1?mchid={sim.mchid}").json()
    assert unpaid["trade_state"] == "NOTPAY" and "transaction_id" not in unpaid
    missing = merchant.request("GET", f"/v3/pay/transactions/out-trade-no/NOSUCH-1?mchid={sim.mchid}")
    assert missing.status_code == 404 and missing.json()["code"] == "ORDER_NOT_EXIST"

    # Close: 204 signed with an empty body; a paid order cannot be closed; a closed one cannot be re-ordered.
    closed = merchant.request("POST", "/v3/pay/transactions/out-trade-no/T-app-1/close", {"mchid": sim.mchid})
    assert closed.status_code == 204 and closed.content == b""
    merchant.verify(closed)
    reorder = merchant.request("POST", "/v3/pay/transactions/app", order_body(sim, "app", "T-app-1"))
    assert reorder.status_code == 400 and reorder.json()["code"] == "ORDER_CLOSED"
    no_close = merchant.request("POST", "/v3/pay/transactions/out-trade-no/T-jsapi-1/close", {"mchid": sim.mchid})
    assert no_close.status_code == 400 and no_close.json()["code"] == "ORDERPAID"

    # Refund: PROCESSING now, over-refund refused, SUCCESS after the simulated delay, then a notification.
    refund_body = {"out_trade_no": "T-jsapi-1", "out_refund_no": "R-1", "reason": "不想要了",
                   "notify_url": NOTIFY_URL, "amount": {"refund": 60, "total": 100, "currency": "CNY"}}
    refund = merchant.request("POST", "/v3/refund/domestic/refunds", refund_body)
    assert refund.status_code == 200, refund.text
    merchant.verify(refund)
    assert refund.json()["status"] == "PROCESSING"
    assert refund.json()["transaction_id"] == paid["transaction_id"]
    assert merchant.request("POST", "/v3/refund/domestic/refunds", refund_body).json()["refund_id"] == \
        refund.json()["refund_id"]
    over = merchant.request("POST", "/v3/refund/domestic/refunds",
                            {**refund_body, "out_refund_no": "R-2", "amount": {"refund": 41, "total": 100,
                                                                                "currency": "CNY"}})
    assert over.status_code == 400 and over.json()["code"] == "INVALID_REQUEST"
    unpaid_refund = merchant.request("POST", "/v3/refund/domestic/refunds",
                                     {**refund_body, "out_trade_no": "T-app-1", "out_refund_no": "R-3"})
    assert unpaid_refund.status_code == 404 and unpaid_refund.json()["code"] == "RESOURCE_NOT_EXISTS"

    sim.tick()
    assert merchant.request("GET", "/v3/refund/domestic/refunds/R-1").json()["status"] == "PROCESSING"
    clock.advance(sim.refund_processing_s + 0.1)
    sim.tick()
    done = merchant.request("GET", "/v3/refund/domestic/refunds/R-1")
    merchant.verify(done)
    assert done.json()["status"] == "SUCCESS" and "success_time" in done.json()
    assert received[-1]["event_type"] == "REFUND.SUCCESS"
    assert received[-1]["refund_status"] == "SUCCESS" and received[-1]["amount"]["refund"] == 60
    after = merchant.request("GET", f"/v3/pay/transactions/out-trade-no/T-jsapi-1?mchid={sim.mchid}").json()
    assert after["trade_state"] == "REFUND"
    assert merchant.request("GET", "/v3/refund/domestic/refunds/NOPE").status_code == 404


def test_response_key_follows_request_serial(sim: Simulator, merchant: V3Merchant, verification: str) -> None:
    """A request naming the public key id gets a public-key signature; otherwise the account's mode decides."""
    merchant.send_serial = sim.account["wechatpay_public_key_id"]
    with_id = merchant.request("GET", f"/v3/pay/transactions/out-trade-no/NONE-01?mchid={sim.mchid}")
    assert with_id.headers["wechatpay-serial"] == sim.account["wechatpay_public_key_id"]
    merchant.verify(with_id)
    merchant.send_serial = sim.account["platform_serial_no"]
    with_cert = merchant.request("GET", f"/v3/pay/transactions/out-trade-no/NONE-01?mchid={sim.mchid}")
    expected = (sim.account["wechatpay_public_key_id"] if verification == "public_key"
                else sim.account["platform_serial_no"])
    assert with_cert.headers["wechatpay-serial"] == expected
    merchant.verify(with_cert)


def test_sdk_client_against_simulator(sim: Simulator, bundle_dir: Any, clock: ManualClock,
                                      notify_handler: dict[str, Any], verification: str) -> None:
    """weipay.sdk.Client drives the simulator in-process and accepts its notifications."""
    from weipay.sdk import v3

    credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")
    notifications: list[Any] = []
    with Client(credentials, transport=SimulatorTransport(sim), base_url=BASE_URL, clock=clock) as client:
        notify_handler["handler"] = lambda request: (
            notifications.append(client.v3_notification(dict(request.headers), request.content)),
            httpx.Response(204),
        )[1]
        appid = sim.account["appids"]["app"]
        prepay = client.call(v3.CreateOrder(channel="app", appid=appid, description="会员",
                                            out_trade_no="SDK-0001", amount_fen=250, notify_url=NOTIFY_URL))
        order = sim.ledger.order(sim.mchid, "SDK-0001")
        assert order is not None and order.prepay_id == prepay.prepay_id
        sim.pay(order)
        sim.tick()
        assert len(notifications) == 1
        assert isinstance(notifications[0], v3_notify.TransactionNotification)
        assert notifications[0].transaction.out_trade_no == "SDK-0001"
        queried = client.call(v3.QueryOrder(out_trade_no="SDK-0001"))
        assert queried.trade_state == "SUCCESS"
        client.call(v3.CloseOrder(out_trade_no="NEVER-001"))  # unknown orders close silently, 204 verified


def test_sdk_async_client_against_simulator(sim: Simulator, bundle_dir: Any, clock: ManualClock,
                                            verification: str) -> None:
    """weipay.sdk.AsyncClient drives the same core through the transport's async side."""
    import asyncio

    from weipay.sdk import AsyncClient, v3

    credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")

    async def run() -> str:
        async with AsyncClient(credentials, transport=SimulatorTransport(sim), base_url=BASE_URL,
                               clock=clock) as client:
            appid = sim.account["appids"]["miniprogram"]
            await client.call(v3.CreateOrder(channel="jsapi", appid=appid, description="异步", out_trade_no="ASYNC-001",
                                             amount_fen=88, notify_url=NOTIFY_URL,
                                             payer_openid=sim.openid_for(appid, "dora")))
            order = sim.ledger.order(sim.mchid, "ASYNC-001")
            assert order is not None
            sim.pay(order)
            queried = await client.call(v3.QueryOrder(out_trade_no="ASYNC-001"))
            return str(queried.trade_state)

    assert asyncio.run(run()) == "SUCCESS"
