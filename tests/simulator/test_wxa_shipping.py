"""The mini-program platform: stable tokens, upload_shipping_info rules and errcodes, order states, frozen funds,
confirm receipt and the signed trade_manage_order_settlement message. Driven through weipay.sdk's own calls
(``call_with_access_token``) and raw httpx where the SDK would refuse to send."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from weipay.sdk import Client, MemoryTokenCache, MerchantCredentials, call_with_access_token
from weipay.sdk import v3 as sdk_v3
from weipay.sdk.errors import WeChatRefused
from weipay.sdk.shipping import (
    Contact,
    DeliveryMode,
    GetShippingOrder,
    GetShippingOrderList,
    IsTradeManaged,
    LogisticsType,
    NotifyConfirmReceive,
    OrderKey,
    OrderState,
    ShippingItem,
    UploadShippingInfo,
    parse_settlement_event,
)
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.transport import SimulatorTransport

from .conftest import BASE_URL

MESSAGE_URL = "https://merchant.example/notify/wxa/1900000109"
MESSAGE_TOKEN = "Sim-Message-Token-1"


@pytest.fixture
def client(sim: Simulator, bundle_dir: Path, clock: ManualClock) -> Iterator[Client]:
    credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")
    with Client(credentials, transport=SimulatorTransport(sim), base_url=BASE_URL, login_base_url=BASE_URL,
                clock=clock) as built:
        yield built


@pytest.fixture
def raw(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=SimulatorTransport(sim), base_url=BASE_URL) as built:
        yield built


def _paid(sim: Simulator, client: Client, out_trade_no: str, *, kind: str = "miniprogram",
          amount_fen: int = 300) -> tuple[str, str]:
    """A paid JSAPI order of app ``kind``: (transaction_id, payer openid)."""
    appid = sim.account["appids"][kind]
    openid = sim.openid_for(appid, "alice")
    client.call(sdk_v3.CreateOrder(channel="jsapi", appid=appid, description="咖啡豆 250 g", out_trade_no=out_trade_no,
                                   amount_fen=amount_fen, notify_url="https://merchant.example/n", payer_openid=openid))
    order = sim.ledger.order(sim.mchid, out_trade_no)
    assert order is not None
    paid = sim.pay(order, openid=openid)
    return str(paid["transaction_id"]), openid


def _token(raw: httpx.Client, sim: Simulator, **extra: Any) -> httpx.Response:
    body = {"grant_type": "client_credential", "appid": sim.account["appids"]["miniprogram"],
            "secret": sim.account["app_secrets"]["miniprogram"], **extra}
    return raw.post("/cgi-bin/stable_token", json=body)


def _upload(sim: Simulator, transaction_id: str, openid: str, **overrides: Any) -> UploadShippingInfo:
    values: dict[str, Any] = {
        "appid": sim.account["appids"]["miniprogram"], "order_key": OrderKey(transaction_id=transaction_id),
        "logistics_type": LogisticsType.EXPRESS, "payer_openid": openid,
        "shipping_list": (ShippingItem("咖啡豆 250 g", tracking_no="YT0001", express_company="YTO"),),
    }
    values.update(overrides)
    return UploadShippingInfo(**values)


def test_stable_token_rules(sim: Simulator, raw: httpx.Client, clock: ManualClock) -> None:
    first = _token(raw, sim).json()
    assert first["expires_in"] == 7200 and "errcode" not in first
    clock.advance(1000)
    again = _token(raw, sim).json()
    assert again["access_token"] == first["access_token"] and again["expires_in"] == 6200
    clock.advance(6000)  # 200 s left: the next token is handed out, the old one still works until it expires
    rotated = _token(raw, sim).json()
    assert rotated["access_token"] != first["access_token"] and rotated["expires_in"] == 7200
    appid = sim.account["appids"]["miniprogram"]
    managed = raw.post(f"/wxa/sec/order/is_trade_managed?access_token={first['access_token']}", json={"appid": appid})
    assert managed.json() == {"errcode": 0, "errmsg": "ok", "is_trade_managed": True}
    clock.advance(300)
    expired = raw.post(f"/wxa/sec/order/is_trade_managed?access_token={first['access_token']}", json={"appid": appid})
    assert expired.json()["errcode"] == 42001
    forced = _token(raw, sim, force_refresh=True).json()
    revoked = raw.post(f"/wxa/sec/order/is_trade_managed?access_token={rotated['access_token']}",
                       json={"appid": appid})
    assert forced["access_token"] != rotated["access_token"] and revoked.json()["errcode"] == 40001
    assert _token(raw, sim, force_refresh=True).json()["errcode"] == 45011  # 30 s apart
    assert _token(raw, sim, secret="wrong").json()["errcode"] == 40125
    assert _token(raw, sim, appid="wx0000000000000000").json()["errcode"] == 40013
    assert _token(raw, sim, grant_type="password").json()["errcode"] == 40002
    assert raw.post("/wxa/sec/order/get_order", json={}).json()["errcode"] == 41001


def test_forced_refreshes_are_limited_per_day(sim: Simulator, raw: httpx.Client, clock: ManualClock) -> None:
    for _ in range(20):
        assert "access_token" in _token(raw, sim, force_refresh=True).json()
        clock.advance(31)
    assert _token(raw, sim, force_refresh=True).json()["errcode"] == 45009


def test_express_upload_confirm_and_settle(sim: Simulator, client: Client, raw: httpx.Client, clock: ManualClock,
                                           notify_log: list[httpx.Request], notify_handler: dict[str, Any]) -> None:
    notify_handler["handler"] = lambda request: httpx.Response(200, text="success")
    appid = sim.account["appids"]["miniprogram"]
    raw.put("/simulator/wxa", json={"message_url": MESSAGE_URL, "message_token": MESSAGE_TOKEN}).raise_for_status()
    tokens = MemoryTokenCache()
    transaction_id, openid = _paid(sim, client, "SHIP-1")
    key = OrderKey(transaction_id=transaction_id)
    assert call_with_access_token(client, IsTradeManaged(appid), tokens) is True
    before = call_with_access_token(client, GetShippingOrder(appid, key), tokens)
    assert before.order_state is OrderState.AWAITING_SHIPMENT and before.paid_amount_fen == 300
    assert raw.get("/simulator/wxa/orders").json()["frozen_fen"] == 300
    call_with_access_token(client, _upload(sim, transaction_id, openid), tokens)
    shipped = call_with_access_token(client, GetShippingOrder(appid, OrderKey(out_trade_no="SHIP-1")), tokens)
    assert shipped.order_state is OrderState.SHIPPED and shipped.shipping is not None
    assert [item.tracking_no for item in shipped.shipping.shipping_list] == ["YT0001"]
    sim.tick()  # the first message: shipped, with the estimated settlement time
    first = parse_settlement_event(notify_log[-1].content)
    assert not first.settled and first.estimated_settlement_time is not None
    delivered_at = shipped.shipping.shipping_list[0].upload_time
    assert delivered_at is not None
    call_with_access_token(client, NotifyConfirmReceive(appid, key, delivered_at), tokens)
    unsettled_before, available_before = sim.ledger.balance(sim.mchid)
    confirmed = raw.post("/simulator/wxa/confirm-receipt", json={"transaction_id": transaction_id})
    assert confirmed.json()["order_state"] == 4
    assert sim.ledger.balance(sim.mchid) == (unsettled_before - 300, available_before + 300)
    assert raw.get("/simulator/wxa/orders").json()["frozen_fen"] == 0
    sim.tick()
    message = notify_log[-1]
    query = parse_qs(urlsplit(str(message.url)).query)
    expected = hashlib.sha1("".join(sorted((MESSAGE_TOKEN, query["timestamp"][0], query["nonce"][0]))).encode())
    assert query["signature"] == [expected.hexdigest()]
    event = parse_settlement_event(message.content)
    assert event.settled and event.merchant_trade_no == "SHIP-1" and event.confirm_receive_method == 2
    deliveries = raw.get("/simulator/notifications").json()["notifications"]
    assert {n["state"] for n in deliveries if n["api"] == "wxa"} == {"delivered"}
    again = raw.post("/simulator/wxa/confirm-receipt", json={"transaction_id": transaction_id})
    assert again.status_code == 409


def test_upload_errcodes(sim: Simulator, client: Client, raw: httpx.Client) -> None:
    tokens = MemoryTokenCache()
    transaction_id, openid = _paid(sim, client, "SHIP-2")
    token = _token(raw, sim).json()["access_token"]

    def upload(**overrides: Any) -> int:
        body = {"order_key": {"order_number_type": 2, "transaction_id": transaction_id}, "logistics_type": 1,
                "delivery_mode": 1, "upload_time": "2026-12-05T10:00:00.000+08:00", "payer": {"openid": openid},
                "shipping_list": [{"tracking_no": "ZT1", "express_company": "ZTO", "item_desc": "茶叶"}]}
        body.update(overrides)
        answer = raw.post(f"/wxa/sec/order/upload_shipping_info?access_token={token}", json=body).json()
        return int(answer["errcode"])

    assert upload(logistics_type=9) == 47001
    assert upload(shipping_list=[{"item_desc": "茶叶"}]) == 47001  # express needs tracking_no and express_company
    assert upload(shipping_list=[{"tracking_no": "SF1", "express_company": "SF", "item_desc": "茶叶"}]) == 47001
    assert upload(delivery_mode=2, logistics_type=3) == 47001  # split delivery is express only
    assert upload(order_key={"order_number_type": 2, "transaction_id": "4200000000000000000000000000"}) == 10060001
    assert upload(payer={"openid": "o-someone-else"}) == 10060031
    assert upload() == 0
    assert upload() == 10060023  # the same information again
    assert upload(shipping_list=[{"tracking_no": "ZT2", "express_company": "ZTO", "item_desc": "茶叶"}]) == 0
    assert upload(shipping_list=[{"tracking_no": "ZT3", "express_company": "ZTO", "item_desc": "茶叶"}]) == 10060003
    with pytest.raises(WeChatRefused) as refused:
        call_with_access_token(client, _upload(sim, transaction_id, openid, shipping_list=(
            ShippingItem("茶叶", tracking_no="ZT4", express_company="ZTO"),)), tokens)
    assert refused.value.code == "RESHIPPING_USED"
    bad = raw.post("/wxa/sec/order/upload_shipping_info?access_token=not-a-token", json={})
    assert bad.json()["errcode"] == 40001


def test_split_delivery_completes_when_all_delivered(sim: Simulator, client: Client) -> None:
    tokens = MemoryTokenCache()
    appid = sim.account["appids"]["miniprogram"]
    transaction_id, openid = _paid(sim, client, "SHIP-3")
    contact = Contact(receiver_contact="138****1234")
    first = ShippingItem("上衣", tracking_no="SF100", express_company="SF", contact=contact)
    second = ShippingItem("裤子", tracking_no="YT200", express_company="YTO")
    call_with_access_token(client, _upload(sim, transaction_id, openid, delivery_mode=DeliveryMode.SPLIT,
                                           is_all_delivered=False, shipping_list=(first,)), tokens)
    partial = call_with_access_token(client, GetShippingOrder(appid, OrderKey(transaction_id=transaction_id)), tokens)
    assert partial.order_state is OrderState.AWAITING_SHIPMENT
    call_with_access_token(client, _upload(sim, transaction_id, openid, delivery_mode=DeliveryMode.SPLIT,
                                           is_all_delivered=True, shipping_list=(second,)), tokens)
    done = call_with_access_token(client, GetShippingOrder(appid, OrderKey(transaction_id=transaction_id)), tokens)
    assert done.order_state is OrderState.SHIPPED and done.shipping is not None
    assert [item.tracking_no for item in done.shipping.shipping_list] == ["SF100", "YT200"]
    assert done.shipping.shipping_list[0].contact == Contact(receiver_contact="138****1234")


def test_virtual_goods_auto_confirm_refunds_and_other_apps(sim: Simulator, client: Client, raw: httpx.Client,
                                                           clock: ManualClock) -> None:
    tokens = MemoryTokenCache()
    appid = sim.account["appids"]["miniprogram"]
    transaction_id, openid = _paid(sim, client, "SHIP-4")
    call_with_access_token(client, _upload(sim, transaction_id, openid, logistics_type=LogisticsType.VIRTUAL,
                                           shipping_list=(ShippingItem("话费充值 30 元"),)), tokens)
    clock.advance(10 * 86_400 + 1)
    assert sim.tick()["receipts_confirmed"] == 1
    listed = call_with_access_token(client, GetShippingOrderList(appid, order_state=OrderState.COMPLETED), tokens)
    assert [order.merchant_trade_no for order in listed.orders] == ["SHIP-4"]
    official_id, _ = _paid(sim, client, "SHIP-5", kind="official_account")
    with pytest.raises(WeChatRefused) as refused:
        call_with_access_token(client, GetShippingOrder(appid, OrderKey(transaction_id=official_id)), tokens)
    assert refused.value.code == "PAYMENT_NOT_FOUND"
    refunded_id, refunded_openid = _paid(sim, client, "SHIP-6", amount_fen=50)
    client.call(sdk_v3.CreateRefund(out_refund_no="SHIP-6-R", refund_fen=50, total_fen=50, out_trade_no="SHIP-6"))
    clock.advance(5)
    sim.tick()
    with pytest.raises(WeChatRefused) as past:
        call_with_access_token(client, _upload(sim, refunded_id, refunded_openid), tokens)
    assert past.value.code == "NOT_SHIPPABLE"
    raw.put("/simulator/wxa", json={"trade_managed": False}).raise_for_status()
    assert call_with_access_token(client, IsTradeManaged(appid), tokens) is False
    assert json.loads(raw.get("/simulator/wxa").content)["trade_managed"] is False
