"""Operations: the exact requests they build, the validation before building, the answers they parse."""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from weipay.sdk.crypto import oaep_decrypt
from weipay.sdk.errors import ConfigurationError, OutcomeUnknown, ProtocolError, WeChatRefused
from weipay.sdk.operation import Api, HttpResponse
from weipay.sdk.v3 import (
    BillLocation,
    CloseOrder,
    CreateOrder,
    CreateRefund,
    DownloadBill,
    DownloadCertificates,
    FundFlowBill,
    PrepayResult,
    QueryOrder,
    QueryRefund,
    TradeBill,
    encrypt_sensitive,
    sensitive_headers,
)
from weipay.sdk.v3.wechat_side import MESSAGE_BAD_SIGNATURE, encrypt_certificates_response, error_body

API_V3_KEY = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
NOTIFY = "https://merchant.example.com/notify/wechatpay/v3/1230000109"
BASE = {
    "appid": "wxd678efh567hg6787",
    "description": "QQ公仔",
    "out_trade_no": "ORDER_000001",
    "amount_fen": 100,
    "notify_url": NOTIFY,
}
BILL = (
    "交易时间,公众账号ID,商户号,微信订单号,商户订单号,交易状态,应结订单金额,微信退款单号,商户退款单号,退款金额,商品名称,手续费,订单金额\n"
    "`2026-01-04 18:30:59,`wxd678efh567hg6787,`1230000109,`4200000483202001042069747825,`ORDER_000001,`SUCCESS,"
    "`1.00,`0,`0,`0.00,`QQ公仔, 大号,`0.00600,`1.00\n"
    "总交易单数,应结订单总金额,退款总金额,手续费总金额,订单总金额\n"
    "`1,`1.00,`0.00,`0.00600,`1.00\n"
).encode()


def _json(status: int, value: object, request_id: str = "REQ-1") -> HttpResponse:
    return HttpResponse(
        status,
        {"request-id": request_id, "content-type": "application/json"},
        json.dumps(value, ensure_ascii=False).encode(),
    )


# CreateOrder -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "extra", "expected_tail"),
    [
        (
            "jsapi",
            {"payer_openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            ',"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}',
        ),
        ("native", {}, ',"amount":{"total":100,"currency":"CNY"}}'),
        ("app", {}, ',"amount":{"total":100,"currency":"CNY"}}'),
        (
            "h5",
            {"payer_client_ip": "14.23.150.211"},
            ',"scene_info":{"payer_client_ip":"14.23.150.211","h5_info":{"type":"Wap"}}}',
        ),
    ],
)
def test_create_order_builds_each_channel(make_ctx, channel, extra, expected_tail) -> None:
    request = CreateOrder(channel=channel, **BASE, **extra).build(make_ctx())
    assert (request.api, request.method, request.path) == (Api.V3, "POST", f"/v3/pay/transactions/{channel}")
    assert request.body.decode().endswith(expected_tail)
    assert b"null" not in request.body and b" " not in request.body
    assert "QQ公仔".encode() in request.body  # raw UTF-8, not \\u escapes
    assert request.headers["Content-Type"] == "application/json"
    assert request.verify_response and not request.idempotent


def test_create_order_optional_fields(make_ctx) -> None:
    expiry = datetime(2026, 1, 4, 10, 34, 56, tzinfo=UTC)
    request = CreateOrder(channel="native", **BASE, time_expire=expiry, attach="cart=7").build(make_ctx())
    body = json.loads(request.body)
    assert body["time_expire"] == "2026-01-04T18:34:56+08:00"
    assert body["attach"] == "cart=7"
    assert body["mchid"] == "1230000109"
    assert list(body)[:6] == ["appid", "mchid", "description", "out_trade_no", "time_expire", "attach"]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"amount_fen": 0}, "amount_fen"),
        ({"amount_fen": -1}, "amount_fen"),
        ({"amount_fen": True}, "amount_fen"),
        ({"amount_fen": 1.5}, "amount_fen"),
        ({"amount_fen": "100"}, "amount_fen"),
        ({"out_trade_no": "12345"}, "out_trade_no"),
        ({"out_trade_no": "x" * 33}, "out_trade_no"),
        ({"out_trade_no": "ORDER 0001"}, "out_trade_no"),
        ({"out_trade_no": "订单000001"}, "out_trade_no"),
        ({"description": "d" * 128}, "description"),
        ({"description": ""}, "description"),
        ({"description": "cake 🎂"}, "description"),
        ({"notify_url": "ftp://merchant.example.com/n"}, "notify_url"),
        ({"notify_url": NOTIFY + "?order=1"}, "query string"),
        ({"notify_url": "/notify"}, "notify_url"),
        ({"attach": "a" * 129}, "attach"),
        ({"channel": "micropay"}, "channel"),
        ({"currency": "USD"}, "currency"),
        ({"time_expire": datetime(2026, 1, 1)}, "timezone"),
        ({"channel": "jsapi"}, "payer_openid"),
        ({"channel": "native", "payer_openid": "o1"}, "jsapi payments only"),
        ({"notify_url": NOTIFY + "#top"}, "fragment"),
        ({"channel": "h5"}, "payer_client_ip"),
        ({"channel": "h5", "payer_client_ip": "not-an-ip"}, "payer_client_ip"),
        ({"channel": "h5", "payer_client_ip": "1.2.3.4", "h5_type": "Windows"}, "h5_type"),
    ],
)
def test_create_order_validation(make_ctx, changes, fragment) -> None:
    fields = {"channel": "native", **BASE, **changes}
    with pytest.raises(ConfigurationError, match=fragment):
        CreateOrder(**fields).build(make_ctx())


