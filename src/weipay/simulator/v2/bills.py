"""``/pay/downloadbill``: the v2 trade bill of one Beijing day, plain or gzipped.

The bill text comes from :mod:`weipay.simulator.bill_files`, the builder v3 uses too, so both APIs
reconcile to the same rows. Errors are v2's unsigned ``return_code=FAIL`` with an ``error_code``.
"""

from __future__ import annotations

import gzip
import re

from ..bill_files import trade_bill
from ..clock import beijing_day
from ..http_messages import SimResponse
from ..state import SimulatorState
from .wire import XML_CONTENT_TYPE, V2Call, fail_body

__all__ = ["downloadbill"]

_BILL_DATE = re.compile(r"[0-9]{8}")
_BILL_TYPES = ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND")


def downloadbill(sim: SimulatorState, call: V2Call) -> SimResponse:
    """``/pay/downloadbill``: the bill file, or ``20001`` (bad request) / ``20002`` (no bill that day)."""
    bill_date = call.get("bill_date")
    bill_type = call.get("bill_type") or "ALL"
    if not bill_date:
        return _bill_error("missing parameter", "20001")
    if not _BILL_DATE.fullmatch(bill_date):
        return _bill_error("data format error", "20001")
    if bill_type not in _BILL_TYPES:
        return _bill_error("invalid bill_type", "20001")
    if call.get("tar_type") not in ("", "GZIP"):
        return _bill_error("invalid tar_type", "20001")
    try:
        start, end = beijing_day(bill_date)
    except ValueError:
        return _bill_error("data format error", "20001")
    if not _has_bill_rows(sim, start, end, bill_type):
        return _bill_error("No Bill Exist", "20002")
    text = trade_bill(sim, bill_date, bill_type)
    if call.get("tar_type") == "GZIP":
        return _file(gzip.compress(text.encode("utf-8")), "application/x-gzip")
    return _file(text.encode("utf-8"), "text/plain; charset=utf-8")


def _has_bill_rows(sim: SimulatorState, start: float, end: float, bill_type: str) -> bool:
    if bill_type != "REFUND" and any(order.mchid == sim.mchid for order in sim.ledger.paid_between(start, end)):
        return True
    return bill_type != "SUCCESS" and any(
        refund_record.mchid == sim.mchid for refund_record in sim.ledger.refunds_between(start, end)
    )


def _file(body: bytes, content_type: str) -> SimResponse:
    return SimResponse(200, {"content-type": content_type}, body)


def _bill_error(return_msg: str, error_code: str) -> SimResponse:
    return SimResponse(200, {"content-type": XML_CONTENT_TYPE}, fail_body(return_msg, error_code=error_code))
