"""Documents shaped like the official samples (PROTOCOL.md §6.6): indentation, CDATA mixed with plain
values, coupon fields, a JSON ``detail``. The samples' key is unknown, so they are re-signed with ours."""

from __future__ import annotations

import datetime as dt

import pytest
from v2vectors import FIXED_NONCE, V2_KEY

from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.crypto import aes_ecb_encrypt
from weipay.sdk.errors import ConfigurationError, SignatureError
from weipay.sdk.operation import Context
from weipay.sdk.v2 import (
    BEIJING,
    UnifiedOrder,
    V2Coupon,
    from_xml,
    parse_payment_notification,
    parse_refund_notification,
    sign,
    to_xml,
)

PAYSUCCESS_TEMPLATE = """<xml>
  <appid><![CDATA[wx2421b1c4370ec43b]]></appid>
  <attach><![CDATA[支付测试]]></attach>
  <bank_type><![CDATA[CFT]]></bank_type>
  <fee_type><![CDATA[CNY]]></fee_type>
  <is_subscribe><![CDATA[Y]]></is_subscribe>
  <mch_id><![CDATA[10000100]]></mch_id>
  <nonce_str><![CDATA[5d2b6c2a8db53831f7eda20af46e531c]]></nonce_str>
  <openid><![CDATA[oUpF8uMEb4qRXf22hE3X68TekukE]]></openid>
  <out_trade_no><![CDATA[1409811653]]></out_trade_no>
  <result_code><![CDATA[SUCCESS]]></result_code>
  <return_code><![CDATA[SUCCESS]]></return_code>
  <sign><![CDATA[{sign}]]></sign>
  <time_end><![CDATA[20140903131540]]></time_end>
  <total_fee>1</total_fee>
  <coupon_fee><![CDATA[10]]></coupon_fee>
  <coupon_count><![CDATA[1]]></coupon_count>
  <coupon_type><![CDATA[CASH]]></coupon_type>
  <coupon_id><![CDATA[10000]]></coupon_id>
  <trade_type><![CDATA[JSAPI]]></trade_type>
  <transaction_id><![CDATA[1004400740201409030005092168]]></transaction_id>
</xml>
"""


def _paysuccess(sign_value: str) -> bytes:
    return PAYSUCCESS_TEMPLATE.replace("{sign}", sign_value).encode()


def test_official_shaped_payment_notification() -> None:
    fields = from_xml(_paysuccess("X"))
    assert len(fields) == 20
    assert fields["total_fee"] == "1"  # a plain value among CDATA ones
    body = _paysuccess(sign(fields, V2_KEY))
    note = parse_payment_notification(V2_KEY, body)
    assert (note.appid, note.mch_id, note.attach) == ("wx2421b1c4370ec43b", "10000100", "支付测试")
    assert note.transaction_id == "1004400740201409030005092168"
    assert note.time_end == dt.datetime(2014, 9, 3, 13, 15, 40, tzinfo=BEIJING)
    assert (note.raw["coupon_fee"], note.raw["coupon_type"], note.raw["coupon_id"]) == ("10", "CASH", "10000")
    assert note.coupon_fee_fen == 10 and note.coupons == (V2Coupon("10000", 10, "CASH"),)
    assert note.raw["is_subscribe"] == "Y"
    with pytest.raises(SignatureError):
        parse_payment_notification(V2_KEY, _paysuccess("B552ED6B279343CB493C5DD0D78AB241"))


REQ_INFO_PLAINTEXT = """<root>
<out_refund_no><![CDATA[131811191610442717309]]></out_refund_no>
<out_trade_no><![CDATA[71106718111915575302817]]></out_trade_no>
<refund_account><![CDATA[REFUND_SOURCE_RECHARGE_FUNDS]]></refund_account>
<refund_fee><![CDATA[3960]]></refund_fee>
<refund_id><![CDATA[50000408942018111907145868882]]></refund_id>
<refund_recv_accout><![CDATA[支付用户零钱]]></refund_recv_accout>
<refund_request_source><![CDATA[API]]></refund_request_source>
<refund_status><![CDATA[SUCCESS]]></refund_status>
<settlement_refund_fee><![CDATA[3960]]></settlement_refund_fee>
<settlement_total_fee><![CDATA[3960]]></settlement_total_fee>
<success_time><![CDATA[2018-11-19 16:24:13]]></success_time>
<total_fee><![CDATA[3960]]></total_fee>
<transaction_id><![CDATA[4200000215201811190261405420]]></transaction_id>
</root>
"""


