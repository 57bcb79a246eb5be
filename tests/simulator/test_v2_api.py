"""API v2 of the simulator, in process: every endpoint, every error code, both sign types, hostile XML."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weipay.sdk.crypto import aes_ecb_decrypt
from weipay.sdk.v2 import signing, xmlcodec
from weipay.sdk.v2.bill import parse_bill
from weipay.simulator.bundle import init_bundle
from weipay.simulator.clock import ManualClock, compact
from weipay.simulator.core import SimRequest, SimResponse, Simulator
from weipay.simulator.faults import FaultPlan
from weipay.simulator.ledger import Order
from weipay.simulator.v2 import api as v2_api
from weipay.simulator.v2.notifications import payment_notification, refund_notification

START_S = 1_700_000_000.0  # 2023-11-15 06:13:20 Beijing
SIGN_TYPES = ["MD5", "HMAC-SHA256"]


@pytest.fixture(scope="module")
def bundle_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bundle")
    init_bundle(directory)
    return directory


class V2:
    """A tiny v2 merchant: signs requests, checks every answer's envelope and signature."""

    def __init__(self, sim: Simulator, clock: ManualClock) -> None:
        self.sim = sim
        self.clock = clock
        self.account = sim.account
        self.key: str = sim.account["apiv2_key"]
        self.mchid: str = sim.account["mchid"]
        self.appid: str = sim.account["appids"]["official_account"]

    def raw(self, path: str, body: bytes, *, mtls: bool = False, method: str = "POST") -> SimResponse:
        return self.sim.handle(SimRequest(method, path, body=body, mtls=mtls))

    def signed_body(self, fields: dict[str, Any], sign_type: str = "MD5") -> bytes:
        message = {"appid": self.appid, "mch_id": self.mchid, "nonce_str": "n0nce", **fields}
        if sign_type != "MD5":
            message["sign_type"] = sign_type
        message = {name: str(value) for name, value in message.items() if value is not None}
        message["sign"] = signing.sign(message, self.key, sign_type)
        return xmlcodec.to_xml(message)

    def call(self, path: str, fields: dict[str, Any], sign_type: str = "MD5", *, mtls: bool = False) -> dict[str, str]:
        response = self.raw(path, self.signed_body(fields, sign_type), mtls=mtls)
        assert response.status == 200
        answer = xmlcodec.from_xml(response.body, root="xml")
        if answer["return_code"] == "SUCCESS":
            assert signing.verify(answer, self.key, sign_type), "answers are signed with the request's sign_type"
            assert not signing.verify(answer, self.key, "HMAC-SHA256" if sign_type == "MD5" else "MD5")
            assert answer["mch_id"] == self.mchid
        else:
            assert "sign" not in answer, "FAIL envelopes are unsigned"
        return answer

    def order(self, out_trade_no: str = "T20231115001", sign_type: str = "MD5", **overrides: Any) -> dict[str, str]:
        fields = {
            "body": "测试商品", "out_trade_no": out_trade_no, "total_fee": 100, "spbill_create_ip": "127.0.0.1",
            "notify_url": "http://127.0.0.1:9/notify", "trade_type": "JSAPI", "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        }
        fields.update(overrides)
        return self.call("/pay/unifiedorder", fields, sign_type)

    def pay(self, out_trade_no: str) -> Order:
        order = self.sim.ledger.order(self.mchid, out_trade_no)
        assert order is not None
        self.sim.pay(order)
        paid = self.sim.ledger.order(self.mchid, out_trade_no)
        assert paid is not None
        return paid

    def refund(self, out_trade_no: str, out_refund_no: str, refund_fee: int, total_fee: int = 100,
               **extra: Any) -> dict[str, str]:
        fields = {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "total_fee": total_fee,
                  "refund_fee": refund_fee, **extra}
        return self.call("/secapi/pay/refund", fields, mtls=True)


@pytest.fixture
def v2(bundle_template: Path, tmp_path: Path) -> Iterator[V2]:
    directory = tmp_path / "sim"
    shutil.copytree(bundle_template, directory)
    clock = ManualClock(START_S)
    sim = Simulator(directory, clock=clock)
    yield V2(sim, clock)
    sim.close()


def assert_error(answer: dict[str, str], err_code: str, text: str | None = None) -> None:
    assert answer["return_code"] == "SUCCESS", answer
    assert answer["result_code"] == "FAIL", answer
    assert answer["err_code"] == err_code, answer
    if text is not None:
        assert text in answer["err_code_des"], answer


# -- unifiedorder ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sign_type", SIGN_TYPES)
def test_unifiedorder_jsapi_signed_with_the_request_sign_type(v2: V2, sign_type: str) -> None:
    answer = v2.order(sign_type=sign_type)
    assert answer["result_code"] == "SUCCESS"
    assert answer["trade_type"] == "JSAPI"
    assert answer["prepay_id"].startswith("wx")
    assert answer["appid"] == v2.appid
    stored = v2.sim.ledger.order(v2.mchid, "T20231115001")
    assert stored is not None
    assert (stored.api, stored.sign_type, stored.state, stored.amount_fen) == ("v2", sign_type, "NOTPAY", 100)


def test_unifiedorder_native_app_and_mweb(v2: V2) -> None:
    native = v2.order("NATIVE0001", trade_type="NATIVE", openid=None, product_id="sku-1")
    assert native["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    app = v2.order("APP0000001", trade_type="APP", openid=None)
    assert app["prepay_id"] and "code_url" not in app and "mweb_url" not in app
    scene = json.dumps({"h5_info": {"type": "Wap", "wap_url": "https://m.example.com", "wap_name": "shop"}})
    h5 = v2.order("MWEB000001", trade_type="MWEB", openid=None, scene_info=scene)
    assert h5["mweb_url"].startswith(v2.sim.base_url + "/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=" + h5["prepay_id"])
    assert v2.sim.ledger.order_by_code_url(native["code_url"]) is not None


def test_reentry_with_same_parameters_returns_the_same_prepay_id(v2: V2) -> None:
    first = v2.order()
    # wechatpy re-stamps time_start/time_expire and the nonce on every call: still the same order.
    again = v2.order(time_start="20231115061400", time_expire="20231115081400")
    assert again["prepay_id"] == first["prepay_id"]


def test_reentry_with_different_parameters_is_refused(v2: V2) -> None:
    v2.order()
    assert_error(v2.order(total_fee=101), "INVALID_REQUEST", "201 商户订单号重复")
    assert_error(v2.order(body="其他商品"), "INVALID_REQUEST", "201 商户订单号重复")


def test_reentry_after_payment_or_close(v2: V2) -> None:
    v2.order("PAID000001")
    v2.pay("PAID000001")
    assert_error(v2.order("PAID000001"), "ORDERPAID")
    v2.order("CLOSED0001")
    assert v2.call("/pay/closeorder", {"out_trade_no": "CLOSED0001"})["result_code"] == "SUCCESS"
    assert_error(v2.order("CLOSED0001"), "ORDERCLOSED")


def test_reentry_after_expiry_is_closed(v2: V2) -> None:
    v2.order()
    v2.clock.advance(2 * 3600 + 1)
    assert_error(v2.order(), "ORDERCLOSED")


@pytest.mark.parametrize(
    ("overrides", "err_code", "text"),
    [
        ({"body": None}, "LACK_PARAMS", "body"),
        ({"notify_url": None}, "LACK_PARAMS", "notify_url"),
        ({"total_fee": 0}, "PARAM_ERROR", "total_fee"),
        ({"total_fee": -1}, "PARAM_ERROR", "total_fee"),
        ({"total_fee": "1.5"}, "PARAM_ERROR", "total_fee"),
        ({"total_fee": "01"}, "PARAM_ERROR", "total_fee"),
        ({"out_trade_no": "X" * 33}, "PARAM_ERROR", "out_trade_no"),
        ({"out_trade_no": "bad no!"}, "PARAM_ERROR", "out_trade_no"),
        ({"out_trade_no": "订单123456"}, "PARAM_ERROR", "out_trade_no"),
        ({"body": "长" * 129}, "PARAM_ERROR", "body"),
        ({"attach": "a" * 128}, "PARAM_ERROR", "attach"),
        ({"trade_type": "MICROPAY"}, "PARAM_ERROR", "trade_type"),
        ({"openid": None}, "LACK_PARAMS", "openid"),
        ({"trade_type": "NATIVE", "openid": None}, "LACK_PARAMS", "product_id"),
        ({"trade_type": "MWEB", "openid": None}, "LACK_PARAMS", "scene_info"),
        ({"trade_type": "MWEB", "scene_info": "not json"}, "PARAM_ERROR", "scene_info"),
        ({"trade_type": "MWEB", "scene_info": "{}"}, "PARAM_ERROR", "h5_info"),
        ({"notify_url": "http://127.0.0.1:9/n?a=1"}, "PARAM_ERROR", "notify_url"),
        ({"notify_url": "ftp://example.com/n"}, "PARAM_ERROR", "notify_url"),
        ({"spbill_create_ip": "not-an-ip"}, "PARAM_ERROR", "spbill_create_ip"),
        ({"fee_type": "USD"}, "PARAM_ERROR", "fee_type"),
        ({"time_expire": "2023-11-15"}, "PARAM_ERROR", "time_expire"),
        ({"time_expire": "20231115061320"}, "PARAM_ERROR", "time_expire"),
        ({"appid": "wx0000000000000000"}, "APPID_MCHID_NOT_MATCH", None),
    ],
)
def test_unifiedorder_field_validation(v2: V2, overrides: dict[str, Any], err_code: str, text: str | None) -> None:
    assert_error(v2.order(**overrides), err_code, text)
    assert v2.sim.ledger.orders() == []


def test_strict_mode_wants_https_notify_url_without_port_and_a_later_expiry(bundle_template: Path,
                                                                           tmp_path: Path) -> None:
    shutil.copytree(bundle_template, tmp_path / "strict")
    clock = ManualClock(START_S)
    sim = Simulator(tmp_path / "strict", clock=clock, strict=True)
    try:
        strict = V2(sim, clock)
        assert_error(strict.order("STRICT0001"), "PARAM_ERROR", "https")
        assert_error(strict.order("STRICT0001", notify_url="https://shop.example.com:8443/n"), "PARAM_ERROR", "端口")
        assert_error(strict.order("SHORT"), "PARAM_ERROR", "out_trade_no")
        soon = compact(START_S + 60)
        assert_error(strict.order("STRICT0001", notify_url="https://shop.example.com/n", time_expire=soon),
                     "PARAM_ERROR", "time_expire")
        ok = strict.order("STRICT0001", notify_url="https://shop.example.com/n")
        assert ok["result_code"] == "SUCCESS"
        assert_error(strict.call("/pay/closeorder", {"out_trade_no": "STRICT0001"}), "FREQUENCY_LIMITED")
        clock.advance(301)
        assert strict.call("/pay/closeorder", {"out_trade_no": "STRICT0001"})["result_code"] == "SUCCESS"
    finally:
        sim.close()


def test_lenient_mode_accepts_http_loopback_notify_url_with_port(v2: V2) -> None:
    assert v2.order(notify_url="http://localhost:8000/notify/wechatpay/v2/1")["result_code"] == "SUCCESS"


def test_time_expire_is_honoured(v2: V2) -> None:
    v2.order(time_expire=compact(START_S + 600))
    v2.clock.advance(601)
    answer = v2.call("/pay/orderquery", {"out_trade_no": "T20231115001"})
    assert answer["trade_state"] == "CLOSED"


# -- protocol failures -----------------------------------------------------------------------------------
def test_bad_signature_is_a_protocol_failure(v2: V2) -> None:
    body = v2.signed_body({"out_trade_no": "T1"}).replace(b"<out_trade_no>T1<", b"<out_trade_no>T2<")
    answer = xmlcodec.from_xml(v2.raw("/pay/orderquery", body).body)
    assert answer == {"return_code": "FAIL", "return_msg": "签名错误，请检查后再试"}


def test_sign_type_must_match_the_signature(v2: V2) -> None:
    message = {"appid": v2.appid, "mch_id": v2.mchid, "nonce_str": "x", "out_trade_no": "T1", "sign_type": "MD5"}
    message["sign"] = signing.sign(message, v2.key, "HMAC-SHA256")
    answer = xmlcodec.from_xml(v2.raw("/pay/orderquery", xmlcodec.to_xml(message)).body)
    assert answer["return_msg"] == "签名错误，请检查后再试"
    message["sign_type"] = "SHA1"
    answer = xmlcodec.from_xml(v2.raw("/pay/orderquery", xmlcodec.to_xml(message)).body)
    assert answer["return_code"] == "FAIL"
    assert "sign_type" in answer["return_msg"]


def test_wrong_key_and_unknown_merchant_and_missing_sign(v2: V2) -> None:
    message = {"appid": v2.appid, "mch_id": v2.mchid, "nonce_str": "x", "out_trade_no": "T1"}
    forged = dict(message, sign=signing.sign(message, "k" * 32))
    forged_answer = xmlcodec.from_xml(v2.raw("/pay/orderquery", xmlcodec.to_xml(forged)).body)
    assert forged_answer["return_msg"] == "签名错误，请检查后再试"
    other = dict(message, mch_id="1900000000")
    other["sign"] = signing.sign(other, v2.key)
    assert "mch_id" in xmlcodec.from_xml(v2.raw("/pay/orderquery", xmlcodec.to_xml(other)).body)["return_msg"]
    assert "sign" in xmlcodec.from_xml(v2.raw("/pay/orderquery", xmlcodec.to_xml(message)).body)["return_msg"]


HOSTILE = [
    b"",
    b"not xml at all",
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><appid>&e;</appid></xml>',
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><xml><a>&lol2;</a></xml>',
    b"<xml><appid>a</appid><appid>b</appid></xml>",
    b"<xml><appid><inner>x</inner></appid></xml>",
    b"<xml><appid>unterminated</xml>",
    b"<xml><pad>" + b"A" * (70 * 1024) + b"</pad></xml>",
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_xml_is_refused_with_return_code_fail(v2: V2, body: bytes) -> None:
    response = v2.raw("/pay/unifiedorder", body)
    assert response.status == 200
    answer = xmlcodec.from_xml(response.body)
    assert answer["return_code"] == "FAIL"
    assert "sign" not in answer
    assert b"root:" not in response.body


def test_get_and_unknown_paths(v2: V2) -> None:
    answer = xmlcodec.from_xml(v2.raw("/pay/orderquery", b"", method="GET").body)
    assert answer["return_code"] == "FAIL"
    assert "post" in answer["return_msg"]
    assert v2.raw("/pay/nosuchapi", b"<xml/>").status == 404


def test_system_error_under_the_fault_plan(v2: V2) -> None:
    v2.sim.faults.set_plan(FaultPlan(system_error_rate=1.0))
    assert_error(v2.order(), "SYSTEMERROR")
    assert v2.sim.ledger.orders() == [], "SYSTEMERROR means nothing happened"
    v2.sim.faults.set_plan(FaultPlan(frequency_limited_rate=1.0))
    assert_error(v2.call("/pay/orderquery", {"out_trade_no": "T1"}, "HMAC-SHA256"), "FREQUENCY_LIMITED")
    v2.sim.faults.set_plan(FaultPlan())
    assert v2.order()["result_code"] == "SUCCESS"


# -- orderquery / closeorder -----------------------------------------------------------------------------
def test_orderquery_before_and_after_payment(v2: V2) -> None:
    v2.order(attach="cart=7")
    unpaid = v2.call("/pay/orderquery", {"out_trade_no": "T20231115001"})
    assert (unpaid["trade_state"], unpaid["total_fee"]) == ("NOTPAY", "100")
    assert "transaction_id" not in unpaid
    paid = v2.pay("T20231115001")
    for query in ({"out_trade_no": "T20231115001"}, {"transaction_id": paid.transaction_id}):
        answer = v2.call("/pay/orderquery", query, "HMAC-SHA256")
        assert answer["trade_state"] == "SUCCESS"
        assert answer["transaction_id"] == paid.transaction_id
        assert (answer["total_fee"], answer["cash_fee"], answer["attach"]) == ("100", "100", "cart=7")
        assert answer["openid"] == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
        assert answer["time_end"] == compact(START_S)
        assert answer["trade_state_desc"] == "支付成功"


def test_orderquery_errors(v2: V2) -> None:
    assert_error(v2.call("/pay/orderquery", {"out_trade_no": "NOSUCH0001"}), "ORDERNOTEXIST")
    assert_error(v2.call("/pay/orderquery", {"transaction_id": "4200000000000000000000000000"}), "ORDERNOTEXIST")
    assert_error(v2.call("/pay/orderquery", {}), "LACK_PARAMS")


def test_closeorder(v2: V2) -> None:
    assert_error(v2.call("/pay/closeorder", {"out_trade_no": "NOSUCH0001"}), "ORDERNOTEXIST")
    v2.order()
    closed = v2.call("/pay/closeorder", {"out_trade_no": "T20231115001"}, "HMAC-SHA256")
    assert (closed["result_code"], closed["result_msg"]) == ("SUCCESS", "OK")
    assert v2.call("/pay/orderquery", {"out_trade_no": "T20231115001"})["trade_state"] == "CLOSED"
    assert_error(v2.call("/pay/closeorder", {"out_trade_no": "T20231115001"}), "ORDERCLOSED")
    v2.order("PAID000001")
    v2.pay("PAID000001")
    assert_error(v2.call("/pay/closeorder", {"out_trade_no": "PAID000001"}), "ORDERPAID")


def test_v3_order_is_visible_over_v2(v2: V2) -> None:
    v2.sim.ledger.create_order(Order(
        mchid=v2.mchid, out_trade_no="V3ORDER001", api="v3", trade_type="NATIVE", appid=v2.appid,
        description="v3 order", amount_fen=250, currency="CNY", notify_url="https://example.com/n", attach="",
        openid="", payer_client_ip="", time_expire=START_S + 3600, prepay_id="wx15061320abc",
        code_url="weixin://wxpay/bizpayurl?pr=v3order", h5_url=None, state="NOTPAY", trade_state_desc="订单未支付",
        transaction_id=None, bank_type=None, success_time=None, sign_type=None, fingerprint="f", created_at=START_S,
        payer_openid=None,
    ))
    assert v2.call("/pay/orderquery", {"out_trade_no": "V3ORDER001"})["total_fee"] == "250"
    assert_error(v2.order("V3ORDER001"), "INVALID_REQUEST", "201")
    v2.pay("V3ORDER001")
    assert v2.refund("V3ORDER001", "RV3ORDER001", 50, total_fee=250)["result_code"] == "SUCCESS"


# -- refunds ---------------------------------------------------------------------------------------------
def paid_order(v2: V2, out_trade_no: str = "T20231115001") -> Order:
    v2.order(out_trade_no)
    return v2.pay(out_trade_no)


def test_refund_needs_mutual_tls(v2: V2) -> None:
    paid_order(v2)
    body = v2.signed_body({"out_trade_no": "T20231115001", "out_refund_no": "R1", "total_fee": 100, "refund_fee": 1})
    through_core = v2.raw("/secapi/pay/refund", body, mtls=False)
    assert through_core.status == 403 or xmlcodec.from_xml(through_core.body)["return_code"] == "FAIL"
    # The v2 handler refuses on its own too, whoever routes to it.
    direct = v2_api.handle(v2.sim, SimRequest("POST", "/secapi/pay/refund", body=body, mtls=False))
    answer = xmlcodec.from_xml(direct.body)
    assert answer["return_code"] == "FAIL"
    assert "证书" in answer["return_msg"]
    assert v2.sim.ledger.refunds_for_order(v2.mchid, "T20231115001") == []


def test_refund_accepted_then_succeeds(v2: V2) -> None:
    order = paid_order(v2)
    answer = v2.refund("T20231115001", "R20231115001", 30, op_user_id=v2.mchid, refund_desc="退货")
    assert answer["result_code"] == "SUCCESS"
    assert (answer["refund_fee"], answer["total_fee"], answer["transaction_id"]) == ("30", "100", order.transaction_id)
    assert answer["refund_id"].startswith("50")
    assert v2.sim.ledger.balance(v2.mchid)[0] == 70
    query = v2.call("/pay/refundquery", {"out_refund_no": "R20231115001"})
    assert query["refund_status_0"] == "PROCESSING"
    v2.clock.advance(5)
    v2.sim.tick()
    query = v2.call("/pay/refundquery", {"out_refund_no": "R20231115001"}, "HMAC-SHA256")
    assert query["refund_count"] == "1"
    assert query["refund_status_0"] == "SUCCESS"
    assert query["refund_recv_accout_0"] == "支付用户的零钱"
    assert query["refund_account_0"] == "REFUND_SOURCE_UNSETTLED_FUNDS"
    assert query["refund_success_time_0"].startswith("2023-11-15 06:13:2")
    assert query["refund_fee_0"] == "30"
    assert v2.call("/pay/orderquery", {"out_trade_no": "T20231115001"})["trade_state"] == "REFUND"


def test_same_out_refund_no_refunds_once(v2: V2) -> None:
    paid_order(v2)
    first = v2.refund("T20231115001", "R1", 40)
    again = v2.refund("T20231115001", "R1", 40)
    assert again["refund_id"] == first["refund_id"]
    assert v2.sim.ledger.balance(v2.mchid)[0] == 60
    assert len(v2.sim.ledger.refunds_for_order(v2.mchid, "T20231115001")) == 1
    assert_error(v2.refund("T20231115001", "R1", 41), "INVALID_REQUEST")


def test_refund_by_transaction_id_is_the_same_refund(v2: V2) -> None:
    order = paid_order(v2)
    first = v2.refund("T20231115001", "R1", 40)
    body = {"transaction_id": order.transaction_id, "out_refund_no": "R1", "total_fee": 100, "refund_fee": 40}
    assert v2.call("/secapi/pay/refund", body, mtls=True)["refund_id"] == first["refund_id"]


def test_over_refund_is_refused(v2: V2) -> None:
    paid_order(v2)
    assert_error(v2.refund("T20231115001", "R1", 101), "PARAM_ERROR")
    assert v2.refund("T20231115001", "R1", 60)["result_code"] == "SUCCESS"
    assert_error(v2.refund("T20231115001", "R2", 41), "ERROR", "退款金额")
    assert v2.refund("T20231115001", "R3", 40)["result_code"] == "SUCCESS"
    assert_error(v2.refund("T20231115001", "R4", 1), "ERROR")


def test_refund_errors(v2: V2) -> None:
    assert_error(v2.refund("NOSUCH0001", "R1", 1), "ORDERNOTEXIST")
    v2.order("UNPAID0001")
    assert_error(v2.refund("UNPAID0001", "R1", 1), "ORDERNOTEXIST")
    paid_order(v2)
    assert_error(v2.refund("T20231115001", "R1", 1, total_fee=99), "PARAM_ERROR", "total_fee")
    assert_error(v2.refund("T20231115001", "R 1", 1), "PARAM_ERROR", "out_refund_no")
    assert_error(v2.refund("T20231115001", "R1", 0), "PARAM_ERROR", "refund_fee")
    assert_error(v2.refund("T20231115001", "R1", 1, refund_account="ELSEWHERE"), "PARAM_ERROR", "refund_account")
    assert_error(v2.call("/secapi/pay/refund", {"out_refund_no": "R1", "total_fee": 1, "refund_fee": 1}, mtls=True),
                 "LACK_PARAMS")


def test_notenough_then_recharge_funds_fallback(v2: V2) -> None:
    paid_order(v2)
    v2.sim.ledger.set_balance(v2.mchid, unsettled_fen=10, available_fen=500)
    assert_error(v2.refund("T20231115001", "R1", 50), "NOTENOUGH")
    answer = v2.refund("T20231115001", "R1", 50, refund_account="REFUND_SOURCE_RECHARGE_FUNDS")
    assert answer["result_code"] == "SUCCESS"
    assert v2.sim.ledger.balance(v2.mchid) == (10, 450)
    query = v2.call("/pay/refundquery", {"refund_id": answer["refund_id"]})
    assert query["refund_account_0"] == "REFUND_SOURCE_RECHARGE_FUNDS"


def test_refundquery_lookups_and_pages(v2: V2) -> None:
    order = paid_order(v2)
    refund_ids = [v2.refund("T20231115001", f"R{n:02d}", 1)["refund_id"] for n in range(12)]
    by_order = v2.call("/pay/refundquery", {"out_trade_no": "T20231115001"})
    assert by_order["refund_count"] == "10"
    assert [by_order[f"refund_id_{n}"] for n in range(10)] == refund_ids[:10]
    second_page = v2.call("/pay/refundquery", {"transaction_id": order.transaction_id, "offset": 10})
    assert (second_page["refund_count"], second_page["total_refund_count"]) == ("2", "12")
    assert second_page["out_refund_no_1"] == "R11"
    by_id = v2.call("/pay/refundquery", {"refund_id": refund_ids[3], "out_trade_no": "ignored"})
    assert (by_id["refund_count"], by_id["out_refund_no_0"]) == ("1", "R03")


def test_refundquery_errors(v2: V2) -> None:
    assert_error(v2.call("/pay/refundquery", {"out_refund_no": "NOSUCH"}), "REFUNDNOTEXIST")
    assert_error(v2.call("/pay/refundquery", {"refund_id": "50300000000000000000000000000"}), "REFUNDNOTEXIST")
    assert_error(v2.call("/pay/refundquery", {"out_trade_no": "NOSUCH0001"}), "REFUNDNOTEXIST")
    paid_order(v2)
    assert_error(v2.call("/pay/refundquery", {"out_trade_no": "T20231115001"}), "REFUNDNOTEXIST")
    assert_error(v2.call("/pay/refundquery", {}), "LACK_PARAMS")
    assert_error(v2.call("/pay/refundquery", {"out_trade_no": "T20231115001", "offset": "x"}), "PARAM_ERROR")


# -- downloadbill ----------------------------------------------------------------------------------------
def test_downloadbill_text_and_gzip(v2: V2) -> None:
    paid_order(v2, "BILL000001")
    paid_order(v2, "BILL000002")
    v2.refund("BILL000001", "RB1", 25)
    v2.clock.advance(5)
    v2.sim.tick()
    day = compact(START_S)[:8]
    response = v2.raw("/pay/downloadbill", v2.signed_body({"bill_date": day, "bill_type": "ALL"}))
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.body.decode().splitlines()
    assert lines[0].startswith("交易时间,公众账号ID,商户号")
    assert all(line.startswith("`") for line in lines[1:4])
    bill = parse_bill(response.body)
    assert [row.trade_state for row in bill.rows] == ["SUCCESS", "SUCCESS", "REFUND"]
    summary = bill.summary
    assert (summary.trade_count, summary.settlement_total_fee_fen, summary.refund_fee_fen) == (3, 200, 25)
    gz = v2.raw("/pay/downloadbill", v2.signed_body({"bill_date": day, "tar_type": "GZIP"}, "HMAC-SHA256"))
    assert gzip.decompress(gz.body) == response.body
    def bill_of(bill_type: str) -> Any:
        return parse_bill(v2.raw("/pay/downloadbill", v2.signed_body({"bill_date": day, "bill_type": bill_type})).body)

    refunds_only = bill_of("REFUND")
    assert [row.out_refund_no for row in refunds_only.rows] == ["RB1"]
    success_only = bill_of("SUCCESS")
    assert {row.out_trade_no for row in success_only.rows} == {"BILL000001", "BILL000002"}


@pytest.mark.parametrize(
    ("fields", "return_msg", "error_code"),
    [
        ({"bill_date": "20231114"}, "No Bill Exist", "20002"),
        ({"bill_date": "2023-11-15"}, "data format error", "20001"),
        ({"bill_date": "20231199"}, "data format error", "20001"),
        ({"bill_date": "20231115", "bill_type": "NOPE"}, "invalid bill_type", "20001"),
        ({}, "missing parameter", "20001"),
    ],
)
def test_downloadbill_errors(v2: V2, fields: dict[str, str], return_msg: str, error_code: str) -> None:
    paid_order(v2)
    answer = xmlcodec.from_xml(v2.raw("/pay/downloadbill", v2.signed_body(fields)).body)
    assert answer == {"return_code": "FAIL", "return_msg": return_msg, "error_code": error_code}


def test_downloadbill_when_nothing_happened(v2: V2) -> None:
    answer = xmlcodec.from_xml(v2.raw("/pay/downloadbill", v2.signed_body({"bill_date": "20231115"})).body)
    assert (answer["return_msg"], answer["error_code"]) == ("No Bill Exist", "20002")


# -- notifications ---------------------------------------------------------------------------------------
def test_payment_notification_is_md5_signed_by_default(v2: V2) -> None:
    v2.order(sign_type="HMAC-SHA256", attach="a&b<c>", device_info="WEB")
    order = v2.pay("T20231115001")
    headers, body = payment_notification(v2.sim, order)
    assert headers["content-type"].startswith("text/xml")
    fields = xmlcodec.from_xml(body)
    assert signing.verify(fields, v2.key, "MD5")
    assert "sign_type" not in fields
    assert fields["transaction_id"] == order.transaction_id
    assert (fields["return_code"], fields["result_code"], fields["total_fee"], fields["attach"]) == (
        "SUCCESS", "SUCCESS", "100", "a&b<c>")
    assert fields["time_end"] == compact(START_S)
    assert fields["openid"] == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert fields["device_info"] == "WEB"


def test_payment_notification_in_the_orders_sign_type_when_configured(v2: V2) -> None:
    v2.order(sign_type="HMAC-SHA256")
    order = v2.pay("T20231115001")
    v2.sim.account["v2_notify_sign_type"] = "order"
    fields = xmlcodec.from_xml(payment_notification(v2.sim, order)[1])
    assert fields["sign_type"] == "HMAC-SHA256"
    assert signing.verify(fields, v2.key)
    assert not signing.verify(fields, v2.key, "MD5")


def test_refund_notification_is_encrypted_and_unsigned(v2: V2) -> None:
    order = paid_order(v2)
    refund_id = v2.refund("T20231115001", "R1", 30)["refund_id"]
    v2.clock.advance(5)
    v2.sim.tick()
    refund = v2.sim.ledger.refund(v2.mchid, "R1")
    assert refund is not None and refund.status == "SUCCESS"
    _headers, body = refund_notification(v2.sim, refund, order)
    outer = xmlcodec.from_xml(body)
    assert "sign" not in outer
    assert (outer["return_code"], outer["appid"], outer["mch_id"]) == ("SUCCESS", order.appid, v2.mchid)
    inner = xmlcodec.from_xml(aes_ecb_decrypt(v2.key, outer["req_info"]), root="root")
    assert inner["refund_id"] == refund_id
    assert (inner["refund_status"], inner["refund_fee"], inner["total_fee"]) == ("SUCCESS", "30", "100")
    assert inner["refund_recv_accout"] == "支付用户的零钱"
    assert inner["refund_account"] == "REFUND_SOURCE_UNSETTLED_FUNDS"
    assert inner["refund_request_source"] == "API"
    assert inner["success_time"] == "2023-11-15 06:13:25"
    assert inner["transaction_id"] == order.transaction_id


def test_v2_order_is_visible_over_v3(sim: Simulator, clock: ManualClock, merchant: Any) -> None:
    """Same merchant, same ledger: a v2 order answers v3 queries, and v3 can close it."""
    v2 = V2(sim, clock)
    v2.order("V2VIAV30001", attach="x")
    response = merchant.request("GET", f"/v3/pay/transactions/out-trade-no/V2VIAV30001?mchid={v2.mchid}")
    assert response.status_code == 200, response.text
    merchant.verify(response)
    assert (response.json()["trade_state"], response.json()["amount"]["total"]) == ("NOTPAY", 100)
    paid = v2.pay("V2VIAV30001")
    by_id = merchant.request("GET", f"/v3/pay/transactions/id/{paid.transaction_id}?mchid={v2.mchid}")
    assert by_id.json()["out_trade_no"] == "V2VIAV30001"
    v2.order("V2VIAV30002")
    closed = merchant.request("POST", "/v3/pay/transactions/out-trade-no/V2VIAV30002/close", {"mchid": v2.mchid})
    assert closed.status_code == 204
    assert v2.call("/pay/orderquery", {"out_trade_no": "V2VIAV30002"})["trade_state"] == "CLOSED"


MERCHANT_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
                        min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=MERCHANT_TEXT, attach=MERCHANT_TEXT, sign_type=st.sampled_from(SIGN_TYPES), number=st.integers(0, 10**9))
def test_merchant_text_survives_signing_and_xml(v2: V2, body: str, attach: str, sign_type: str, number: int) -> None:
    out_trade_no = f"H{number:09d}"
    answer = v2.order(out_trade_no, sign_type, body=body, attach=attach, trade_type="APP", openid=None)
    if v2.sim.ledger.order(v2.mchid, out_trade_no) is None or answer["result_code"] != "SUCCESS":
        assert answer.get("err_code") == "INVALID_REQUEST"  # hypothesis reused a number with other text
        return
    query = v2.call("/pay/orderquery", {"out_trade_no": out_trade_no}, sign_type)
    assert query["attach"] == attach
    stored = v2.sim.ledger.order(v2.mchid, out_trade_no)
    assert stored is not None and stored.description == body


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(out_trade_no=st.text(alphabet="aZ09_-|*@#. 订", min_size=1, max_size=40))
def test_out_trade_no_rule(v2: V2, out_trade_no: str) -> None:
    answer = v2.order(out_trade_no, trade_type="APP", openid=None)
    valid = len(out_trade_no) <= 32 and all(c.isascii() and (c.isalnum() or c in "_-|*") for c in out_trade_no)
    if valid:
        assert answer["result_code"] == "SUCCESS" or answer["err_code"] == "INVALID_REQUEST"
    else:
        assert_error(answer, "PARAM_ERROR", "out_trade_no")
