"""Sample WeChat Pay payloads shared by the SDK tests: one decrypted v3 transaction, varied per test by overrides."""

from __future__ import annotations

import copy
from typing import Any

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
