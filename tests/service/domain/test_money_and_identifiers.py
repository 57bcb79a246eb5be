"""Money is integer fen; WeChat numbers are well-formed and never reused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weipay.service.domain import (
    InvalidInput,
    check_currency,
    check_fen,
    check_out_trade_no,
    duplicate_refund_no,
    fen_to_yuan,
    new_order_id,
    out_refund_no,
    out_trade_no,
    yuan_to_fen,
)
from weipay.service.domain.identifiers import OUT_TRADE_NO_PATTERN


@given(st.integers(min_value=0, max_value=10**9))
def test_fen_round_trips_through_yuan_text(amount_fen):
    assert yuan_to_fen(fen_to_yuan(amount_fen)) == amount_fen
    assert yuan_to_fen("`" + fen_to_yuan(amount_fen)) == amount_fen


@pytest.mark.parametrize("bad", [0, -1, 1.0, "100", True, None, 10**13])
def test_check_fen_refuses_anything_but_a_positive_bounded_integer(bad):
    with pytest.raises(InvalidInput) as info:
        check_fen(bad)
    assert info.value.code == "invalid_amount"


def test_check_fen_and_currency_accept_good_values():
    assert check_fen(1) == 1
    assert check_currency("CNY") == "CNY"
    with pytest.raises(InvalidInput):
        check_currency("USD")


@pytest.mark.parametrize("text", ["0.001", "abc", "NaN", "1e-3"])
def test_yuan_to_fen_refuses_fractions_of_a_fen(text):
    with pytest.raises(InvalidInput):
        yuan_to_fen(text)


@given(st.integers(min_value=1, max_value=9999), st.integers(min_value=1, max_value=9999))
def test_derived_numbers_are_valid_and_distinct(seq_a, seq_b):
    order_id = new_order_id()
    numbers = {
        ("trade", seq_a): out_trade_no(order_id, seq_a),
        ("refund", seq_a): out_refund_no(order_id, seq_a),
        ("dup", seq_a): duplicate_refund_no(order_id, seq_a),
        ("trade", seq_b): out_trade_no(order_id, seq_b),
    }
    for number in numbers.values():
        assert OUT_TRADE_NO_PATTERN.fullmatch(number)
        assert 6 <= len(number) <= 32
    assert (numbers[("trade", seq_a)] == numbers[("trade", seq_b)]) == (seq_a == seq_b)
    assert len({numbers[("trade", seq_a)], numbers[("refund", seq_a)], numbers[("dup", seq_a)]}) == 3


def test_numbers_of_different_orders_never_collide():
    seen = {out_trade_no(new_order_id(), 1) for _ in range(20_000)}
    assert len(seen) == 20_000


@pytest.mark.parametrize("bad", ["short", "x" * 33, "has space1", "中文订单号123", "semi;colon"])
def test_check_out_trade_no_refuses_what_wechat_refuses(bad):
    with pytest.raises(InvalidInput):
        check_out_trade_no(bad)


def test_sequences_are_bounded():
    with pytest.raises(InvalidInput):
        out_trade_no(new_order_id(), 0)
    with pytest.raises(InvalidInput):
        out_trade_no("ord_nothex", 1)
