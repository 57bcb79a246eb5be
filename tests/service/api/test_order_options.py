"""Order options end to end: given on ``POST /v1/orders``, checked at the edge (422), stored, and sent to WeChat (the
simulator keeps what arrived) on v3 and v2; the H5 site from the merchant's settings; several appids of one kind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ..web_harness import MCHID, Harness

OPTIONS: dict[str, Any] = {
    "goods_tag": "AUTUMN", "cost_price": 2500, "invoice_id": "INV-7",
    "goods": [{"merchant_goods_id": "MUG-1", "quantity": 1, "unit_price": 1999, "goods_name": "Weipay 马克杯"}],
    "profit_sharing": False, "invoice_entry": True, "no_credit": True, "device_id": "POS-7",
    "store": {"id": "SZ-01", "name": "南山店", "area_code": "440305"},
}


def _at_wechat(harness: Harness, out_trade_no: str) -> dict[str, Any]:
    found = harness.wechat.get("/simulator/orders", params={"out_trade_no": out_trade_no}).json()["orders"]
    assert len(found) == 1
    return dict(found[0])


def _pay_natively(harness: Harness, api: str, **order: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    created = harness.create_order(1999, options=OPTIONS, **order)
    payment = harness.api.post(f"/v1/orders/{created['id']}/payments", headers=harness.merchant,
                               json={"channel": "native", "api": api})
    assert payment.status_code == 201, payment.text
    return created, _at_wechat(harness, payment.json()["out_trade_no"])


def test_v3_orders_carry_the_options(harness: Harness) -> None:
    created, at_wechat = _pay_natively(harness, "v3")
    assert created["options"] == OPTIONS
    assert harness.order(created["id"])["options"] == OPTIONS
    assert at_wechat["options"] == {
        "goods_tag": "AUTUMN", "support_fapiao": True, "profit_sharing": False, "device_id": "POS-7",
        "detail": {"cost_price": 2500, "invoice_id": "INV-7", "goods_detail": [
            {"merchant_goods_id": "MUG-1", "goods_name": "Weipay 马克杯", "quantity": 1, "unit_price": 1999}]},
        "store_info": {"id": "SZ-01", "name": "南山店", "area_code": "440305"},
    }


def test_v2_orders_carry_the_options(harness: Harness) -> None:
    _, at_wechat = _pay_natively(harness, "v2")
    options = at_wechat["options"]
    assert json.loads(options.pop("detail")) == {"cost_price": 2500, "receipt_id": "INV-7", "goods_detail": [
        {"goods_id": "MUG-1", "goods_name": "Weipay 马克杯", "quantity": 1, "price": 1999}]}
    assert json.loads(options.pop("scene_info")) == {"store_info": {"id": "SZ-01", "name": "南山店",
                                                                    "area_code": "440305"}}
    assert options == {"goods_tag": "AUTUMN", "limit_pay": "no_credit", "receipt": "Y", "device_info": "POS-7",
                       "product_id": options["product_id"]}


def test_the_same_number_with_other_options_is_a_conflict(harness: Harness) -> None:
    first = harness.create_order(1999, number="SO-OPT-1", options=OPTIONS)
    again = harness.api.post("/v1/orders", headers=harness.merchant, json={
        "merchant_order_no": "SO-OPT-1", "amount": 1999, "description": "mug", "options": OPTIONS})
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    other = harness.api.post("/v1/orders", headers=harness.merchant, json={
        "merchant_order_no": "SO-OPT-1", "amount": 1999, "description": "mug", "options": {"goods_tag": "WINTER"}})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"goods_tag": "秋" * 11}, "invalid_options"),  # 11 characters, 33 bytes: WeChat counts bytes
        ({"store": {"id": "1", "address": "路" * 171}}, "invalid_options"),
        ({"goods": [{"merchant_goods_id": "M", "quantity": 1, "unit_price": 1, "goods_name": "a\x00b"}]},
         "invalid_options"),
        ({"goods": [{"merchant_goods_id": "M", "quantity": 0, "unit_price": 1}]}, "invalid_request"),
        ({"profit_sharing": "yes"}, "invalid_request"),
        ({"coupon": "free"}, "invalid_request"),
    ],
)
def test_bad_options_are_refused_at_the_edge(harness: Harness, options: dict[str, Any], code: str) -> None:
    answer = harness.api.post("/v1/orders", headers=harness.merchant, json={
        "merchant_order_no": "SO-OPT-BAD", "amount": 1, "description": "mug", "options": options})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == code, answer.text


@pytest.mark.parametrize("api", ["v2", "v3"])
def test_h5_payments_name_the_merchants_site(harness_factory: Any, api: str) -> None:
    harness = harness_factory(h5_site_url="https://m.shop.example", h5_site_name="Weipay 商城")
    order = harness.create_order(500)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "h5", "api": api, "client_ip": "203.0.113.9"})
    assert payment.status_code == 201, payment.text
    options = _at_wechat(harness, payment.json()["out_trade_no"])["options"]
    if api == "v2":
        assert json.loads(options["scene_info"]) == {
            "h5_info": {"type": "Wap", "wap_url": "https://m.shop.example", "wap_name": "Weipay 商城"}}
    else:
        assert options["h5_info"] == {"type": "Wap", "app_name": "Weipay 商城", "app_url": "https://m.shop.example"}


def test_a_payment_may_name_another_appid_of_the_merchant(harness_factory: Any) -> None:
    probe = harness_factory()
    second_app = probe.appid("official_account")  # an appid the simulator knows, configured as a second app
    harness = harness_factory(more_appids={"app": [second_app]})
    order = harness.create_order(700)
    chosen = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                              json={"channel": "app", "appid": second_app})
    assert chosen.status_code == 201, chosen.text
    assert chosen.json()["app_payment"]["appid"] == second_app
    assert _at_wechat(harness, chosen.json()["out_trade_no"])["appid"] == second_app
    default = harness.api.post(f"/v1/orders/{harness.create_order(700)['id']}/payments", headers=harness.merchant,
                               json={"channel": "app"})
    assert default.json()["app_payment"]["appid"] == harness.appid("app")
    foreign = harness.api.post(f"/v1/orders/{harness.create_order(700)['id']}/payments", headers=harness.merchant,
                               json={"channel": "app", "appid": harness.appid("miniprogram")})
    assert foreign.status_code == 422 and foreign.json()["error"]["code"] == "appid_not_configured"
    assert MCHID in foreign.json()["error"]["message"]


def test_more_appids_must_look_like_appids(harness_factory: Any) -> None:
    with pytest.raises(ValueError, match="more_appids"):
        harness_factory(more_appids={"app": ["not-an-appid"]})
