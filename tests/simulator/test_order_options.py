"""Every optional create-order field, sent by our SDK and by the peers (wechatpayv3 for v3, wechatpy for v2) to a
served simulator: the simulator accepts them, keeps what arrived, and both senders put the same thing on the wire.
Bad options are refused as WeChat refuses them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from weipay.sdk import Client, ConfigurationError, MerchantCredentials, WeChatRefused, v2, v3
from weipay.sdk.order_options import GoodsDetail, H5Info, OrderDetail, StoreInfo
from weipay.simulator.core import Simulator
from weipay.simulator.server import RunningSimulator, start_in_thread

from .test_interop_wechatpayv3 import WeChatPayType, make_wxpay

DETAIL = OrderDetail(
    goods_detail=(GoodsDetail("商品编码", 1, 828800, wechatpay_goods_id="1001", goods_name="iPhoneX 256G"),
                  GoodsDetail("M2", 2, 100)),
    cost_price_fen=608800, invoice_id="微信123",
)
STORE = StoreInfo("0001", name="腾讯大厦分店", area_code="440305", address="广东省深圳市南山区科技中一道10000号")
NOTIFY = "https://merchant.example.com/notify"


@pytest.fixture
def served(bundle_dir: Path) -> Iterator[tuple[Simulator, RunningSimulator]]:
    sim = Simulator(bundle_dir)
    running = start_in_thread(sim, https_port=None)
    try:
        yield sim, running
    finally:
        running.stop()


@pytest.fixture
def client(bundle_dir: Path, served: tuple[Simulator, RunningSimulator]) -> Iterator[Client]:
    credentials = MerchantCredentials.from_bundle(bundle_dir / "merchant")
    with Client(credentials, base_url=served[1].base_url, verify_tls=False) as client:
        yield client


def _options(running: RunningSimulator, out_trade_no: str) -> dict[str, Any]:
    orders = httpx.get(f"{running.base_url}/simulator/orders", params={"out_trade_no": out_trade_no}).json()
    options: dict[str, Any] = orders["orders"][0]["options"]
    return options


def test_v3_options_are_sent_accepted_kept_and_match_wechatpayv3(
    bundle_dir: Path, tmp_path: Path, served: tuple[Simulator, RunningSimulator], client: Client
) -> None:
    sim, running = served
    appid = sim.account["appids"]["app"]
    ours = v3.CreateOrder(
        channel="native", appid=appid, description="腾讯充值中心-QQ会员充值", out_trade_no="OPT-V3-OURS",
        amount_fen=100, notify_url=NOTIFY, goods_tag="WXG", detail=DETAIL, profit_sharing=False,
        support_fapiao=True, payer_client_ip="14.23.150.211", device_id="013467007045764", store_info=STORE,
    )
    assert client.call(ours).code_url
    kept = _options(running, "OPT-V3-OURS")
    assert kept == {
        "goods_tag": "WXG", "support_fapiao": True, "profit_sharing": False, "device_id": "013467007045764",
        "detail": {"cost_price": 608800, "invoice_id": "微信123", "goods_detail": [
            {"merchant_goods_id": "商品编码", "wechatpay_goods_id": "1001", "goods_name": "iPhoneX 256G",
             "quantity": 1, "unit_price": 828800},
            {"merchant_goods_id": "M2", "quantity": 2, "unit_price": 100}]},
        "store_info": STORE.v3_json(),
    }
    transaction = client.call(v3.QueryOrder(out_trade_no="OPT-V3-OURS"))
    assert transaction.raw is not None and transaction.raw["scene_info"] == {"device_id": "013467007045764"}

    wxpay = make_wxpay(sim, bundle_dir, tmp_path, running, NOTIFY, WeChatPayType.NATIVE, "app")
    body = ours.body(sim.mchid)
    code, message = wxpay.pay(
        description=body["description"], out_trade_no="OPT-V3-PEER", amount=body["amount"],
        goods_tag=body["goods_tag"], detail=DETAIL.v3_json(),
        scene_info={"payer_client_ip": "14.23.150.211", "device_id": "013467007045764",
                    "store_info": STORE.v3_json()},
        settle_info={"profit_sharing": False}, support_fapiao=True,
    )
    assert code == 200, message
    assert _options(running, "OPT-V3-PEER") == kept


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"goods_tag": "x" * 33}, "/goods_tag"),
        ({"detail": {"goods_detail": [{"merchant_goods_id": "中" * 11, "quantity": 1, "unit_price": 1}]}},
         "/detail/goods_detail/0/merchant_goods_id"),
        ({"detail": {"goods_detail": [{"merchant_goods_id": "M", "quantity": 0, "unit_price": 1}]}},
         "/detail/goods_detail/0/quantity"),
        ({"settle_info": {"profit_sharing": "yes"}}, "/settle_info/profit_sharing"),
        ({"support_fapiao": 1}, "/support_fapiao"),
        ({"scene_info": {"payer_client_ip": "1.2.3.4", "store_info": {"name": "no id"}}}, "/scene_info/store_info/id"),
        ({"scene_info": {"payer_client_ip": "1.2.3.4", "h5_info": {"type": "Wap"}}}, "/scene_info/h5_info"),
    ],
)
def test_the_simulator_refuses_bad_v3_options(
    served: tuple[Simulator, RunningSimulator], client: Client, change: dict[str, Any], path: str
) -> None:
    sim, _ = served
    body = {"appid": sim.account["appids"]["app"], "mchid": sim.mchid, "description": "Tea",
            "out_trade_no": "OPT-BAD-01", "notify_url": NOTIFY, "amount": {"total": 1}, **change}
    with pytest.raises(WeChatRefused) as refused:
        client.v3_request("POST", "/v3/pay/transactions/native", body=body)
    assert refused.value.code == "PARAM_ERROR" and path in json.dumps(refused.value.detail), refused.value.detail


def test_v2_options_are_sent_accepted_kept_and_match_wechatpy(
    served: tuple[Simulator, RunningSimulator], client: Client
) -> None:
    sim, running = served
    appid = sim.account["appids"]["official_account"]
    ours = v2.UnifiedOrder(
        trade_type="NATIVE", appid=appid, body="腾讯充值中心-QQ会员充值", out_trade_no="OPTV2OURS",
        total_fee_fen=100, spbill_create_ip="14.23.150.211", notify_url=NOTIFY, product_id="P-7", detail=DETAIL,
        goods_tag="WXG", limit_pay="no_credit", receipt=True, fee_type="CNY", device_info="013467007045764",
        store_info=STORE,
    )
    assert client.call(ours).code_url
    kept = _options(running, "OPTV2OURS")
    assert json.loads(kept["detail"]) == {
        "cost_price": 608800, "receipt_id": "微信123", "goods_detail": [
            {"goods_id": "商品编码", "wxpay_goods_id": "1001", "goods_name": "iPhoneX 256G", "quantity": 1,
             "price": 828800},
            {"goods_id": "M2", "quantity": 2, "price": 100}]}
    assert json.loads(kept["scene_info"]) == {"store_info": STORE.v2_json()}
    assert {name: kept[name] for name in ("goods_tag", "limit_pay", "receipt", "fee_type", "device_info")} == {
        "goods_tag": "WXG", "limit_pay": "no_credit", "receipt": "Y", "fee_type": "CNY",
        "device_info": "013467007045764"}

    wechatpy_pay = pytest.importorskip("wechatpy.pay")
    peer = wechatpy_pay.WeChatPay(appid, sim.account["apiv2_key"], sim.mchid, timeout=5)
    peer.API_BASE_URL = running.base_url + "/"
    peer._http.trust_env = False
    peer.order.create(
        trade_type="NATIVE", body="腾讯充值中心-QQ会员充值", total_fee=100, notify_url=NOTIFY,
        client_ip="14.23.150.211", out_trade_no="OPTV2PEER", product_id="P-7", detail=kept["detail"],
        goods_tag="WXG", limit_pay="no_credit", fee_type="CNY", device_info="013467007045764",
        scene_info=json.loads(kept["scene_info"]), receipt="Y",
    )
    theirs = _options(running, "OPTV2PEER")
    assert json.loads(theirs.pop("scene_info")) == json.loads(kept["scene_info"])  # wechatpy spaces its JSON
    assert theirs == {name: value for name, value in kept.items() if name != "scene_info"}


@pytest.mark.parametrize(
    "fields",
    [{"goods_tag": "x" * 33}, {"limit_pay": "credit"}, {"receipt": "N"}, {"detail": "[1]"},
     {"detail": '{"goods_detail": [{"quantity": 1, "price": 1}]}'}, {"body": "中" * 43}],
)
def test_the_simulator_refuses_bad_v2_options(served: tuple[Simulator, RunningSimulator], fields: dict[str, str],
                                              client: Client) -> None:
    sim, running = served
    call = {"appid": sim.account["appids"]["official_account"], "mch_id": sim.mchid, "nonce_str": "n" * 16,
            "body": "Tea", "out_trade_no": "OPTV2BAD", "total_fee": "1", "spbill_create_ip": "1.2.3.4",
            "notify_url": NOTIFY, "trade_type": "NATIVE", "product_id": "P", **fields}
    call["sign"] = v2.sign(call, sim.account["apiv2_key"], v2.SignType.MD5)
    answer = v2.from_xml(httpx.post(f"{running.base_url}/pay/unifiedorder", content=v2.to_xml(call)).content)
    assert answer["return_code"] == "SUCCESS" and answer["result_code"] == "FAIL", answer
    assert answer["err_code"] == "PARAM_ERROR"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"goods_tag": "中" * 11}, "goods_tag must be at most 32 bytes"),
        ({"detail": OrderDetail((GoodsDetail("M", 0, 1),))}, "quantity"),
        ({"detail": OrderDetail(invoice_id="x" * 33)}, "invoice_id"),
        ({"store_info": STORE}, "needs payer_client_ip"),
        ({"store_info": StoreInfo("1", address="地" * 171), "payer_client_ip": "1.2.3.4"}, "512 bytes"),
        ({"h5_info": H5Info()}, "h5 payments only"),
        ({"description": "中" * 43}, "127 bytes"),
        ({"profit_sharing": "yes"}, "profit_sharing"),
    ],
)
def test_our_sdk_refuses_what_wechat_would_before_sending(arguments: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"channel": "native", "appid": "wx1", "description": "Tea", "out_trade_no": "OPT-LOCAL",
                            "amount_fen": 1, "notify_url": NOTIFY}
    with pytest.raises(ConfigurationError, match=message):
        v3.CreateOrder(**{**base, **arguments})._validate()


def test_h5_info_is_spelt_per_api() -> None:
    site = H5Info("Wap", app_name="Weipay shop", app_url="https://shop.example.com")
    assert site.v3_json() == {"type": "Wap", "app_name": "Weipay shop", "app_url": "https://shop.example.com",
                              "bundle_id": None, "package_name": None}
    assert site.v2_json() == {"type": "Wap", "wap_url": "https://shop.example.com", "wap_name": "Weipay shop"}
    assert H5Info("iOS", app_name="A", bundle_id="com.a").v2_json()["type"] == "IOS"
