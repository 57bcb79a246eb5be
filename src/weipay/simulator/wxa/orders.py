"""A paid mini-program order as shipping management sees it: which payments it covers, their ``order_state``.

A payment is managed when it was made through the app's JSAPI (the mini-program appid of the bundle) and the app
is under trade management. Its record appears at the first upload; before that it is 待发货 (1). A payment
refunded in full is 已退款 (5) whatever was shipped.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from ..ledger import Order, WxaShipping
from ..state import SimulatorState
from .wire import WxaError

__all__ = [
    "AWAITING_SHIPMENT",
    "COMPLETED",
    "RECEIPT_CONFIRMED",
    "REFUNDED",
    "SHIPPED",
    "ManagedPayment",
    "find_payment",
    "managed_payments",
    "order_json",
]

AWAITING_SHIPMENT, SHIPPED, RECEIPT_CONFIRMED, COMPLETED, REFUNDED = 1, 2, 3, 4, 5


class ManagedPayment:
    """A managed payment and its shipping record (a blank one before the first upload)."""

    def __init__(self, sim: SimulatorState, order: Order) -> None:
        self.order = order
        stored = sim.ledger.wxa_shipping(order.mchid, order.out_trade_no)
        self.stored_state = None if stored is None else stored.order_state
        self.record = stored or WxaShipping(order.mchid, order.out_trade_no, AWAITING_SHIPMENT, None, None, 0, 0,
                                            "[]", "", None, 0, None, None, None)
        refunded = sum(r.amount_fen for r in sim.ledger.refunds_for_order(order.mchid, order.out_trade_no)
                       if r.status == "SUCCESS")
        if refunded >= order.amount_fen and self.record.order_state < COMPLETED:
            self.record = replace(self.record, order_state=REFUNDED)

    @property
    def state(self) -> int:
        """WeChat's ``order_state``."""
        return self.record.order_state

    def save(self, sim: SimulatorState, record: WxaShipping) -> bool:
        """Store ``record`` by compare-and-set on the state read; False if another request moved it first."""
        return sim.ledger.save_wxa_shipping(record, expected_state=self.stored_state)


def _is_managed(sim: SimulatorState, order: Order) -> bool:
    appid = sim.account["appids"].get("miniprogram")
    return (order.appid == appid and order.trade_type == "JSAPI" and order.state in ("SUCCESS", "REFUND")
            and bool(sim.ledger.wxa_app(appid).trade_managed))


def find_payment(sim: SimulatorState, data: dict[str, Any], *, upload: bool) -> ManagedPayment:
    """The payment named by ``order_key`` (upload) or the query's fields; 10060001 when there is none."""
    if upload:
        key = data.get("order_key")
        if not isinstance(key, dict):
            raise WxaError(47001, "data format error: order_key is required")
        kind = key.get("order_number_type")
        transaction_id = key.get("transaction_id") if kind == 2 else None
        mchid, out_trade_no = (key.get("mchid"), key.get("out_trade_no")) if kind == 1 else (None, None)
        if kind not in (1, 2):
            raise WxaError(47001, "data format error: order_number_type must be 1 or 2")
    else:
        transaction_id = data.get("transaction_id")
        mchid, out_trade_no = data.get("merchant_id"), data.get("merchant_trade_no")
    order: Order | None = None
    if isinstance(transaction_id, str) and transaction_id:
        order = sim.ledger.order_by_transaction_id(transaction_id)
    elif isinstance(mchid, str) and isinstance(out_trade_no, str) and mchid and out_trade_no:
        order = sim.ledger.order(mchid, out_trade_no)
    elif not upload:
        raise WxaError(47001, "data format error: give transaction_id or merchant_id + merchant_trade_no")
    else:
        raise WxaError(47001, "data format error: order_key lacks its number")
    if order is None or not _is_managed(sim, order):
        raise WxaError(10060001, "支付单不存在")
    return ManagedPayment(sim, order)


def managed_payments(sim: SimulatorState) -> list[ManagedPayment]:
    """Every managed payment, newest first."""
    return [ManagedPayment(sim, order) for order in sim.ledger.orders(limit=5000) if _is_managed(sim, order)]


def order_json(payment: ManagedPayment) -> dict[str, Any]:
    """The ``order`` object of get_order / get_order_list."""
    order, record = payment.order, payment.record
    data: dict[str, Any] = {
        "transaction_id": order.transaction_id, "merchant_id": order.mchid, "sub_merchant_id": "",
        "merchant_trade_no": order.out_trade_no, "description": order.description, "paid_amount": order.amount_fen,
        "openid": order.payer_openid or "", "trade_create_time": int(order.created_at),
        "pay_time": int(order.success_time or 0), "in_complaint": False, "order_state": payment.state,
    }  # fmt: skip
    if record.logistics_type is not None:
        entries = record.entries
        data["shipping"] = {
            "delivery_mode": record.delivery_mode, "logistics_type": record.logistics_type,
            "finish_shipping": bool(record.finish_shipping), "finish_shipping_count": record.shipments,
            "goods_desc": "; ".join(str(entry.get("goods_desc", "")) for entry in entries)[:120],
            "shipping_list": entries,
        }  # fmt: skip
    return data


def dumps(entries: list[dict[str, Any]]) -> str:
    """Entries as stored."""
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
