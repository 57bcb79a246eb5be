"""The v3 notifications WeChat POSTs to merchants: JSON whose ``resource`` is AES-256-GCM-encrypted.

Only the body is built here; the ``Wechatpay-*`` signature headers are added per delivery attempt by the
notifier, so the timestamp is fresh on every retry.
"""

from __future__ import annotations

import json
import secrets
import string
import uuid
from typing import Any

from weipay.sdk.crypto import aes_gcm_encrypt

from ..clock import rfc3339
from ..ledger import Order, Refund
from ..state import SimulatorState
from .resources import refund_resource, transaction_resource

__all__ = ["payment_notification", "refund_notification"]

# A finished refund's status -> (event_type, summary).
_REFUND_EVENTS = {"SUCCESS": ("REFUND.SUCCESS", "退款成功"), "ABNORMAL": ("REFUND.ABNORMAL", "退款异常"),
                 "CLOSED": ("REFUND.CLOSED", "退款关闭")}
_HEADERS = {"content-type": "application/json"}


def payment_notification(state: SimulatorState, order: Order) -> tuple[dict[str, str], bytes]:
    """TRANSACTION.SUCCESS for a paid order: ``(headers, body)``."""
    body = _envelope(state, event_type="TRANSACTION.SUCCESS", summary="支付成功", original_type="transaction",
                     resource=transaction_resource(order))
    return dict(_HEADERS), body


def refund_notification(state: SimulatorState, refund: Refund, order: Order) -> tuple[dict[str, str], bytes]:
    """REFUND.SUCCESS / ABNORMAL / CLOSED for a finished refund: ``(headers, body)``."""
    event_type, summary = _REFUND_EVENTS[refund.status]
    body = _envelope(state, event_type=event_type, summary=summary, original_type="refund",
                     resource=refund_resource(refund, order))
    return dict(_HEADERS), body


def _envelope(state: SimulatorState, *, event_type: str, summary: str, original_type: str,
              resource: dict[str, Any]) -> bytes:
    nonce = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
    envelope = {
        "id": str(uuid.uuid4()),
        "create_time": rfc3339(state.now()),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": aes_gcm_encrypt(state.account["apiv3_key"].encode(), nonce, original_type, plaintext),
            "associated_data": original_type,
            "nonce": nonce,
        },
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
