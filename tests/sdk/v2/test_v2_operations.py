"""API v2 operations: what build() sends, and how parse() judges WeChat's answers (T18)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import xmltodict
from v2vectors import FIXED_NONCE, V2_APPID, V2_KEY, V2_MCHID

from weipay.sdk.errors import ConfigurationError, ProtocolError, UnverifiableResponse, WeChatRefused
from weipay.sdk.operation import Api, Context, HttpResponse
from weipay.sdk.v2 import (
    BEIJING,
    CloseOrder,
    OrderQuery,
    Refund,
    RefundQuery,
    SignType,
    UnifiedOrder,
    V2PrepayResult,
    from_xml,
    verify,
)
from weipay.sdk.v2.wechat_side import fail_response, sign_response

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
JSAPI = UnifiedOrder(
    trade_type="JSAPI",
    appid=V2_APPID,
    body="Image形象店-深圳腾大-QQ公仔",
    out_trade_no="1217752501201407033233368018",
    total_fee_fen=100,
    spbill_create_ip="14.23.150.211",
    notify_url="https://merchant.example.com/notify/v2/pay",
    openid=OPENID,
    attach="cart=42&coupon=<none>",
    time_expire=dt.datetime(2014, 10, 29, 12, 9, 39, tzinfo=dt.UTC),
)


def answer(fields: dict[str, str], *, sign_type: str = "MD5", status: int = 200, key: str = V2_KEY) -> HttpResponse:
    """A WeChat answer, signed as WeChat signs it."""
    base = {
        "return_code": "SUCCESS",
        "return_msg": "OK",
        "appid": V2_APPID,
        "mch_id": V2_MCHID,
        "nonce_str": "IITRi8Iabbblz1Jc",
        "result_code": "SUCCESS",
    }
    return HttpResponse(status, {"request-id": "req-1"}, sign_response({**base, **fields}, key, sign_type))


def sent(request_body: bytes) -> dict[str, str]:
    return from_xml(request_body)


# ---- build ----


def test_unified_order_request(ctx: Context) -> None:
    request = JSAPI.build(ctx)
    assert (request.api, request.method, request.path) == (Api.V2, "POST", "/pay/unifiedorder")
    assert (request.idempotent, request.mtls) == (False, False)
    fields = sent(request.body)
    assert fields == {
        "appid": V2_APPID,
        "attach": "cart=42&coupon=<none>",
        "body": "Image形象店-深圳腾大-QQ公仔",
        "mch_id": V2_MCHID,
        "nonce_str": FIXED_NONCE,
        "notify_url": "https://merchant.example.com/notify/v2/pay",
        "openid": OPENID,
        "out_trade_no": "1217752501201407033233368018",
        "spbill_create_ip": "14.23.150.211",
        "time_expire": "20141029200939",  # 12:09:39 UTC is 20:09:39 in Beijing
        "total_fee": "100",
        "trade_type": "JSAPI",
        "sign": fields["sign"],
    }
    assert "sign_type" not in fields
    assert verify(fields, V2_KEY, "MD5")


def test_build_is_read_identically_by_xmltodict(ctx: Context) -> None:
    for operation in (JSAPI, dataclasses.replace(JSAPI, sign_type=SignType.HMAC_SHA256), _refund()):
        body = operation.build(ctx).body
        assert dict(xmltodict.parse(body, strip_whitespace=False)["xml"]) == from_xml(body)


def test_hmac_request_carries_sign_type_and_verifies(ctx: Context) -> None:
    fields = sent(dataclasses.replace(JSAPI, sign_type=SignType.HMAC_SHA256).build(ctx).body)
    assert fields["sign_type"] == "HMAC-SHA256"
    assert len(fields["sign"]) == 64
    assert verify(fields, V2_KEY)
    assert not verify(fields, V2_KEY, "MD5")


def test_native_defaults_product_id_and_mweb_needs_scene_info(ctx: Context) -> None:
    native = dataclasses.replace(JSAPI, trade_type="NATIVE", openid=None)
    assert sent(native.build(ctx).body)["product_id"] == JSAPI.out_trade_no
    assert "openid" not in sent(native.build(ctx).body)
    scene = '{"h5_info": {"type": "Wap", "wap_url": "https://m.example.com", "wap_name": "shop"}}'
    mweb = dataclasses.replace(JSAPI, trade_type="MWEB", openid=None, scene_info=scene)
    assert sent(mweb.build(ctx).body)["scene_info"] == scene
    with pytest.raises(ConfigurationError, match="scene_info"):
        dataclasses.replace(JSAPI, trade_type="MWEB", openid=None)


def _refund(**changes: Any) -> Refund:
    refund = Refund(
        appid=V2_APPID,
        out_refund_no="R1217752501201407033233368018",
        total_fee_fen=100,
        refund_fee_fen=40,
        out_trade_no="1217752501201407033233368018",
        refund_desc="缺货",
        refund_account="REFUND_SOURCE_RECHARGE_FUNDS",
        notify_url="https://merchant.example.com/notify/v2/refund",
    )
    return dataclasses.replace(refund, **changes)


def test_refund_request_is_mtls(ctx: Context) -> None:
    request = _refund().build(ctx)
    assert (request.path, request.mtls, request.idempotent) == ("/secapi/pay/refund", True, False)
    fields = sent(request.body)
    assert (fields["total_fee"], fields["refund_fee"], fields["refund_desc"]) == ("100", "40", "缺货")
    assert fields["refund_account"] == "REFUND_SOURCE_RECHARGE_FUNDS"
    assert verify(fields, V2_KEY)


def test_queries_are_idempotent_and_close_is_not(ctx: Context) -> None:
    query = OrderQuery(appid=V2_APPID, transaction_id="4200000483202001042069747825").build(ctx)
    assert (query.path, query.idempotent) == ("/pay/orderquery", True)
    assert sent(query.body)["transaction_id"] == "4200000483202001042069747825"
    refund_query = RefundQuery(appid=V2_APPID, out_refund_no="R1").build(ctx)
    assert (refund_query.path, refund_query.idempotent) == ("/pay/refundquery", True)
    close = CloseOrder(appid=V2_APPID, out_trade_no="1217752501201407033233368018").build(ctx)
    assert (close.path, close.idempotent) == ("/pay/closeorder", False)


# ---- input validation ----

BAD_ORDERS: list[tuple[dict[str, Any], str]] = [
    ({"total_fee_fen": 0}, "> 0"),
    ({"total_fee_fen": -1}, "> 0"),
    ({"total_fee_fen": True}, "int amount"),
    ({"total_fee_fen": 1.0}, "int amount"),
    ({"total_fee_fen": "100"}, "int amount"),
    ({"out_trade_no": "12345"}, "6-32"),
    ({"out_trade_no": "x" * 33}, "6-32"),
    ({"out_trade_no": "order#123456"}, "6-32"),
    ({"body": ""}, "non-empty"),
    ({"body": "x" * 129}, "at most 128"),
    ({"body": " padded"}, "whitespace"),
    ({"body": "a\x00b"}, "control character"),
    ({"attach": "x" * 128}, "at most 127"),
    ({"notify_url": "https://m.example.com/notify?id=1"}, "query string"),
    ({"notify_url": "ftp://m.example.com/notify"}, "http"),
    ({"notify_url": "/notify"}, "http"),
    ({"spbill_create_ip": "localhost"}, "IPv4 or IPv6"),
    ({"openid": None}, "openid"),
    ({"trade_type": "MICROPAY"}, "trade_type"),
    ({"appid": ""}, "appid"),
    ({"time_expire": dt.datetime(2030, 1, 1)}, "timezone-aware"),
    ({"sign_type": "SHA1"}, "sign_type"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_ORDERS)
def test_bad_unified_orders_are_refused_before_building(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        dataclasses.replace(JSAPI, **changes)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: _refund(refund_fee_fen=101), "exceeds"),
        (lambda: _refund(transaction_id="4200000483202001042069747825"), "exactly one"),
        (lambda: _refund(out_trade_no=None), "exactly one"),
        (lambda: _refund(out_refund_no="R 1"), "out_refund_no"),
        (lambda: _refund(refund_desc="x" * 81), "at most 80"),
        (lambda: _refund(refund_account="BALANCE"), "refund_account"),
        (lambda: OrderQuery(appid=V2_APPID), "exactly one"),
        (lambda: OrderQuery(appid=V2_APPID, out_trade_no="123456", transaction_id="42"), "exactly one"),
        (lambda: RefundQuery(appid=V2_APPID), "exactly one"),
        (lambda: RefundQuery(appid=V2_APPID, refund_id="5030", out_refund_no="R1"), "exactly one"),
        (lambda: CloseOrder(appid=V2_APPID, out_trade_no="1"), "6-32"),
    ],
)
def test_other_bad_arguments(build: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()


def test_missing_v2_key_is_a_configuration_error() -> None:
    from weipay.sdk.credentials import MerchantCredentials

    bare = Context(MerchantCredentials(mchid=V2_MCHID), clock=lambda: 0.0, nonce=lambda: FIXED_NONCE)
    with pytest.raises(ConfigurationError, match="api_v2_key"):
        JSAPI.build(bare)


# ---- parse: the envelope ----


def test_unified_order_success(ctx: Context) -> None:
    result = JSAPI.parse(answer({"trade_type": "JSAPI", "prepay_id": "wx201410272009395522657a690389285100"}), ctx)
    assert result == V2PrepayResult("JSAPI", "wx201410272009395522657a690389285100", None, None)


def test_native_success_has_code_url(ctx: Context) -> None:
    native = dataclasses.replace(JSAPI, trade_type="NATIVE", openid=None)
    fields = {"trade_type": "NATIVE", "prepay_id": "wx2014", "code_url": "weixin://wxpay/bizpayurl?pr=8Xf2Qpf"}
    assert native.parse(answer(fields), ctx).code_url == "weixin://wxpay/bizpayurl?pr=8Xf2Qpf"


def test_hmac_request_needs_hmac_answer(ctx: Context) -> None:
    hmac_order = dataclasses.replace(JSAPI, sign_type=SignType.HMAC_SHA256)
    fields = {"trade_type": "JSAPI", "prepay_id": "wx2014"}
    assert hmac_order.parse(answer(fields, sign_type="HMAC-SHA256"), ctx).prepay_id == "wx2014"
    with pytest.raises(UnverifiableResponse):
        hmac_order.parse(answer(fields, sign_type="MD5"), ctx)
    with pytest.raises(UnverifiableResponse):
        JSAPI.parse(answer(fields, sign_type="HMAC-SHA256"), ctx)


@pytest.mark.parametrize("return_msg", ["签名错误", "签名错误，请检查后再试", "SIGN ERROR", "sign error"])
def test_fail_envelope_with_bad_signature(ctx: Context, return_msg: str) -> None:
    with pytest.raises(WeChatRefused) as caught:
        JSAPI.parse(HttpResponse(200, {}, fail_response(return_msg)), ctx)
    assert caught.value.code == "SIGNERROR"
    assert caught.value.message == return_msg
    assert not caught.value.retryable


def test_fail_envelope_other(ctx: Context) -> None:
    with pytest.raises(WeChatRefused) as caught:
        JSAPI.parse(HttpResponse(200, {"request-id": "r9"}, fail_response("appid不存在")), ctx)
    assert (caught.value.code, caught.value.message, caught.value.request_id) == ("FAIL", "appid不存在", "r9")


@pytest.mark.parametrize(
    ("err_code", "retryable"), [("ORDERPAID", False), ("SYSTEMERROR", True), ("INVALID_REQUEST", False)]
)
def test_business_failure(ctx: Context, err_code: str, retryable: bool) -> None:
    response = answer({"result_code": "FAIL", "err_code": err_code, "err_code_des": "说明"})
    with pytest.raises(WeChatRefused) as caught:
        JSAPI.parse(response, ctx)
    assert (caught.value.code, caught.value.message, caught.value.status) == (err_code, "说明", 200)
    assert caught.value.retryable is retryable
    assert "sign" not in caught.value.detail


def test_business_failure_must_be_signed_too(ctx: Context) -> None:
    """A forged FAIL could make us give up on a paid order; unsigned result_code FAIL is unverifiable."""
    response = answer({"result_code": "FAIL", "err_code": "ORDERCLOSED", "err_code_des": "x"}, key="0" * 32)
    with pytest.raises(UnverifiableResponse):
        JSAPI.parse(response, ctx)


@pytest.mark.parametrize("status", [500, 502, 503, 404, 301])
def test_http_errors_are_refusals_with_status(ctx: Context, status: int) -> None:
    with pytest.raises(WeChatRefused) as caught:
        JSAPI.parse(HttpResponse(status, {}, b"<html>busy</html>"), ctx)
    assert caught.value.status == status
    assert caught.value.retryable is (status >= 500)


def _tamper(response: HttpResponse, **changes: str) -> HttpResponse:
    fields = {**from_xml(response.body), **changes}
    from weipay.sdk.v2 import to_xml

    return HttpResponse(response.status, response.headers, to_xml(fields))


GOOD = {"trade_type": "JSAPI", "prepay_id": "wx2014"}


@pytest.mark.parametrize(
    "forged",
    [
        lambda: _tamper(answer(GOOD), prepay_id="wx_attacker"),
        lambda: _tamper(answer(GOOD), sign=""),
        lambda: _tamper(answer(GOOD), extra_field="1"),
        lambda: answer(GOOD, key="0" * 32),
        lambda: answer({**GOOD, "appid": "wx0000000000000000"}),
        lambda: answer({**GOOD, "mch_id": "1900000109"}),
        lambda: answer({**GOOD, "appid": ""}),
    ],
    ids=["altered", "unsigned", "extra-field", "wrong-key", "foreign-appid", "foreign-mch", "no-appid"],
)
def test_unverifiable_success_answers(ctx: Context, forged: Any) -> None:
    with pytest.raises(UnverifiableResponse):
        JSAPI.parse(forged(), ctx)


def test_unknown_answer_field_is_fine_when_signed(ctx: Context) -> None:
    assert JSAPI.parse(answer({**GOOD, "field_from_2031": "x"}), ctx).prepay_id == "wx2014"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<xml><return_code>MAYBE</return_code></xml>",
        b"<root><return_code>SUCCESS</return_code></root>",
    ],
)
def test_malformed_answers_are_protocol_errors(ctx: Context, body: bytes) -> None:
    with pytest.raises(ProtocolError):
        JSAPI.parse(HttpResponse(200, {}, body), ctx)


def test_missing_prepay_id_is_a_protocol_error(ctx: Context) -> None:
    with pytest.raises(ProtocolError, match="prepay_id"):
        JSAPI.parse(answer({"trade_type": "JSAPI"}), ctx)


# ---- parse: typed results ----


def test_order_query_result(ctx: Context) -> None:
    fields = {
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "out_trade_no": "1217752501201407033233368018",
        "transaction_id": "4200000483202001042069747825",
        "total_fee": "100",
        "cash_fee": "90",
        "coupon_fee": "10",
        "coupon_count": "1",
        "coupon_id_0": "10000",
        "fee_type": "CNY",
        "openid": OPENID,
        "trade_type": "JSAPI",
        "bank_type": "CMC",
        "time_end": "20141030133525",
        "is_subscribe": "Y",
    }
    order = OrderQuery(appid=V2_APPID, out_trade_no="1217752501201407033233368018").parse(answer(fields), ctx)
    assert (order.trade_state, order.total_fee_fen, order.cash_fee_fen) == ("SUCCESS", 100, 90)
    assert order.time_end == dt.datetime(2014, 10, 30, 13, 35, 25, tzinfo=BEIJING)
    assert order.raw["coupon_id_0"] == "10000"
    assert (order.coupon_fee_fen, order.coupon_count) == (10, 1)
    assert [coupon.coupon_id for coupon in order.coupons] == ["10000"]
    assert order.attach is None


def test_order_query_notpay_has_few_fields(ctx: Context) -> None:
    fields = {"trade_state": "NOTPAY", "out_trade_no": "1217752501201407033233368018", "trade_state_desc": "未支付"}
    order = OrderQuery(appid=V2_APPID, out_trade_no="1217752501201407033233368018").parse(answer(fields), ctx)
    assert (order.trade_state, order.transaction_id) == ("NOTPAY", None)
    assert (order.total_fee_fen, order.time_end) == (None, None)


def test_order_query_not_found(ctx: Context) -> None:
    response = answer({"result_code": "FAIL", "err_code": "ORDERNOTEXIST", "err_code_des": "order not exist"})
    with pytest.raises(WeChatRefused) as caught:
        OrderQuery(appid=V2_APPID, out_trade_no="1217752501201407033233368018").parse(response, ctx)
    assert caught.value.code == "ORDERNOTEXIST"


@pytest.mark.parametrize("bad", [{"total_fee": "1.00"}, {"time_end": "2014-10-30"}, {"time_end": "20141399999999"}])
def test_malformed_signed_fields_are_protocol_errors(ctx: Context, bad: dict[str, str]) -> None:
    fields = {"trade_state": "SUCCESS", "out_trade_no": "1217752501201407033233368018", **bad}
    with pytest.raises(ProtocolError):
        OrderQuery(appid=V2_APPID, out_trade_no="1217752501201407033233368018").parse(answer(fields), ctx)


def test_close_order(ctx: Context) -> None:
    close = CloseOrder(appid=V2_APPID, out_trade_no="1217752501201407033233368018")
    assert close.parse(answer({"result_msg": "OK"}), ctx) is None
    with pytest.raises(WeChatRefused, match="ORDERPAID"):
        close.parse(answer({"result_code": "FAIL", "err_code": "ORDERPAID", "err_code_des": "paid"}), ctx)


def test_refund_accepted(ctx: Context) -> None:
    fields = {
        "transaction_id": "4200000483202001042069747825",
        "out_trade_no": "1217752501201407033233368018",
        "out_refund_no": "R1217752501201407033233368018",
        "refund_id": "50300103182020010413419046597",
        "refund_fee": "40",
        "settlement_refund_fee": "40",
        "total_fee": "100",
        "cash_fee": "100",
        "coupon_refund_fee": "0",
    }
    accepted = _refund().parse(answer(fields), ctx)
    assert (accepted.refund_id, accepted.refund_fee_fen, accepted.total_fee_fen) == (
        "50300103182020010413419046597",
        40,
        100,
    )
    assert accepted.settlement_refund_fee_fen == 40
    with pytest.raises(WeChatRefused) as caught:
        _refund().parse(answer({"result_code": "FAIL", "err_code": "NOTENOUGH", "err_code_des": "余额不足"}), ctx)
    assert caught.value.code == "NOTENOUGH"


def test_refund_query_lists_every_refund(ctx: Context) -> None:
    fields = {
        "transaction_id": "4200000483202001042069747825",
        "out_trade_no": "1217752501201407033233368018",
        "total_fee": "100",
        "refund_count": "2",
        "out_refund_no_0": "R1",
        "refund_id_0": "50300103182020010413419046597",
        "refund_fee_0": "40",
        "refund_status_0": "SUCCESS",
        "refund_account_0": "REFUND_SOURCE_UNSETTLED_FUNDS",
        "refund_recv_accout_0": "支付用户的零钱",
        "refund_success_time_0": "2020-01-04 18:34:24",
        "refund_channel_0": "ORIGINAL",
        "out_refund_no_1": "R2",
        "refund_id_1": "50300103182020010413419046598",
        "refund_fee_1": "60",
        "refund_status_1": "PROCESSING",
    }
    result = RefundQuery(appid=V2_APPID, out_trade_no="1217752501201407033233368018").parse(answer(fields), ctx)
    assert [(r.out_refund_no, r.refund_fee_fen, r.refund_status) for r in result.refunds] == [
        ("R1", 40, "SUCCESS"),
        ("R2", 60, "PROCESSING"),
    ]
    assert result.refunds[0].success_time == dt.datetime(2020, 1, 4, 18, 34, 24, tzinfo=BEIJING)
    assert result.refunds[0].recv_account == "支付用户的零钱"
    assert result.refunds[1].success_time is None
    with pytest.raises(ProtocolError, match="out_refund_no_2"):
        RefundQuery(appid=V2_APPID, out_refund_no="R1").parse(answer({**fields, "refund_count": "3"}), ctx)


def test_answer_verification_uses_compare_digest_once(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """T12: one constant-time comparison per verified answer, and none for an unsigned FAIL envelope."""
    import hmac

    calls: list[int] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    JSAPI.parse(answer(GOOD), ctx)
    with pytest.raises(UnverifiableResponse):
        JSAPI.parse(answer(GOOD, key="0" * 32), ctx)
    with pytest.raises(WeChatRefused):
        JSAPI.parse(HttpResponse(200, {}, fail_response("签名错误")), ctx)
    assert len(calls) == 2


def test_time_expire_must_lie_ahead_of_the_clock(ctx: Context) -> None:
    now_s = ctx.clock()
    soon = dt.datetime.fromtimestamp(now_s + 30, tz=dt.UTC)
    later = dt.datetime.fromtimestamp(now_s + 120, tz=BEIJING)
    with pytest.raises(ConfigurationError, match="time_expire"):
        dataclasses.replace(JSAPI, time_expire=soon).build(ctx)
    assert sent(dataclasses.replace(JSAPI, time_expire=later).build(ctx).body)["time_expire"] == later.strftime(
        "%Y%m%d%H%M%S"
    )


@pytest.mark.parametrize("nonce", ["", "x" * 33, "nonce-with-dash", "随机"])
def test_a_bad_nonce_source_is_a_configuration_error(ctx: Context, nonce: str) -> None:
    bad = Context(ctx.credentials, ctx.clock, lambda: nonce)
    with pytest.raises(ConfigurationError, match="nonce"):
        JSAPI.build(bad)


def test_refund_query_offset(ctx: Context) -> None:
    fields = sent(RefundQuery(appid=V2_APPID, transaction_id="4200000483202001042069747825", offset=10).build(ctx).body)
    assert fields["offset"] == "10"
    assert "offset" not in sent(RefundQuery(appid=V2_APPID, refund_id="5030").build(ctx).body)
    for bad in (-1, True, "10"):
        with pytest.raises(ConfigurationError, match="offset"):
            RefundQuery(appid=V2_APPID, refund_id="5030", offset=bad)  # type: ignore[arg-type]


def test_signed_answer_without_result_code_is_a_protocol_error(ctx: Context) -> None:
    from weipay.sdk.v2.wechat_side import sign_response as sign_answer

    fields = {"return_code": "SUCCESS", "appid": V2_APPID, "mch_id": V2_MCHID, "prepay_id": "wx1"}
    with pytest.raises(ProtocolError, match="result_code"):
        JSAPI.parse(HttpResponse(200, {}, sign_answer(fields, V2_KEY)), ctx)
