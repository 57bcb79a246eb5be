"""parse_notification end to end: WeChat-side builder in, typed notification out; verification first."""

from __future__ import annotations

import json
import time

import pytest
from sdk_samples import refund, signed_notification, transaction

from weipay.sdk.errors import ConfigurationError, ProtocolError, SignatureError, SignTestProbe
from weipay.sdk.v3 import (
    RefundNotification,
    TransactionNotification,
    Verifier,
    failure_reply,
    parse_notification,
    success_reply,
)
from weipay.sdk.v3.wechat_side import encrypt_resource, sign_response

API_V3_KEY = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
NOW = int(time.time())
TRANSACTION = transaction(
    attach="cart=7", payer_total=90, promotion_detail=[{"coupon_id": "1", "amount": 10}],
    a_field_added_next_year={"x": 1},
)
REFUND = refund(amount={"total": 100, "refund": 40, "payer_total": 90, "payer_refund": 40})


@pytest.fixture(scope="module")
def verifier(wechatpay_keys):
    verifier = Verifier(clock=lambda: float(NOW))
    verifier.add_certificate(wechatpay_keys.certificate)
    return verifier


def _notification(
    keys,
    event_type="TRANSACTION.SUCCESS",
    resource=TRANSACTION,
    original_type="transaction",
    timestamp=NOW,
    key=API_V3_KEY,
):
    return signed_notification(keys.private_key, keys.serial, resource, api_v3_key=key, timestamp=timestamp,
                               event_type=event_type, original_type=original_type)  # fmt: skip


def test_payment_notification_round_trip(verifier, wechatpay_keys) -> None:
    headers, body = _notification(wechatpay_keys)
    notification = parse_notification(verifier, API_V3_KEY, headers, body)
    assert isinstance(notification, TransactionNotification)
    assert notification.event_type == "TRANSACTION.SUCCESS"
    tx = notification.transaction
    assert (tx.out_trade_no, tx.attach, tx.amount.total_fen, tx.amount.payer_total_fen) == (
        "ORDER_000001",
        "cart=7",
        100,
        90,
    )


@pytest.mark.parametrize("event_type", ["REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"])
def test_refund_notification_round_trip(verifier, wechatpay_keys, event_type) -> None:
    headers, body = _notification(wechatpay_keys, event_type, REFUND, "refund")
    notification = parse_notification(verifier, API_V3_KEY, headers, body)
    assert isinstance(notification, RefundNotification)
    refund = notification.refund
    assert (refund.out_refund_no, refund.refund_status, refund.amount.refund_fen, refund.amount.payer_refund_fen) == (
        "R_000001",
        "SUCCESS",
        40,
        40,
    )


def test_verification_comes_before_parsing(verifier, wechatpay_keys, merchant_keys) -> None:
    # Garbage signed by the wrong key: a SignatureError, never a JSON complaint that leaks parsing.
    headers = sign_response(merchant_keys.private_key, wechatpay_keys.serial, b"not json", str(NOW), "n")
    with pytest.raises(SignatureError):
        parse_notification(verifier, API_V3_KEY, headers, b"not json")
    # The same garbage properly signed is a ProtocolError.
    headers = sign_response(wechatpay_keys.private_key, wechatpay_keys.serial, b"not json", str(NOW), "n")
    with pytest.raises(ProtocolError):
        parse_notification(verifier, API_V3_KEY, headers, b"not json")


@pytest.mark.parametrize("skew_s", [-301, 301])
def test_stale_notification_is_refused(verifier, wechatpay_keys, skew_s) -> None:
    headers, body = _notification(wechatpay_keys, timestamp=NOW + skew_s)
    with pytest.raises(SignatureError):
        parse_notification(verifier, API_V3_KEY, headers, body)


@pytest.mark.parametrize("skew_s", [-299, 299])
def test_notification_inside_window_is_accepted(verifier, wechatpay_keys, skew_s) -> None:
    headers, body = _notification(wechatpay_keys, timestamp=NOW + skew_s)
    assert parse_notification(verifier, API_V3_KEY, headers, body).id == "EV-1"


def test_signtest_probe_is_refused(verifier, wechatpay_keys) -> None:
    headers, body = _notification(wechatpay_keys)
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    with pytest.raises(SignTestProbe):
        parse_notification(verifier, API_V3_KEY, headers, body)


def test_wrong_api_v3_key_or_altered_ciphertext_fails_decryption(verifier, wechatpay_keys) -> None:
    headers, body = _notification(wechatpay_keys, key=b"0" * 32)
    with pytest.raises(SignatureError, match="decrypted"):
        parse_notification(verifier, API_V3_KEY, headers, body)


def _signed_envelope(keys, envelope: dict) -> tuple[dict[str, str], bytes]:
    body = json.dumps(envelope, ensure_ascii=False).encode()
    return sign_response(keys.private_key, keys.serial, body, str(NOW), "n"), body


def test_unknown_event_and_algorithm_are_protocol_errors(verifier, wechatpay_keys) -> None:
    resource = encrypt_resource(API_V3_KEY, "transaction", "transaction", json.dumps(TRANSACTION).encode(), "a" * 12)
    base = {
        "id": "EV-2",
        "create_time": "2026-01-04T18:31:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "s",
        "resource": resource,
    }
    cases = [
        {**base, "event_type": "PAYSCORE.USER_OPEN_SERVICE"},
        {**base, "resource": {**resource, "algorithm": "AES_128_CBC"}},
        {**base, "resource": {**resource, "nonce": None}},
        {k: v for k, v in base.items() if k != "resource"},
        {k: v for k, v in base.items() if k != "id"},
        {**base, "create_time": "yesterday"},
    ]
    for envelope in cases:
        headers, body = _signed_envelope(wechatpay_keys, envelope)
        with pytest.raises(ProtocolError):
            parse_notification(verifier, API_V3_KEY, headers, body)
    headers, body = _signed_envelope(wechatpay_keys, base)
    assert parse_notification(verifier, API_V3_KEY, headers, body).id == "EV-2"


def test_aad_mismatch_is_caught(verifier, wechatpay_keys) -> None:
    resource = encrypt_resource(API_V3_KEY, "transaction", "transaction", json.dumps(TRANSACTION).encode(), "a" * 12)
    envelope = {
        "id": "EV-3",
        "create_time": "2026-01-04T18:31:00+08:00",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "s",
        "resource": {**resource, "associated_data": "refund"},
    }
    headers, body = _signed_envelope(wechatpay_keys, envelope)
    with pytest.raises(SignatureError):
        parse_notification(verifier, API_V3_KEY, headers, body)


def test_decrypted_resource_missing_fields_is_a_protocol_error(verifier, wechatpay_keys) -> None:
    incomplete = {k: v for k, v in TRANSACTION.items() if k != "out_trade_no"}
    headers, body = _notification(wechatpay_keys, resource=incomplete)
    with pytest.raises(ProtocolError, match="out_trade_no"):
        parse_notification(verifier, API_V3_KEY, headers, body)


def test_replies() -> None:
    assert success_reply() == (204, b"")
    status, body = failure_reply("验签失败", 401)
    assert status == 401 and json.loads(body) == {"code": "FAIL", "message": "验签失败"}
    status, body = failure_reply("x" * 500)
    assert status == 500 and len(json.loads(body)["message"]) == 64
    with pytest.raises(ConfigurationError):
        failure_reply("no", 200)
