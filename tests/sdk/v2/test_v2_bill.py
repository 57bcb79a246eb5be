"""Trade bills: the downloadbill operation and the text parser (structure of wechatpay-php bill.ALL.csv)."""

from __future__ import annotations

import datetime as dt
import gzip
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from v2vectors import V2_APPID, V2_KEY

from weipay.sdk.errors import ConfigurationError, ProtocolError, WeChatRefused
from weipay.sdk.operation import Context, HttpResponse
from weipay.sdk.v2 import BEIJING, DownloadBill, from_xml, parse_bill, verify, yuan_to_fen
from weipay.sdk.v2.bill import MAX_BILL_BYTES
from weipay.sdk.v2.wechat_side import fail_response

BILL = (Path(__file__).parent / "fixtures" / "bill_all.csv").read_bytes()
HEADER, *_ = BILL.decode().split("\r\n")


def test_fixture_rows_are_typed() -> None:
    bill = parse_bill(BILL)
    assert len(bill.header) == 27
    assert len(bill.rows) == 4
    native, jsapi, refund, app = bill.rows
    assert native.trade_time == dt.datetime(2014, 10, 27, 1, 52, 32, tzinfo=BEIJING)
    assert (native.trade_type, native.settlement_total_fee_fen, native.coupon_fee_fen) == ("NATIVE", 3, 1)
    assert native.refund_id is None and native.out_refund_no is None  # WeChat writes "0"
    assert native.fee_yuan == Decimal("0.01000")
    assert jsapi.body == "T恤,白色,XL"  # commas inside a field survive
    assert jsapi.attach == "cart=42"
    assert jsapi.fee_yuan == Decimal("0.00600")  # a fraction of a fen, kept exact
    assert jsapi.columns["付款银行"] == "CMC"
    assert refund.trade_state == "REFUND"
    assert refund.refund_id == "50300103182014102713419046597"
    assert refund.out_refund_no == "R1217752501201407033233368018"
    assert (refund.refund_fee_fen, refund.applied_refund_fee_fen, refund.refund_status) == (50, 50, "SUCCESS")
    assert refund.fee_yuan == Decimal("-0.00300")
    assert (app.total_fee_fen, app.mch_id, app.appid) == (1234, "1230000109", V2_APPID)


def test_summary_matches_the_rows() -> None:
    bill = parse_bill(BILL)
    summary = bill.summary
    assert summary.trade_count == 4 == len(bill.rows)
    assert summary.settlement_total_fee_fen == 1337 == sum(r.settlement_total_fee_fen or 0 for r in bill.rows)
    assert summary.refund_fee_fen == 50 == sum(r.refund_fee_fen or 0 for r in bill.rows)
    assert (summary.coupon_refund_fee_fen, summary.total_fee_fen, summary.applied_refund_fee_fen) == (0, 1337, 50)
    fees = sum(r.fee_yuan or Decimal(0) for r in bill.rows)
    assert summary.fee_fen == int((fees * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP")) == 9


def test_gzip_and_lf_and_bom_variants_parse_the_same() -> None:
    expected = parse_bill(BILL)
    assert parse_bill(gzip.compress(BILL)) == expected
    assert parse_bill(BILL.replace(b"\r\n", b"\n")) == expected
    assert parse_bill(b"\xef\xbb\xbf" + BILL) == expected
    assert parse_bill(BILL.decode()) == expected


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_yuan_to_fen_is_exact(fen: int) -> None:
    sign = "-" if fen < 0 else ""
    text = f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize(("text", "fen"), [("0.47", 47), ("45.0", 4500), ("0.1", 10), ("12", 1200), ("0.01000", 1)])
def test_yuan_to_fen_examples(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["0.005", "1.001", "abc", "", "1e3", "NaN", "Infinity", " 1.00", "1,00", "１.00"])
def test_yuan_to_fen_refuses_inexact_or_malformed(text: str) -> None:
    with pytest.raises(ProtocolError):
        yuan_to_fen(text)


def _mutated(old: bytes, new: bytes) -> bytes:
    assert old in BILL
    return BILL.replace(old, new, 1)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n\r\n",
        HEADER.encode(),
        _mutated(b"`1.00,`0.00,`0", b"`1.005,`0.00,`0"),  # sub-fen settlement amount
        _mutated(b"`12.34,", b"`12.3x,"),
        _mutated("`会员".encode(), "会员".encode()),  # a field without its backtick shifts the row
        _mutated("`扫码商品".encode(), "`扫码商品,`extra".encode()),
        _mutated(b"`2014-10-27 18:54:11", b"`2014-13-27 18:54:11"),
        _mutated("总交易单数".encode(), "总计".encode()),
        _mutated(b"`4.0,", b"`4.5,"),
        _mutated("`T恤".encode(), b"`\xff\xfe"),
        b"\x1f\x8b\x08\x00garbage",
    ],
    ids=[
        "empty",
        "blank",
        "header-only",
        "sub-fen",
        "bad-amount",
        "missing-backtick",
        "extra-field",
        "bad-time",
        "no-summary",
        "fractional-count",
        "invalid-utf8",
        "bad-gzip",
    ],
)
def test_malformed_bills_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_bill(body)


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"0" * (MAX_BILL_BYTES + 1), compresslevel=1)
    assert len(bomb) < MAX_BILL_BYTES // 100
    with pytest.raises(ProtocolError, match="larger"):
        parse_bill(bomb)


