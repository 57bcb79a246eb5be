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
            "promotion_detail": [{"x": 1}],
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
