"""wechatpy 1.8.18 as an independent peer, faked only at the wire (a requests adapter, no network).

wechatpy plays the merchant and our ``wechat_side`` plays WeChat, and the other way round: our
operations parse answers that wechatpy's own ``dict_to_xml`` wrote.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from v2vectors import V2_APPID, V2_KEY, V2_MCHID
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac, dict_to_xml

from weipay.sdk.errors import ProtocolError, UnverifiableResponse
from weipay.sdk.operation import Context, HttpResponse
from weipay.sdk.v2 import OrderQuery, SignType, UnifiedOrder, from_xml, verify
from weipay.sdk.v2.wechat_side import fail_response, sign_response

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


class WireRecorder(BaseAdapter):
    """Records what wechatpy sends and answers as WeChat would, using our wechat_side helpers."""

    def __init__(self, answer: Any) -> None:
        super().__init__()
        self.answer = answer
        self.bodies: list[bytes] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        self.bodies.append(body)
        response = requests.Response()
        response.status_code = 200
        response._content = self.answer(from_xml(body))
        response.headers = CaseInsensitiveDict({"content-type": "text/xml"})
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def _wechat_answer(request_fields: dict[str, str]) -> bytes:
    """WeChat's side: refuse a bad signature with FAIL, otherwise a signed prepay answer."""
    if not verify(request_fields, V2_KEY):
        return fail_response("签名错误")
    sign_type = request_fields.get("sign_type", "MD5")
    fields = {
        "return_code": "SUCCESS",
        "return_msg": "OK",
        "appid": request_fields["appid"],
        "mch_id": request_fields["mch_id"],
        "nonce_str": "IITRi8Iabbblz1Jc",
        "result_code": "SUCCESS",
        "trade_type": request_fields["trade_type"],
        "prepay_id": "wx201410272009395522657a690389285100",
    }
    return sign_response(fields, V2_KEY, sign_type)


def _client(adapter: WireRecorder, key: str = V2_KEY) -> WeChatPay:
    client = WeChatPay(appid=V2_APPID, api_key=key, mch_id=V2_MCHID)
    client._http.mount("https://", adapter)
    return client


@pytest.mark.parametrize("sign_type", [None, "HMAC-SHA256"])
def test_wechatpy_request_verifies_with_us_and_our_answer_satisfies_wechatpy(sign_type: str | None) -> None:
    adapter = WireRecorder(_wechat_answer)
    extra = {"sign_type": sign_type} if sign_type else {}
    result = _client(adapter).order.create(
        trade_type="JSAPI",
        body="商品 & <测试> 😀",
        total_fee=100,
        notify_url="https://merchant.example.com/notify",
        client_ip="127.0.0.1",
        user_id=OPENID,
        out_trade_no="1217752501201407033233368018",
        attach="a=1&b=2",
        time_start=dt.datetime(2014, 10, 27, 20, 9, 39),
        **extra,
    )
    assert result["prepay_id"] == "wx201410272009395522657a690389285100"
    received = from_xml(adapter.bodies[0])
    assert received["body"] == "商品 & <测试> 😀"
    assert received["total_fee"] == "100"
    assert verify(received, V2_KEY)


def test_wechat_side_refuses_wechatpy_with_the_wrong_key() -> None:
    adapter = WireRecorder(_wechat_answer)
    with pytest.raises(WeChatPayException) as caught:
        _client(adapter, key="0" * 32).order.query(out_trade_no="1217752501201407033233368018")
    assert caught.value.return_code == "FAIL"
    assert caught.value.return_msg == "签名错误"


def test_wechatpy_cdata_breaks_on_cdata_terminator_and_we_refuse_the_result() -> None:
    """Why we escape instead of using CDATA (T10): wechatpy's dict_to_xml lets ]]> inject markup."""
    fields = {"attach": "]]><total_fee>1</total_fee><![CDATA[", "total_fee": "100"}
    injected = dict_to_xml(fields, calculate_signature(fields, V2_KEY))
    with pytest.raises(ProtocolError):
        from_xml(injected)


def _wechatpy_built_answer(fields: dict[str, str], sign_type: str = "MD5") -> HttpResponse:
    signer = calculate_signature_hmac if sign_type == "HMAC-SHA256" else calculate_signature
    return HttpResponse(200, {}, dict_to_xml(fields, signer(fields, V2_KEY)).encode())


ANSWER = {
    "return_code": "SUCCESS",
    "return_msg": "OK",
    "appid": V2_APPID,
    "mch_id": V2_MCHID,
    "nonce_str": "IITRi8Iabbblz1Jc",
    "result_code": "SUCCESS",
    "trade_type": "NATIVE",
    "prepay_id": "wx201410272009395522657a690389285100",
    "code_url": "weixin://wxpay/bizpayurl?pr=8Xf2Qpf",
}
NATIVE = UnifiedOrder(
    trade_type="NATIVE",
    appid=V2_APPID,
    body="扫码商品",
    out_trade_no="1217752501201407033233368018",
    total_fee_fen=3,
    spbill_create_ip="14.23.150.211",
    notify_url="https://merchant.example.com/notify",
)


def test_our_operations_parse_answers_written_by_wechatpy(ctx: Context) -> None:
    assert NATIVE.parse(_wechatpy_built_answer(ANSWER), ctx).code_url == "weixin://wxpay/bizpayurl?pr=8Xf2Qpf"
    hmac_order = dataclasses.replace(NATIVE, sign_type=SignType.HMAC_SHA256)
    assert hmac_order.parse(_wechatpy_built_answer(ANSWER, "HMAC-SHA256"), ctx).prepay_id.startswith("wx2014")
    with pytest.raises(UnverifiableResponse):
        hmac_order.parse(_wechatpy_built_answer(ANSWER, "MD5"), ctx)


def test_order_query_parses_a_wechatpy_written_answer(ctx: Context) -> None:
    fields = {
        **{k: v for k, v in ANSWER.items() if k not in ("prepay_id", "code_url")},
        "trade_state": "SUCCESS",
        "out_trade_no": "1217752501201407033233368018",
        "transaction_id": "4200000483202001042069747825",
        "total_fee": "3",
        "time_end": "20141027200939",
    }
    order = OrderQuery(appid=V2_APPID, out_trade_no="1217752501201407033233368018").parse(
        _wechatpy_built_answer(fields), ctx
    )
    assert (order.trade_state, order.total_fee_fen) == ("SUCCESS", 3)
