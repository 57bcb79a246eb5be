"""The v3 Transaction and Refund objects as notifications carry them (the Transaction also answers queries)."""

from __future__ import annotations

from typing import Any

from ..clock import rfc3339
from ..ledger import Order, Refund

__all__ = ["refund_resource", "transaction_resource"]


def transaction_resource(order: Order) -> dict[str, Any]:
    """The v3 Transaction object (query answer and decrypted TRANSACTION.SUCCESS resource)."""
    resource: dict[str, Any] = {
        "appid": order.appid,
        "mchid": order.mchid,
        "out_trade_no": order.out_trade_no,
        "trade_type": order.trade_type,
        "trade_state": order.state,
        "trade_state_desc": order.trade_state_desc,
        "amount": {"total": order.amount_fen, "currency": order.currency},
    }
    if order.transaction_id:
        resource.update(
            transaction_id=order.transaction_id,
            bank_type=order.bank_type or "OTHERS",
            attach=order.attach,
            success_time=rfc3339(order.success_time or 0),
            payer={"openid": order.payer_openid or order.openid},
        )
        resource["amount"].update(payer_total=order.amount_fen, payer_currency=order.currency)
    elif order.openid:
        resource["payer"] = {"openid": order.openid}
    device_id = order.extra_fields.get("device_id") if order.api == "v3" else None
    if device_id:  # WeChat echoes the merchant's device in the transaction
        resource["scene_info"] = {"device_id": device_id}
    return resource


def refund_resource(refund: Refund, order: Order) -> dict[str, Any]:
    """The decrypted REFUND.* resource."""
    resource: dict[str, Any] = {
        "mchid": refund.mchid,
        "transaction_id": order.transaction_id or "",
        "out_trade_no": refund.out_trade_no,
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "refund_status": refund.status,
        "user_received_account": refund.user_received_account,
        "amount": {"total": refund.total_fen, "refund": refund.amount_fen, "payer_total": refund.total_fen,
                   "payer_refund": refund.amount_fen},
    }
    if refund.success_time is not None:
        resource["success_time"] = rfc3339(refund.success_time)
    return resource