def test_out_trade_no_edges_are_accepted(make_ctx) -> None:
    for value in ["123456", "x" * 32, "A-b_c|d*e"]:
        CreateOrder(channel="native", **{**BASE, "out_trade_no": value}).build(make_ctx())


def test_create_order_parses_the_channel_field(make_ctx) -> None:
    ctx = make_ctx()
    native = CreateOrder(channel="native", **BASE)
    assert native.parse(_json(200, {"code_url": "weixin://wxpay/bizpayurl?pr=JyC91EIz1"}), ctx) == PrepayResult(
        code_url="weixin://wxpay/bizpayurl?pr=JyC91EIz1"
    )
    jsapi = CreateOrder(channel="jsapi", **BASE, payer_openid="o1")
    assert jsapi.parse(_json(200, {"prepay_id": "wx1", "new": 1}), ctx).prepay_id == "wx1"
    with pytest.raises(ProtocolError, match="prepay_id") as caught:
        jsapi.parse(_json(200, {"code_url": "weixin://x"}), ctx)
    assert caught.value.request_id == "REQ-1"


def test_errors_are_mapped_in_one_place(make_ctx) -> None:
    ctx, op = make_ctx(), CreateOrder(channel="native", **BASE)
    detail = {"field": "signature", "location": "authorization"}
    with pytest.raises(WeChatRefused) as caught:
        op.parse(_json(401, {"code": "SIGN_ERROR", "message": "错误的签名，验签失败", "detail": detail}), ctx)
    refused = caught.value
    assert (refused.code, refused.message, refused.status, refused.detail, refused.request_id) == (
        "SIGN_ERROR",
        "错误的签名，验签失败",
        401,
        detail,
        "REQ-1",
    )
    assert not refused.retryable
    with pytest.raises(WeChatRefused) as caught:
        op.parse(_json(500, {"code": "SYSTEM_ERROR", "message": "系统异常，请稍后重试"}), ctx)
    assert caught.value.retryable
    with pytest.raises(WeChatRefused) as caught:
        op.parse(HttpResponse(502, {}, b"<html>Bad Gateway</html>"), ctx)
    assert (caught.value.code, caught.value.status) == ("HTTP_502", 502)
    with pytest.raises(OutcomeUnknown):
        op.parse(_json(202, {"code": "USERPAYING", "message": "用户支付中"}), ctx)
    for body in [b"not json", b"[1,2]", b"\xff\xfe", b""]:
        with pytest.raises(ProtocolError):
            op.parse(HttpResponse(200, {}, body), ctx)


# QueryOrder / CloseOrder -------------------------------------------------------------------------


def test_query_order_paths(make_ctx) -> None:
    ctx = make_ctx()
    by_no = QueryOrder(out_trade_no="A|B*C-1_2").build(ctx)
    assert by_no.path == "/v3/pay/transactions/out-trade-no/A%7CB%2AC-1_2?mchid=1230000109"
    assert (by_no.method, by_no.body, by_no.idempotent) == ("GET", b"", True)
    by_id = QueryOrder(transaction_id="4200000483202001042069747825").build(ctx)
    assert by_id.path == "/v3/pay/transactions/id/4200000483202001042069747825?mchid=1230000109"
    for bad in [
        QueryOrder(),
        QueryOrder(out_trade_no="ORDER_1", transaction_id="42"),
        QueryOrder(transaction_id="../42"),
        QueryOrder(out_trade_no="../../x"),
    ]:
        with pytest.raises(ConfigurationError):
            bad.build(ctx)


