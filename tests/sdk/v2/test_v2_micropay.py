"""付款码 over API v2: what Micropay and Reverse send, and how their answers are judged.

The signature is cross-checked with wechatpy 1.8.18's own ``calculate_signature`` over the fields its
``micropay.create`` / ``order.reverse`` send, so a bug shared by our signer and our simulator cannot hide.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from v2vectors import V2_APPID, V2_KEY, V2_MCHID
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature

from weipay.sdk.errors import ConfigurationError, OutcomeUnknown, PaymentPending, WeChatRefused
from weipay.sdk.operation import Context, HttpResponse
from weipay.sdk.v2 import Micropay, Reverse, SignType, V2MicropayResult, from_xml, verify
from weipay.sdk.v2.wechat_side import sign_response

AUTH_CODE = "134567890123456789"
CHARGE = Micropay(appid=V2_APPID, body="门店-深圳腾大-QQ公仔", out_trade_no="POS20261205000001", total_fee_fen=888,
                  spbill_create_ip="10.1.2.3", auth_code=AUTH_CODE, device_info="POS-7", attach="till=3")  # fmt: skip


def answer(fields: dict[str, str], *, status: int = 200) -> HttpResponse:
    base = {"return_code": "SUCCESS", "return_msg": "OK", "appid": V2_APPID, "mch_id": V2_MCHID,
            "nonce_str": "IITRi8Iabbblz1Jc", "result_code": "SUCCESS"}  # fmt: skip
    return HttpResponse(status, {"request-id": "req-7"}, sign_response({**base, **fields}, V2_KEY, "MD5"))


def refused(code: str, **extra: str) -> HttpResponse:
    return answer({"result_code": "FAIL", "err_code": code, "err_code_des": f"{code} 说明", **extra})


def test_micropay_sends_the_code_and_signs_every_field(ctx: Context) -> None:
    request = CHARGE.build(ctx)
    fields = from_xml(request.body)
    assert (request.path, request.mtls, request.idempotent) == ("/pay/micropay", False, False)
    assert fields["auth_code"] == AUTH_CODE and fields["total_fee"] == "888" and fields["device_info"] == "POS-7"
    assert "notify_url" not in fields and "trade_type" not in fields  # payment codes are never notified
    assert verify(fields, V2_KEY)
    unsigned = {name: value for name, value in fields.items() if name != "sign"}
    assert fields["sign"] == calculate_signature(unsigned, V2_KEY)


def test_the_code_stays_out_of_repr_and_errors() -> None:
    assert AUTH_CODE not in repr(CHARGE)
    with pytest.raises(ConfigurationError) as caught:
        Micropay(appid=V2_APPID, body="x", out_trade_no="POS00000001", total_fee_fen=1, spbill_create_ip="10.0.0.1",
                 auth_code="284567890123456789")  # an Alipay-shaped code  # fmt: skip
    assert "2845678901" not in str(caught.value)


@pytest.mark.parametrize("code", ["13456789012345678", "1345678901234567890", "164567890123456789",
                                  "13456789012345678a"])
def test_only_wechat_payment_codes_are_accepted(code: str) -> None:
    with pytest.raises(ConfigurationError):
        Micropay(appid=V2_APPID, body="x", out_trade_no="POS00000001", total_fee_fen=1, spbill_create_ip="10.0.0.1",
                 auth_code=code)  # fmt: skip


def test_a_paid_answer_is_the_payment(ctx: Context) -> None:
    result = CHARGE.parse(answer({
        "out_trade_no": "POS20261205000001", "transaction_id": "4200000483202012052069747825", "total_fee": "888",
        "cash_fee": "800", "coupon_fee": "88", "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "trade_type": "MICROPAY",
        "bank_type": "CMC", "time_end": "20261205101112",
    }), ctx)  # fmt: skip
    assert isinstance(result, V2MicropayResult)
    assert (result.total_fee_fen, result.cash_fee_fen, result.trade_type) == (888, 800, "MICROPAY")
    assert result.raw["coupon_fee"] == "88" and result.time_end is not None and result.time_end.hour == 10


@pytest.mark.parametrize("code", ["USERPAYING", "SYSTEMERROR", "BANKERROR"])
def test_an_open_outcome_is_pending_never_refused(ctx: Context, code: str) -> None:
    with pytest.raises(PaymentPending) as caught:
        CHARGE.parse(refused(code), ctx)
    assert isinstance(caught.value, OutcomeUnknown) and not isinstance(caught.value, WeChatRefused)
    assert caught.value.code == code and caught.value.user_paying == (code == "USERPAYING")
    assert caught.value.request_id == "req-7"


def test_an_http_5xx_leaves_the_charge_open(ctx: Context) -> None:
    with pytest.raises(PaymentPending):
        CHARGE.parse(HttpResponse(502, {}, b"<html>bad gateway</html>"), ctx)


@pytest.mark.parametrize("code", ["AUTHCODEEXPIRE", "AUTH_CODE_INVALID", "AUTH_CODE_ERROR", "NOTENOUGH", "ORDERPAID",
                                  "ORDERREVERSED", "BUYER_MISMATCH", "OUT_TRADE_NO_USED"])
def test_a_definite_no_is_refused_and_not_retried(ctx: Context, code: str) -> None:
    with pytest.raises(WeChatRefused) as caught:
        CHARGE.parse(refused(code), ctx)
    assert (caught.value.code, caught.value.retryable) == (code, False)


def test_reverse_goes_over_mutual_tls_and_may_be_repeated(ctx: Context) -> None:
    request = Reverse(appid=V2_APPID, out_trade_no="POS20261205000001", sign_type=SignType.HMAC_SHA256).build(ctx)
    fields = from_xml(request.body)
    assert (request.path, request.mtls, request.idempotent) == ("/secapi/pay/reverse", True, True)
    assert fields["out_trade_no"] == "POS20261205000001" and verify(fields, V2_KEY, SignType.HMAC_SHA256)
    with pytest.raises(ConfigurationError):
        Reverse(appid=V2_APPID)


def test_reverse_answers(ctx: Context) -> None:
    operation = Reverse(appid=V2_APPID, out_trade_no="POS20261205000001")
    assert operation.parse(answer({"recall": "N"}), ctx).out_trade_no is None
    with pytest.raises(WeChatRefused) as again:
        operation.parse(refused("USERPAYING", recall="Y"), ctx)
    assert again.value.retryable  # recall=Y asks for another reverse whatever the code
    with pytest.raises(WeChatRefused) as late:
        operation.parse(refused("REVERSE_EXPIRE", recall="N"), ctx)
    assert not late.value.retryable
    with pytest.raises(WeChatRefused) as busy:
        operation.parse(refused("SYSTEMERROR", recall="N"), ctx)
    assert busy.value.retryable
    with pytest.raises(WeChatRefused) as undone:
        operation.parse(answer({"recall": "Y"}), ctx)
    assert undone.value.retryable


class _Recorder(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, str]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        self.sent.append(from_xml(body))
        response = requests.Response()
        response.status_code = 200
        response._content = sign_response({"return_code": "SUCCESS", "result_code": "SUCCESS", "appid": V2_APPID,
                                           "mch_id": V2_MCHID, "recall": "N"}, V2_KEY, "MD5")  # fmt: skip
        response.headers = CaseInsensitiveDict({"content-type": "text/xml"})
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def test_wechatpy_sends_what_we_send(ctx: Context) -> None:
    """wechatpy's micropay.create and order.reverse carry the same business fields, and verify with us."""
    recorder = _Recorder()
    client = WeChatPay(appid=V2_APPID, api_key=V2_KEY, mch_id=V2_MCHID)
    client._http.mount("https://", recorder)
    client.micropay.create(body=CHARGE.body, total_fee=888, auth_code=AUTH_CODE, client_ip="10.1.2.3",
                           out_trade_no=CHARGE.out_trade_no, device_info="POS-7", attach="till=3")  # fmt: skip
    client.order.reverse(out_trade_no=CHARGE.out_trade_no)
    theirs, their_reverse = recorder.sent
    ours = from_xml(CHARGE.build(ctx).body)
    ignore = {"nonce_str", "sign", "fee_type"}  # wechatpy always sends fee_type=CNY
    assert {k: v for k, v in theirs.items() if k not in ignore} == {k: v for k, v in ours.items() if k not in ignore}
    assert verify(theirs, V2_KEY) and verify(their_reverse, V2_KEY)
    ours_reverse = from_xml(Reverse(appid=V2_APPID, out_trade_no=CHARGE.out_trade_no).build(ctx).body)
    assert {k: v for k, v in their_reverse.items() if k not in ignore} == {
        k: v for k, v in ours_reverse.items() if k not in ignore
    }
