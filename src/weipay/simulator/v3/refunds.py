"""API v3 refunds: ``POST /v3/refund/domestic/refunds`` (answers PROCESSING) and the query by out_refund_no."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ..clock import rfc3339
from ..http_messages import SimRequest, SimResponse
from ..ledger import LedgerRefusal, Order, Refund
from ..state import SimulatorState
from .errors import V3Error, param_error
from .fields import check_int, check_notify_url, check_object, check_str, optional_str, read_json

__all__ = ["create", "query", "refund_object"]

OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
USER_RECEIVED_ACCOUNT = "支付用户零钱"


def refund_object(refund: Refund, order: Order | None) -> dict[str, Any]:
    """The Refund object of create and query answers."""
    answer: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": order.transaction_id if order and order.transaction_id else "",
        "out_trade_no": refund.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": refund.user_received_account,
        "create_time": rfc3339(refund.created_at),
        "status": refund.status,
        "funds_account": refund.funds_account,
        "amount": {
            "total": refund.total_fen, "refund": refund.amount_fen, "from": [], "payer_total": refund.total_fen,
            "payer_refund": refund.amount_fen, "settlement_refund": refund.amount_fen,
            "settlement_total": refund.total_fen, "discount_refund": 0, "currency": "CNY", "refund_fee": 0,
        },
        "promotion_detail": [],
    }
    if refund.success_time is not None:
        answer["success_time"] = rfc3339(refund.success_time)
    return answer


_REFUSALS = {
    "params_differ": (400, "INVALID_REQUEST"),
    "not_found": (404, "RESOURCE_NOT_EXISTS"),
    "not_paid": (404, "RESOURCE_NOT_EXISTS"),
    "total_mismatch": (400, "INVALID_REQUEST"),
    "over_refund": (400, "INVALID_REQUEST"),
    "not_enough": (403, "NOT_ENOUGH"),
}


def _order_of(sim: SimulatorState, body: dict[str, Any]) -> Order:
    transaction_id = optional_str(body, "transaction_id", max_bytes=32)
    out_trade_no = optional_str(body, "out_trade_no", max_bytes=32)
    if transaction_id is None and out_trade_no is None:
        raise param_error("/transaction_id", "transaction_id和out_trade_no必须二选一")
    order = (
        sim.ledger.order_by_transaction_id(transaction_id, sim.mchid)
        if transaction_id is not None
        else sim.ledger.order(sim.mchid, out_trade_no or "")
    )
    if order is None or order.state not in ("SUCCESS", "REFUND"):
        raise V3Error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
    return order


def create(sim: SimulatorState, request: SimRequest, _: dict[str, str]) -> SimResponse:
    """Accept a refund: PROCESSING now, SUCCESS after ``sim.refund_processing_s`` (see ``Simulator.tick``)."""
    body = read_json(request)
    out_refund_no = check_str(body, "out_refund_no", max_bytes=64, pattern=OUT_REFUND_NO)
    reason = optional_str(body, "reason", max_bytes=80) or ""
    notify_url = optional_str(body, "notify_url", max_bytes=256) or ""
    if notify_url:
        check_notify_url(notify_url, "/notify_url", strict=sim.strict)
    funds_account = body.get("funds_account")
    if funds_account not in (None, "AVAILABLE"):
        raise param_error("/funds_account", "仅支持AVAILABLE", funds_account)
    amount = check_object(body, "amount", "/")
    assert amount is not None
    refund_fen = check_int(amount, "refund", "/amount/")
    total_fen = check_int(amount, "total", "/amount/")
    if check_str(amount, "currency", "/amount/", max_bytes=16) != "CNY":
        raise param_error("/amount/currency", "仅支持CNY", amount.get("currency"))
    if refund_fen > total_fen:
        raise param_error("/amount/refund", "退款金额不能大于订单金额", refund_fen)
    order = _order_of(sim, body)
    now = sim.now()
    canonical = json.dumps({k: v for k, v in body.items() if k not in ("transaction_id", "out_trade_no")},
                           sort_keys=True, ensure_ascii=False)
    refund = Refund(
        mchid=sim.mchid, out_refund_no=out_refund_no, refund_id=sim.new_refund_id(), out_trade_no=order.out_trade_no,
        api="v3", amount_fen=refund_fen, total_fen=total_fen, status="PROCESSING",
        funds_account=funds_account or "UNSETTLED", reason=reason, notify_url=notify_url,
        fingerprint=hashlib.sha256((order.out_trade_no + canonical).encode()).hexdigest(), created_at=now,
        success_time=None, user_received_account=USER_RECEIVED_ACCOUNT, due_at=now + sim.refund_processing_s,
    )
    try:
        stored, _created = sim.ledger.create_refund(refund)
    except LedgerRefusal as refusal:
        status, code = _REFUSALS.get(refusal.reason, (400, "INVALID_REQUEST"))
        raise V3Error(status, code, refusal.message) from None
    return SimResponse.json(200, refund_object(stored, order))


def query(sim: SimulatorState, request: SimRequest, params: dict[str, str]) -> SimResponse:
    """``GET /v3/refund/domestic/refunds/{out_refund_no}``."""
    refund = sim.ledger.refund(sim.mchid, params["id"])
    if refund is None:
        raise V3Error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    return SimResponse.json(200, refund_object(refund, sim.ledger.order(sim.mchid, refund.out_trade_no)))