# ---- the operation ----


def test_download_bill_request(ctx: Context) -> None:
    request = DownloadBill(appid=V2_APPID, bill_date=dt.date(2014, 10, 27), gzip=True).build(ctx)
    fields = from_xml(request.body)
    assert (request.path, request.idempotent) == ("/pay/downloadbill", True)
    assert (fields["bill_date"], fields["bill_type"], fields["tar_type"]) == ("20141027", "ALL", "GZIP")
    assert verify(fields, V2_KEY)
    plain = from_xml(DownloadBill(appid=V2_APPID, bill_date=dt.date(2014, 10, 27), bill_type="REFUND").build(ctx).body)
    assert "tar_type" not in plain
    assert plain["bill_type"] == "REFUND"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bill_type": "EVERYTHING"}, "bill_type"),
        ({"bill_date": dt.datetime(2014, 10, 27, tzinfo=BEIJING)}, "bill_date"),
        ({"bill_date": "20141027"}, "bill_date"),
    ],
)
def test_download_bill_arguments(changes: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"appid": V2_APPID, "bill_date": dt.date(2014, 10, 27), **changes}
    with pytest.raises(ConfigurationError, match=message):
        DownloadBill(**arguments)  # type: ignore[arg-type]


def test_download_bill_parses_text_and_gzip(ctx: Context) -> None:
    operation = DownloadBill(appid=V2_APPID, bill_date=dt.date(2014, 10, 27))
    assert operation.parse(HttpResponse(200, {}, BILL), ctx) == parse_bill(BILL)
    assert operation.parse(HttpResponse(200, {}, gzip.compress(BILL)), ctx).summary.trade_count == 4


@pytest.mark.parametrize(
    ("return_msg", "code"),
    [("No Bill Exist", "NO_BILL_EXIST"), ("Bill Creating", "BILL_CREATING"), ("SIGN ERROR", "SIGNERROR")],
)
def test_download_bill_failures(ctx: Context, return_msg: str, code: str) -> None:
    body = fail_response(return_msg).replace(b"</xml>", b"<error_code>20002</error_code></xml>")
    with pytest.raises(WeChatRefused) as caught:
        DownloadBill(appid=V2_APPID, bill_date=dt.date(2014, 10, 27)).parse(HttpResponse(200, {}, body), ctx)
    assert (caught.value.code, caught.value.message) == (code, return_msg)
    assert caught.value.detail["error_code"] == "20002"


def test_download_bill_http_error_and_odd_xml(ctx: Context) -> None:
    operation = DownloadBill(appid=V2_APPID, bill_date=dt.date(2014, 10, 27))
    with pytest.raises(WeChatRefused) as caught:
        operation.parse(HttpResponse(503, {}, b""), ctx)
    assert caught.value.retryable
    with pytest.raises(ProtocolError):
        operation.parse(HttpResponse(200, {}, b"<xml><return_code>SUCCESS</return_code></xml>"), ctx)
    with pytest.raises(ProtocolError):
        operation.parse(HttpResponse(200, {}, b'<xml><!DOCTYPE x [<!ENTITY e "e">]></xml>'), ctx)


def test_truncated_gzip_is_refused_not_read_as_a_shorter_bill() -> None:
    packed = gzip.compress(BILL)
    for cut in (len(packed) - 4, len(packed) - 8, len(packed) // 2):
        with pytest.raises(ProtocolError, match=r"truncated|gzip"):
            parse_bill(packed[:cut])


def test_truncated_text_bill_is_refused() -> None:
    """Without the summary at the end, the file is incomplete."""
    lines = BILL.split(b"\r\n")
    with pytest.raises(ProtocolError):
        parse_bill(b"\r\n".join(lines[:3]))


# ---- rules from the shared parser (weipay.sdk._bill) that the v2 parser once lacked ----


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("商户号,特约商户号".encode(), "商户号,商户号".encode(), "distinct"),  # duplicated column name
        (b"`0.00,`0.00,`,`,`T", b"`0.00,`0.005,`,`,`T", "充值券退款金额"),  # every money column is whole fen
        (b"`0.09,", b"`0.085,", "手续费总金额"),  # the fee total is rounded to the fen by WeChat
        (b"`0.01000,", b"`0.0100000,", "手续费"),  # a fee with seven decimals is not WeChat's
    ],
    ids=["duplicate-column", "sub-fen-coupon-refund", "sub-fen-fee-total", "fee-too-precise"],
)
def test_shared_rules_apply_to_v2(old: bytes, new: bytes, fragment: str) -> None:
    with pytest.raises(ProtocolError, match=fragment):
        parse_bill(_mutated(old, new))