def test_official_shaped_refund_req_info() -> None:
    outer = to_xml(
        {
            "return_code": "SUCCESS",
            "appid": "wx2421b1c4370ec43b",
            "mch_id": "10000100",
            "nonce_str": "c1c237efc87ee8dfcb3f9124b63a4d94",
            "req_info": aes_ecb_encrypt(V2_KEY, REQ_INFO_PLAINTEXT.encode()),
        }
    )
    note = parse_refund_notification(V2_KEY, outer, mchid="10000100", appid="wx2421b1c4370ec43b")
    assert (note.out_refund_no, note.refund_fee_fen, note.total_fee_fen) == ("131811191610442717309", 3960, 3960)
    assert note.refund_recv_accout == "支付用户零钱"
    assert note.success_time == dt.datetime(2018, 11, 19, 16, 24, 13, tzinfo=BEIJING)


DETAIL = (
    '{ "goods_detail":[ { "goods_id":"iphone6s_16G", "wxpay_goods_id":"1001", "goods_name":"iPhone6s 16G",'
    ' "quantity":1, "price":528800, "goods_category":"123456", "body":"苹果手机" } ] }'
)
UNIFIEDORDER_SAMPLE = f"""<xml>
   <appid>wx2421b1c4370ec43b</appid>
   <attach>支付测试</attach>
   <body>JSAPI支付测试</body>
   <mch_id>10000100</mch_id>
   <detail><![CDATA[{DETAIL}]]></detail>
   <nonce_str>{FIXED_NONCE}</nonce_str>
   <notify_url>https://wxpay.wxutil.com/pub_v2/pay/notify.v2.php</notify_url>
   <openid>oUpF8uMuAJO_M2pxb1Q9zNjWeS6o</openid>
   <out_trade_no>1415659990</out_trade_no>
   <spbill_create_ip>14.23.150.211</spbill_create_ip>
   <total_fee>1</total_fee>
   <trade_type>JSAPI</trade_type>
   <sign>0CB01533B8C1EF103065174F50BCA001</sign>
</xml>
"""


def test_our_unified_order_has_the_official_sample_fields() -> None:
    sample = from_xml(UNIFIEDORDER_SAMPLE)
    ctx = Context(MerchantCredentials(mchid="10000100", api_v2_key=V2_KEY), lambda: 1415659990.0, lambda: FIXED_NONCE)
    order = UnifiedOrder(
        trade_type="JSAPI",
        appid="wx2421b1c4370ec43b",
        body="JSAPI支付测试",
        out_trade_no="1415659990",
        total_fee_fen=1,
        spbill_create_ip="14.23.150.211",
        notify_url="https://wxpay.wxutil.com/pub_v2/pay/notify.v2.php",
        openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        attach="支付测试",
        detail=DETAIL,
    )
    ours = from_xml(order.build(ctx).body)
    assert {k: v for k, v in ours.items() if k != "sign"} == {k: v for k, v in sample.items() if k != "sign"}
    assert ours["sign"] == sign(sample, V2_KEY)


@pytest.mark.parametrize("detail", ["not json", "[1, 2]", "{}" + " " * 6000])
def test_bad_detail_is_refused(detail: str) -> None:
    with pytest.raises(ConfigurationError, match="detail"):
        UnifiedOrder(
            trade_type="NATIVE",
            appid="wx2421b1c4370ec43b",
            body="b",
            out_trade_no="1415659990",
            total_fee_fen=1,
            spbill_create_ip="14.23.150.211",
            notify_url="https://example.com/n",
            detail=detail,
        )
