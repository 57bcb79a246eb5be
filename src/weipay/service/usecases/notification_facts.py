"""What a verified notification said, as the timeline shows it: decrypted once at intake, redacted, stored as JSON.

A v3 notification is stored as WeChat sent it: ciphertext that only the APIv3 key opens. Keeping the few facts
an operator needs next to it, at the moment the gateway has decrypted them anyway, lets the read side show them
without ever holding a key. Only what identifies the payment goes in; the payer's openid is masked (it is
personal data and the order already names its payer where the merchant set one).
"""

from __future__ import annotations

import json
from typing import Any

from .ports import PaymentNotification, RefundNotification

__all__ = ["mask_openid", "notification_facts"]

_OPENID_KEPT_CHARS = 4


def mask_openid(openid: str | None) -> str | None:
    """``"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" -> "oUpF…eS6o"``: enough to tell two payers apart, not to act as one."""
    if not openid:
        return None
    if len(openid) <= 2 * _OPENID_KEPT_CHARS:
        return "…"
    return f"{openid[:_OPENID_KEPT_CHARS]}…{openid[-_OPENID_KEPT_CHARS:]}"


def notification_facts(notification: PaymentNotification | RefundNotification) -> str:
    """The redacted facts of a verified notification as a JSON object (keys in WeChat's nouns, amounts in fen)."""
    facts: dict[str, Any]
    if isinstance(notification, PaymentNotification):
        facts = {
            "out_trade_no": notification.out_trade_no, "transaction_id": notification.transaction_id,
            "trade_state": notification.trade_state, "trade_type": notification.trade_type,
            "amount_fen": notification.amount_fen, "payer_amount_fen": notification.payer_amount_fen,
            "currency": notification.currency, "bank_type": notification.bank_type,
            "payer_openid": mask_openid(notification.payer_openid), "success_time": notification.paid_at,
        }  # fmt: skip
    else:
        facts = {
            "out_trade_no": notification.out_trade_no, "out_refund_no": notification.out_refund_no,
            "refund_id": notification.refund_id, "refund_status": notification.refund_status,
            "refund_fen": notification.refund_fen, "total_fen": notification.total_fen,
            "success_time": notification.succeeded_at,
        }  # fmt: skip
    return json.dumps(facts, ensure_ascii=False, separators=(",", ":"))
