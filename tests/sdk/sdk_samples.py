"""Sample WeChat Pay payloads shared by the SDK tests: a decrypted v3 transaction and refund (varied per test by
overrides), and a v3 notification built from either as WeChat would send it."""

from __future__ import annotations

import copy
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from weipay.sdk.v3.wechat_side import build_notification

_TRANSACTION: dict[str, Any] = {
    "mchid": "1230000109",
    "appid": "wxd678efh567hg6787",
    "out_trade_no": "ORDER_000001",
    "transaction_id": "4200000483202001042069747825",
    "trade_type": "JSAPI",
    "trade_state": "SUCCESS",
    "trade_state_desc": "支付成功",
    "bank_type": "OTHERS",
    "attach": "",
    "success_time": "2026-01-04T18:30:59+08:00",
    "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"},
}


def transaction(*, payer_total: int | None = None, **changes: Any) -> dict[str, Any]:
    """A fresh decrypted TRANSACTION.SUCCESS resource; ``changes`` replace or add top-level fields."""
    sample = copy.deepcopy(_TRANSACTION)
    if payer_total is not None:
        sample["amount"]["payer_total"] = payer_total
    sample.update(changes)
    return sample


_REFUND: dict[str, Any] = {
    "mchid": "1230000109",
    "out_trade_no": "ORDER_000001",
    "transaction_id": "4200000483202001042069747825",
    "out_refund_no": "R_000001",
    "refund_id": "50300103182020010413419046597",
    "refund_status": "SUCCESS",
    "success_time": "2026-01-05T10:00:00+08:00",
    "user_received_account": "支付用户零钱",
    "amount": {"total": 100, "refund": 40, "payer_total": 90, "payer_refund": 40, "settlement_total": 100},
}


def refund(**changes: Any) -> dict[str, Any]:
    """A fresh decrypted REFUND.* resource; ``changes`` replace or add top-level fields."""
    sample = copy.deepcopy(_REFUND)
    sample.update(changes)
    return sample


def signed_notification(
    private_key: RSAPrivateKey,
    serial: str,
    resource: dict[str, Any],
    *,
    api_v3_key: bytes,
    timestamp: int,
    event_type: str = "TRANSACTION.SUCCESS",
    original_type: str = "transaction",
    notification_id: str = "EV-1",
) -> tuple[dict[str, str], bytes]:
    """``resource`` notified as WeChat would: encrypted with ``api_v3_key``, the envelope signed by ``private_key``."""
    return build_notification(
        private_key=private_key,
        serial=serial,
        api_v3_key=api_v3_key,
        notification_id=notification_id,
        create_time="2026-01-04T18:31:00+08:00",
        event_type=event_type,
        summary="支付成功",
        original_type=original_type,
        associated_data=original_type,
        plaintext=json.dumps(resource, ensure_ascii=False).encode(),
        resource_nonce="abcdefghijkl",
        timestamp=str(timestamp),
        nonce="f" * 32,
    )