def test_query_order_parses_an_unpaid_order(make_ctx) -> None:
    unpaid = {
        "amount": {"currency": "CNY", "payer_currency": "CNY", "total": 100},
        "appid": "wxd678efh567hg6787",
        "mchid": "1230000109",
        "out_trade_no": "ORDER_000001",
        "promotion_detail": [],
        "scene_info": {"device_id": ""},
        "trade_state": "NOTPAY",
        "trade_state_desc": "订单未支付",
    }
    tx = QueryOrder(out_trade_no="ORDER_000001").parse(_json(200, unpaid), make_ctx())
    assert (tx.trade_state, tx.transaction_id, tx.payer_openid, tx.success_time, tx.amount.payer_total_fen) == (
        "NOTPAY",
        None,
        None,
        None,
        None,
    )
    with pytest.raises(WeChatRefused, match="ORDER_NOT_EXIST"):
        QueryOrder(out_trade_no="ORDER_000001").parse(
            _json(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}), make_ctx()
        )


def test_close_order(make_ctx) -> None:
    ctx = make_ctx()
    op = CloseOrder("ORDER_000001")
    request = op.build(ctx)
    assert (request.method, request.path, request.body) == (
        "POST",
        "/v3/pay/transactions/out-trade-no/ORDER_000001/close",
        b'{"mchid":"1230000109"}',
    )
    assert op.parse(HttpResponse(204, {}, b""), ctx) is None
    with pytest.raises(ProtocolError):
        op.parse(_json(200, {}), ctx)
    with pytest.raises(WeChatRefused, match="ORDERPAID"):
        op.parse(_json(400, {"code": "ORDERPAID", "message": "订单已支付"}), ctx)


# Refunds -----------------------------------------------------------------------------------------

REFUND_ANSWER = {
    "refund_id": "50300103182020010413419046597",
    "out_refund_no": "R@2026|01",
    "transaction_id": "4200000483202001",
    "out_trade_no": "ORDER_000001",
    "channel": "ORIGINAL",
    "user_received_account": "支付用户零钱",
    "create_time": "2026-01-04T18:40:00+08:00",
    "status": "PROCESSING",
    "funds_account": "AVAILABLE",
    "amount": {
        "total": 100,
        "refund": 40,
        "payer_total": 100,
        "payer_refund": 40,
        "settlement_refund": 40,
        "settlement_total": 100,
        "discount_refund": 0,
        "currency": "CNY",
        "from": [],
    },
    "promotion_detail": [],
}


def test_create_refund(make_ctx) -> None:
    op = CreateRefund(
        out_refund_no="R@2026|01",
        refund_fen=40,
        total_fen=100,
        out_trade_no="ORDER_000001",
        reason="商品已售完",
        notify_url=NOTIFY,
    )
    request = op.build(make_ctx())
    assert (request.method, request.path) == ("POST", "/v3/refund/domestic/refunds")
    assert json.loads(request.body) == {
        "out_trade_no": "ORDER_000001",
        "out_refund_no": "R@2026|01",
        "reason": "商品已售完",
        "notify_url": NOTIFY,
        "amount": {"refund": 40, "total": 100, "currency": "CNY"},
    }
    refund = op.parse(_json(200, REFUND_ANSWER), make_ctx())
    assert (refund.status, refund.amount.refund_fen, refund.amount.settlement_refund_fen, refund.success_time) == (
        "PROCESSING",
        40,
        40,
        None,
    )
    assert refund.create_time == datetime(2026, 1, 4, 10, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"refund_fen": 101}, "exceed"),
        ({"refund_fen": 0}, "refund_fen"),
        ({"total_fen": False}, "total_fen"),
        ({"transaction_id": "4200000483202001"}, "exactly one"),
        ({"out_trade_no": None}, "exactly one"),
        ({"out_refund_no": "R" * 65}, "out_refund_no"),
        ({"out_refund_no": "R#1"}, "out_refund_no"),
        ({"reason": "r" * 81}, "reason"),
        ({"funds_account": "UNAVAILABLE"}, "funds_account"),
        ({"notify_url": "https://a.example/n?x=1"}, "query string"),
    ],
)
def test_create_refund_validation(make_ctx, changes, fragment) -> None:
    fields = {"out_refund_no": "R1", "refund_fen": 40, "total_fen": 100, "out_trade_no": "ORDER_000001", **changes}
    with pytest.raises(ConfigurationError, match=fragment):
        CreateRefund(**fields).build(make_ctx())


