"""Verified SDK notifications (v2 and v3) to the use cases' one shape: PaymentNotice / RefundNotice.

v2 messages have no id, so their event id is a digest of the fields that identify the event (merchant,
out_trade_no, transaction, result): WeChat's retries of one event map to one inbox row even though
each retry carries a fresh nonce_str and therefore a different body.
"""

from __future__ import annotations

import hashlib
from typing import Any

from weipay.sdk.v2.models import V2PaymentNotification, V2RefundNotification
from weipay.sdk.v3.models import RefundNotification, TransactionNotification

from ..domain import ApiVersion
from ..usecases.ports import PaymentNotice, RefundNotice

__all__ = ["to_notice"]

_V2_REFUND_STATUS = {"SUCCESS": "SUCCESS", "CHANGE": "ABNORMAL", "REFUNDCLOSE": "CLOSED"}


def _digest(*parts: str) -> str:
    return "v2-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def to_notice(notification: Any, body: bytes) -> PaymentNotice | RefundNotice:
    """The use-case value for a verified notification of any kind and version."""
    if isinstance(notification, TransactionNotification):
        transaction = notification.transaction
        return PaymentNotice(
            event_id=notification.id,
            api=ApiVersion.V3,
            mchid=transaction.mchid,
            appid=transaction.appid,
            out_trade_no=transaction.out_trade_no,
            trade_state=transaction.trade_state,
            amount_fen=transaction.amount.total_fen,
            currency=transaction.amount.currency,
            body=_text(body),
            transaction_id=transaction.transaction_id,
            payer_amount_fen=transaction.amount.payer_total_fen,
            paid_at=transaction.success_time.timestamp() if transaction.success_time else None,
        )
    if isinstance(notification, RefundNotification):
        refund = notification.refund
        return RefundNotice(
            event_id=notification.id,
            api=ApiVersion.V3,
            mchid=refund.mchid,
            out_trade_no=refund.out_trade_no,
            out_refund_no=refund.out_refund_no,
            refund_status=refund.refund_status,
            refund_fen=refund.amount.refund_fen,
            total_fen=refund.amount.total_fen,
            body=_text(body),
            refund_id=refund.refund_id,
            succeeded_at=refund.success_time.timestamp() if refund.success_time else None,
        )
    if isinstance(notification, V2PaymentNotification):
        trade_state = "SUCCESS" if notification.result_code == "SUCCESS" else "PAYERROR"
        return PaymentNotice(
            event_id=_digest("pay", notification.mch_id, notification.out_trade_no, notification.transaction_id,
                             notification.result_code),
            api=ApiVersion.V2,
            mchid=notification.mch_id,
            appid=notification.appid,
            out_trade_no=notification.out_trade_no,
            trade_state=trade_state,
            amount_fen=notification.total_fee_fen,
            currency=notification.fee_type or "CNY",
            body=_text(body),
            transaction_id=notification.transaction_id,
            payer_amount_fen=notification.cash_fee_fen,
            paid_at=notification.time_end.timestamp() if notification.time_end else None,
        )
    if isinstance(notification, V2RefundNotification):
        return RefundNotice(
            event_id=_digest("refund", notification.mch_id, notification.out_refund_no, notification.refund_id,
                             notification.refund_status),
            api=ApiVersion.V2,
            mchid=notification.mch_id,
            out_trade_no=notification.out_trade_no,
            out_refund_no=notification.out_refund_no,
            refund_status=_V2_REFUND_STATUS.get(notification.refund_status, notification.refund_status),
            refund_fen=notification.refund_fee_fen,
            total_fen=notification.total_fee_fen,
            # The raw v2 refund body holds only ciphertext; keep the decrypted fields instead (no secrets in them).
            body=_text(body),
            refund_id=notification.refund_id,
            succeeded_at=notification.success_time.timestamp() if notification.success_time else None,
        )
    raise TypeError(f"not a notification: {type(notification).__name__}")
