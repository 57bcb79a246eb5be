"""Models: unknown fields ignored, missing or mistyped required fields refused, public door pinned."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sdk_samples import transaction

import weipay.sdk.v3 as v3
from weipay.sdk.errors import ProtocolError
from weipay.sdk.v3 import BillLocation, PrepayResult, Refund, RefundResult, Transaction

TRANSACTION = transaction(trade_type="MWEB", bank_type="CMC", payer={"openid": "o1"})


def test_unknown_fields_are_ignored() -> None:
    tx = Transaction.from_json(
        {
            **TRANSACTION,
            "promotion_detail": [{"coupon_id": "109519", "amount": 100, "x": 1}],
            "brand_new": None,
            "payer": {"openid": "o1", "sub_openid": "o2"},
        }
    )
    assert tx.trade_type == "MWEB" and tx.payer_openid == "o1" and tx.bank_type == "CMC"
    assert tx.success_time == datetime(2026, 1, 4, 10, 30, 59, tzinfo=UTC)


@pytest.mark.parametrize("field", ["appid", "mchid", "out_trade_no", "trade_state", "amount"])
def test_missing_required_transaction_field(field) -> None:
    with pytest.raises(ProtocolError, match=field):
        Transaction.from_json({k: v for k, v in TRANSACTION.items() if k != field})


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": {"total": "100"}},
        {"amount": {"total": True}},
        {"amount": {"payer_total": 1}},
        {"amount": [100]},
        {"trade_state": 1},
        {"success_time": "2026-01-04 18:30:59"},
        {"success_time": "2026-01-04T18:30:59"},
        {"payer": "o1"},
    ],
)
def test_mistyped_fields_are_protocol_errors(changes) -> None:
    with pytest.raises(ProtocolError):
        Transaction.from_json({**TRANSACTION, **changes})


def test_models_refuse_non_objects() -> None:
    for model in (Transaction, Refund, RefundResult, BillLocation, PrepayResult):
        with pytest.raises(ProtocolError):
            model.from_json([])  # type: ignore[arg-type]
    with pytest.raises(ProtocolError):
        PrepayResult.from_json({})


def test_refund_result_reads_refund_status() -> None:
    result = RefundResult.from_json(
        {
            "mchid": "1230000109",
            "out_trade_no": "O",
            "transaction_id": "42",
            "out_refund_no": "R",
            "refund_id": "50",
            "refund_status": "ABNORMAL",
            "user_received_account": "招商银行信用卡0403",
            "amount": {"total": 100, "refund": 100, "payer_total": 100, "payer_refund": 100},
            "sp_mchid": "ignored",
        }
    )
    assert (result.refund_status, result.success_time, result.amount.payer_refund_fen) == ("ABNORMAL", None, 100)


def test_models_are_frozen_and_slotted() -> None:
    tx = Transaction.from_json(TRANSACTION)
    with pytest.raises(AttributeError):
        tx.trade_state = "REFUND"  # type: ignore[misc]
    assert not hasattr(tx, "__dict__")


def test_public_door_is_sorted_and_complete() -> None:
    names = v3.__all__

    def isort_key(name: str) -> tuple[int, str]:
        kind = 0 if re.fullmatch(r"[A-Z0-9_]+", name) else 1 if name[0].isupper() else 2
        return kind, name

    assert names == sorted(names, key=isort_key)
    assert len(set(names)) == len(names)
    for name in names:
        assert getattr(v3, name).__doc__ or name.isupper() or name in {"Channel", "Notification"}
    for name in [
        "CreateOrder",
        "QueryOrder",
        "CloseOrder",
        "CreateRefund",
        "QueryRefund",
        "ApplyAbnormalRefund",
        "TradeBill",
        "FundFlowBill",
        "DownloadBill",
        "DownloadCertificates",
        "parse_notification",
        "jsapi_params",
        "app_params",
        "Verifier",
        "authorization",
        "parse_bill",
        "encrypt_sensitive",
    ]:
        assert name in names


PROMOTED = {
    **TRANSACTION,
    "amount": {"total": 100, "payer_total": 90, "currency": "CNY", "payer_currency": "CNY"},
    "promotion_detail": [
        {"coupon_id": "109519", "name": "单品惠-6", "scope": "SINGLE", "type": "CASH", "amount": 10,
         "stock_id": "931386", "wechatpay_contribute": 0, "merchant_contribute": 10, "other_contribute": 0,
         "currency": "CNY", "goods_detail": [{"goods_id": "M1", "quantity": 1, "unit_price": 100,
                                              "discount_amount": 10}]},
    ],
    "scene_info": {"device_id": "POS-7"},
}


def test_coupons_are_read_and_the_raw_payload_is_kept() -> None:
    tx = Transaction.from_json(PROMOTED)
    (coupon,) = tx.promotion_detail
    assert (coupon.coupon_id, coupon.amount_fen, coupon.scope, coupon.type) == ("109519", 10, "SINGLE", "CASH")
    assert coupon.merchant_contribute_fen == 10 and coupon.wechatpay_contribute_fen == 0
    assert tx.amount.total_fen - tx.amount.payer_total_fen == sum(c.amount_fen for c in tx.promotion_detail)
    assert tx.raw is not None and tx.raw["scene_info"] == {"device_id": "POS-7"}
    assert tx.raw["promotion_detail"][0]["goods_detail"][0]["discount_amount"] == 10
    assert "raw" not in repr(tx) and tx == Transaction.from_json({**PROMOTED, "scene_info": {}})  # raw not compared
    assert Transaction.from_json(TRANSACTION).promotion_detail == ()


@pytest.mark.parametrize("promotions", [{"coupon_id": "1"}, [{"amount": 1}], [{"coupon_id": "1", "amount": "1"}]])
def test_a_malformed_coupon_is_a_protocol_error(promotions: object) -> None:
    with pytest.raises(ProtocolError, match="promotion_detail"):
        Transaction.from_json({**TRANSACTION, "promotion_detail": promotions})
