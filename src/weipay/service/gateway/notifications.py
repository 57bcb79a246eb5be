"""Verifying notifications: signature, timestamp window and decryption happen here, before any use case.

The SDK raises ``SignatureError`` (forged, stale, SIGNTEST probe, undecryptable; ``UnknownSerial`` when the
signing key is not held) or ``ProtocolError`` (verified but malformed); the notification intake answers those
with a failure and records an ``unverifiable_v{2,3}_notification`` anomaly. What comes out is the use cases'
one notification shape. Everything here is pure computation except ``verify_v3``, which may download platform
certificates when the serial is unknown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from weipay.sdk import v3 as sdk_v3
from weipay.service.domain import ApiVersion
from weipay.service.usecases.ports import PaymentNotification, RefundNotification

from .wechat import WeChatGateway

__all__ = ["verify_v2", "verify_v2_payment", "verify_v2_refund", "verify_v3", "verify_v3_offline"]


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def verify_v3(
    gateway: WeChatGateway, mchid: str, headers: Mapping[str, str], body: bytes
) -> PaymentNotification | RefundNotification:
    """Verify, decrypt and read a v3 notification addressed to merchant ``mchid`` (an unknown serial may
    download platform certificates: I/O)."""
    return _v3_facts(gateway.client(mchid).v3_notification(headers, body), body)


def verify_v3_offline(
    gateway: WeChatGateway, mchid: str, headers: Mapping[str, str], body: bytes
) -> PaymentNotification | RefundNotification:
    """``verify_v3`` without I/O: an unknown serial raises ``UnknownSerial`` (``verify_v3`` then decides)."""
    return _v3_facts(gateway.client(mchid).v3_notification_offline(headers, body), body)


def verify_v2(gateway: WeChatGateway, mchid: str, body: bytes) -> PaymentNotification | RefundNotification:
    """Verify and read a v2 notification, payment or refund; only the API key is needed (no I/O)."""
    # Refund notifications carry an encrypted req_info and no sign; payment ones the reverse.
    if b"<req_info>" in body:
        return verify_v2_refund(gateway, mchid, body)
    return verify_v2_payment(gateway, mchid, body)


def _v3_facts(notification: sdk_v3.Notification, body: bytes) -> PaymentNotification | RefundNotification:
    if isinstance(notification, sdk_v3.TransactionNotification):
        transaction = notification.transaction
        return PaymentNotification(
            event_id=f"v3:{notification.id}", api=ApiVersion.V3, mchid=transaction.mchid, appid=transaction.appid,
            out_trade_no=transaction.out_trade_no, trade_state=transaction.trade_state,
            amount_fen=transaction.amount.total_fen, currency=transaction.amount.currency, body=_text(body),
            transaction_id=transaction.transaction_id, payer_amount_fen=transaction.amount.payer_total_fen,
            paid_at=transaction.success_time.timestamp() if transaction.success_time else None,
            trade_type=transaction.trade_type, event_type=notification.event_type,
            payer_openid=transaction.payer_openid, bank_type=transaction.bank_type,
        )  # fmt: skip
    refund = notification.refund
    return RefundNotification(
        event_id=f"v3:{notification.id}", api=ApiVersion.V3, mchid=refund.mchid, out_trade_no=refund.out_trade_no,
        out_refund_no=refund.out_refund_no, refund_status=refund.refund_status, refund_fen=refund.amount.refund_fen,
        total_fen=refund.amount.total_fen, body=_text(body), refund_id=refund.refund_id,
        succeeded_at=refund.success_time.timestamp() if refund.success_time else None,
    )  # fmt: skip


def verify_v2_payment(gateway: WeChatGateway, mchid: str, body: bytes) -> PaymentNotification:
    """Verify and read a v2 payment notification (v2 has no event id: the body's digest stands in)."""
    parsed = gateway.client(mchid).v2_payment_notification(body)
    return PaymentNotification(
        event_id=f"v2:pay:{hashlib.sha256(body).hexdigest()}", api=ApiVersion.V2, mchid=parsed.mch_id,
        appid=parsed.appid, out_trade_no=parsed.out_trade_no,
        trade_state="SUCCESS" if parsed.result_code == "SUCCESS" else "PAYERROR", amount_fen=parsed.total_fee_fen,
        currency=parsed.fee_type or "CNY", body=_text(body), transaction_id=parsed.transaction_id,
        payer_amount_fen=parsed.cash_fee_fen, paid_at=parsed.time_end.timestamp() if parsed.time_end else None,
        trade_type=parsed.trade_type, payer_openid=parsed.openid, bank_type=parsed.raw.get("bank_type"),
    )  # fmt: skip


def verify_v2_refund(gateway: WeChatGateway, mchid: str, body: bytes) -> RefundNotification:
    """Decrypt and read a v2 refund notification (its integrity rests on decryption with our key)."""
    parsed = gateway.client(mchid).v2_refund_notification(body)
    status = "CLOSED" if parsed.refund_status == "REFUNDCLOSE" else parsed.refund_status
    status = "ABNORMAL" if status == "CHANGE" else status
    return RefundNotification(
        event_id=f"v2:refund:{hashlib.sha256(body).hexdigest()}", api=ApiVersion.V2, mchid=parsed.mch_id,
        out_trade_no=parsed.out_trade_no, out_refund_no=parsed.out_refund_no, refund_status=status,
        refund_fen=parsed.refund_fee_fen, total_fen=parsed.total_fee_fen, body=_text(body),
        refund_id=parsed.refund_id, succeeded_at=parsed.success_time.timestamp() if parsed.success_time else None,
    )  # fmt: skip