def test_query_refund(make_ctx) -> None:
    request = QueryRefund("R@2026|01").build(make_ctx())
    assert (request.method, request.path, request.idempotent) == (
        "GET",
        "/v3/refund/domestic/refunds/R%402026%7C01",
        True,
    )
    assert QueryRefund("R@2026|01").parse(_json(200, REFUND_ANSWER), make_ctx()).refund_id.startswith("503")
    with pytest.raises(ProtocolError, match="status"):
        QueryRefund("R1").parse(_json(200, {k: v for k, v in REFUND_ANSWER.items() if k != "status"}), make_ctx())


# Bills -------------------------------------------------------------------------------------------


def test_bill_apply_requests(make_ctx) -> None:
    ctx = make_ctx()
    assert TradeBill(date(2026, 1, 4)).build(ctx).path == "/v3/bill/tradebill?bill_date=2026-01-04&bill_type=ALL"
    assert TradeBill(date(2026, 1, 4), "REFUND", gzip=True).build(ctx).path == (
        "/v3/bill/tradebill?bill_date=2026-01-04&bill_type=REFUND&tar_type=GZIP"
    )
    assert FundFlowBill(date(2026, 1, 4), "FEES", gzip=True).build(ctx).path == (
        "/v3/bill/fundflowbill?bill_date=2026-01-04&account_type=FEES&tar_type=GZIP"
    )
    with pytest.raises(ConfigurationError, match="bill_type"):
        TradeBill(date(2026, 1, 4), "EVERYTHING").build(ctx)
    with pytest.raises(ConfigurationError, match="bill_date"):
        TradeBill(datetime(2026, 1, 4, tzinfo=UTC)).build(ctx)
    with pytest.raises(ConfigurationError, match="account_type"):
        FundFlowBill(date(2026, 1, 4), "ALL").build(ctx)
    answer = {
        "hash_type": "SHA1",
        "hash_value": "79bb0f45fc4c42234a918000b2668d689e2bde04",
        "download_url": "https://api.mch.weixin.qq.com/v3/bill/downloadurl?token=xxx",
    }
    location = TradeBill(date(2026, 1, 4)).parse(_json(200, answer), ctx)
    assert location == BillLocation(**answer)
    with pytest.raises(ProtocolError, match="download_url"):
        FundFlowBill(date(2026, 1, 4)).parse(_json(200, {"hash_type": "SHA1", "hash_value": "x"}), ctx)


def _location(data: bytes, hash_type: str = "SHA1") -> BillLocation:
    digest = hashlib.new(hash_type.lower(), data).hexdigest().upper()
    return BillLocation(
        hash_type, digest, "https://api.mch.weixin.qq.com/v3/billdownload/file?token=a%2Fb&tartype=gzip"
    )


def test_download_bill_request_signs_the_raw_path(make_ctx) -> None:
    request = DownloadBill(_location(BILL)).build(make_ctx())
    assert request.path == "/v3/billdownload/file?token=a%2Fb&tartype=gzip"
    assert request.absolute_url == "https://api.mch.weixin.qq.com/v3/billdownload/file?token=a%2Fb&tartype=gzip"
    assert (request.verify_response, request.idempotent, request.method) == (False, True, "GET")
    with pytest.raises(ProtocolError):
        DownloadBill(BillLocation("SHA1", "x", "file:///etc/passwd")).build(make_ctx())


@pytest.mark.parametrize("hash_type", ["SHA1", "SHA256"])
@pytest.mark.parametrize("compressed", [False, True])
def test_download_bill_checks_the_uncompressed_digest(make_ctx, hash_type, compressed) -> None:
    body = gzip.compress(BILL) if compressed else BILL
    bill = DownloadBill(_location(BILL, hash_type), gzip=compressed).parse(HttpResponse(200, {}, body), make_ctx())
    assert bill.raw == BILL
    (row,) = bill.rows
    assert row.out_trade_no == "ORDER_000001" and row.fen("应结订单金额") == 100
    assert row["商品名称"] == "QQ公仔, 大号"
    assert bill.summary.fen("订单总金额") == 100


