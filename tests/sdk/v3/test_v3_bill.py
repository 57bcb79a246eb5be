"""Bill text parsing: every column kept by name, money as exact integer fen, layout errors refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weipay.sdk.errors import ProtocolError
from weipay.sdk.v3 import parse_bill, yuan_to_fen
from weipay.sdk.v3.bills import is_money_column

VECTORS = Path(__file__).parent / "vectors"


def test_wechatpay_php_sample_bill() -> None:
    raw = (VECTORS / "wechatpay_php_bill_ALL_excerpt.csv").read_bytes()
    bill = parse_bill(raw)
    assert bill.raw == raw
    assert len(bill.header) == 27 and bill.header[0] == "交易时间"
    refund, _, payment = bill.rows
    assert refund.trade_state == "REFUND" and refund.out_refund_no == "REF4200000263201902167700963919"
    assert refund.fen("退款金额") == 1 and refund.fen("申请退款金额") == 1 and refund.fen("应结订单金额") == 0
    assert payment.transaction_id == "4200000263201902167700134902"
    assert payment.out_trade_no == "autotest_20190219015232_89201"
    assert payment.fen("订单金额") == 3
    # Fees carry five decimals and rates a percent sign: kept as text, never forced into fen.
    assert payment["手续费"] == "0.01000" and payment["费率"] == "39.00%" and payment["费率备注"] == ""
    assert "手续费" not in payment.amounts_fen
    assert set(payment.fields) == set(bill.header)
    assert bill.summary["总交易单数"] == "45.0"
    assert bill.summary.fen("应结订单总金额") == 47 and bill.summary.fen("申请退款总金额") == 14
    assert bill.summary.fen("充值券退款总金额") == 0
    with pytest.raises(ProtocolError):
        payment.fen("手续费")


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("0.00", 0),
        ("0.01", 1),
        ("1.10", 110),
        ("123456.78", 12345678),
        ("5", 500),
        ("0.1", 10),
        ("-0.01", -1),
        ("99999999.99", 9999999999),
    ],
)
def test_yuan_to_fen_is_exact(text, fen) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["0.001", "1.005", "1e2", "", " 1.00", "1,000.00", "NaN", "¥1.00", "１.00", ".5"])
def test_yuan_to_fen_refuses_fractions_of_fen_and_junk(text) -> None:
    with pytest.raises(ProtocolError):
        yuan_to_fen(text)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_yuan_to_fen_round_trip(fen) -> None:
    sign = "-" if fen < 0 else ""
    assert yuan_to_fen(f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}") == fen


def test_money_columns() -> None:
    assert is_money_column("应结订单金额") and is_money_column("收支金额(元)") and is_money_column("账户结余(元)")
    assert not is_money_column("手续费") and not is_money_column("手续费总金额") and not is_money_column("费率")


HEADER = "交易时间,商户订单号,订单金额\n"
SUMMARY = "总交易单数,订单总金额\n`1,`1.00\n"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "summary"),
        (HEADER, "summary"),
        (HEADER + "`2026-01-04 10:00:00,`A1,`1.00\n", "summary"),
        (HEADER + "`2026-01-04 10:00:00,`A1\n" + SUMMARY, "fields"),
        (HEADER + "2026-01-04 10:00:00,A1,1.00\n" + SUMMARY, "summary"),
        (HEADER + "`2026-01-04 10:00:00,`A1,`1.005\n" + SUMMARY, "订单金额"),
        (HEADER + "`2026-01-04 10:00:00,`A1,`1.00\n" + SUMMARY + "`extra\n", "summary"),
        ("a,a,b\n" + SUMMARY, "distinct"),
    ],
)
def test_malformed_bills(text, fragment) -> None:
    with pytest.raises(ProtocolError, match=fragment):
        parse_bill(text.encode())


def test_crlf_bom_and_trailing_blank_lines_are_tolerated() -> None:
    text = "\ufeff" + HEADER + "`2026-01-04 10:00:00,`A1,`1.00\n" + SUMMARY + "\n\n"
    bill = parse_bill(text.replace("\n", "\r\n").encode())
    assert bill.rows[0].fen("订单金额") == 100 and bill.summary.fen("订单总金额") == 100


def test_empty_day_and_non_utf8() -> None:
    assert parse_bill((HEADER + "总交易单数,订单总金额\n`0,`0.00\n").encode()).rows == ()
    with pytest.raises(ProtocolError, match="UTF-8"):
        parse_bill((HEADER + SUMMARY).encode("gbk"))