def test_download_bill_refuses_damage(make_ctx) -> None:
    ctx = make_ctx()
    tampered = BILL.replace(b"`1.00,`0,", b"`9.00,`0,")
    with pytest.raises(ProtocolError, match="digest"):
        DownloadBill(_location(BILL)).parse(HttpResponse(200, {}, tampered), ctx)
    # The digest is of the uncompressed bytes: a digest of the gzip stream does not match.
    compressed = gzip.compress(BILL)
    with pytest.raises(ProtocolError, match="digest"):
        DownloadBill(_location(compressed), gzip=True).parse(HttpResponse(200, {}, compressed), ctx)
    with pytest.raises(ProtocolError, match="gzip"):
        DownloadBill(_location(BILL), gzip=True).parse(HttpResponse(200, {}, BILL), ctx)
    with pytest.raises(ProtocolError, match="truncated"):
        DownloadBill(_location(BILL), gzip=True).parse(HttpResponse(200, {}, compressed[:-12]), ctx)
    with pytest.raises(ProtocolError, match="hash_type"):
        DownloadBill(BillLocation("MD5", "x", "https://h/p")).parse(HttpResponse(200, {}, BILL), ctx)
    with pytest.raises(WeChatRefused):
        DownloadBill(_location(BILL)).parse(_json(400, {"code": "INVALID_REQUEST", "message": "token expired"}), ctx)


# Certificates ------------------------------------------------------------------------------------


def test_download_certificates(make_ctx, wechatpay_keys, certificate_for) -> None:
    now = time.time()
    ctx = make_ctx(now=now)
    op = DownloadCertificates()
    request = op.build(ctx)
    assert (request.method, request.path, request.verify_response, request.idempotent) == (
        "GET",
        "/v3/certificates",
        False,
        True,
    )
    key = wechatpay_keys.private_key
    start = datetime.fromtimestamp(now, UTC)
    current = wechatpay_keys.certificate
    newer = certificate_for(key, start - timedelta(hours=1), start + timedelta(days=1800))
    expired = certificate_for(key, start - timedelta(days=400), start - timedelta(days=1))
    future = certificate_for(key, start + timedelta(days=1), start + timedelta(days=400))
    body = encrypt_certificates_response(API_V3_KEY, [current, newer, expired, future])
    data = json.loads(body)
    entry = data["data"][0]
    assert entry["serial_no"] == wechatpay_keys.serial
    assert entry["encrypt_certificate"]["associated_data"] == "certificate"
    assert len(entry["encrypt_certificate"]["nonce"]) == 12
    # Malformed entries are skipped, like wechatpayv3 does.
    data["data"].append({"serial_no": "AB", "effective_time": "x"})
    data["data"].append({**entry, "encrypt_certificate": {**entry["encrypt_certificate"], "associated_data": ""}})
    data["data"].append({**entry, "serial_no": "ABCDEF"})
    data["data"].append("junk")
    certificates = op.parse(_json(200, data), ctx)
    assert [c.serial_number for c in certificates] == [current.serial_number, newer.serial_number]
    wrong_key = encrypt_certificates_response(b"0" * 32, [current])
    with pytest.raises(ConfigurationError, match="api_v3_key"):
        op.parse(HttpResponse(200, {}, wrong_key), ctx)
    with pytest.raises(ProtocolError):
        op.parse(_json(200, {"data": "none"}), ctx)
    with pytest.raises(WeChatRefused, match="RESOURCE_NOT_EXISTS"):
        op.parse(_json(404, {"code": "RESOURCE_NOT_EXISTS", "message": "无可用的平台证书"}), ctx)


def test_sensitive_field_encryption(wechatpay_keys) -> None:
    sealed = encrypt_sensitive(wechatpay_keys.private_key.public_key(), "张三")
    assert oaep_decrypt(wechatpay_keys.private_key, sealed) == "张三"
    assert sealed != encrypt_sensitive(wechatpay_keys.private_key.public_key(), "张三")  # OAEP is randomised
    assert sensitive_headers("PUB_KEY_ID_0000000000000024101100397200000006") == {
        "Wechatpay-Serial": "PUB_KEY_ID_0000000000000024101100397200000006"
    }
    with pytest.raises(ConfigurationError):
        sensitive_headers("../../etc/passwd")
    with pytest.raises(ConfigurationError):
        encrypt_sensitive(wechatpay_keys.private_key.public_key(), "")


def test_wechat_side_error_body_is_read_back_by_the_refusal_mapper(make_ctx) -> None:
    detail = {"field": "signature", "location": "authorization", "detail": {"issue": "sign not match"}}
    body = error_body("SIGN_ERROR", MESSAGE_BAD_SIGNATURE, detail)
    assert body.startswith('{"code":"SIGN_ERROR","message":"错误的签名'.encode())
    with pytest.raises(WeChatRefused) as caught:
        QueryOrder(out_trade_no="ORDER_000001").parse(HttpResponse(401, {"request-id": "R"}, body), make_ctx())
    assert (caught.value.code, caught.value.detail, caught.value.request_id) == ("SIGN_ERROR", detail, "R")
