"""The control API of the mini-program platform (``/simulator/wxa…``): what the merchant sets in the mini-program
admin (message push, trade management) and what the buyer does in WeChat (confirm receipt).

- ``PUT /simulator/wxa {"appid"?, "trade_managed"?, "message_url"?, "message_token"?, "message_format"?}`` and
  ``GET /simulator/wxa`` → the app's settings (the token itself is never shown: ``message_token_set``)
- ``POST /simulator/wxa/confirm-receipt {"transaction_id" | ("mchid"?, "out_trade_no")}`` → the buyer confirms
  receipt: the trade completes, its funds are settled and the message is pushed (404 unknown, 409 not shipped)
- ``GET /simulator/wxa/orders`` → every managed payment with its ``order_state``, and ``frozen_fen`` (paid,
  not yet settled, not refunded)
"""

from __future__ import annotations

from typing import Any

from ..http_messages import SimResponse
from ..state import SimulatorState
from ..wxa.messages import BY_BUYER, confirm_receipt
from ..wxa.orders import COMPLETED, REFUNDED, find_payment, managed_payments, order_json
from ..wxa.wire import WxaError

__all__ = ["ControlError", "confirm", "orders", "settings"]

_FORMATS = ("json", "xml")


class ControlError(Exception):
    """A refusal of the control API: HTTP status, code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _appid(sim: SimulatorState, data: dict[str, Any]) -> str:
    appid = data.get("appid") or sim.account["appids"]["miniprogram"]
    if appid not in sim.account["appids"].values():
        raise ControlError(400, "PARAM_ERROR", f"unknown appid {appid!r}: use one from account.json")
    return str(appid)


def _changes(data: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "trade_managed" in data:
        if not isinstance(data["trade_managed"], bool):
            raise ControlError(400, "PARAM_ERROR", "trade_managed must be a boolean")
        changes["trade_managed"] = int(data["trade_managed"])
    for name in ("message_url", "message_token"):
        if name in data:
            if not isinstance(data[name], str):
                raise ControlError(400, "PARAM_ERROR", f"{name} must be a string")
            changes[name] = data[name]
    if "message_format" in data:
        if data["message_format"] not in _FORMATS:
            raise ControlError(400, "PARAM_ERROR", "message_format must be json or xml")
        changes["message_format"] = data["message_format"]
    return changes


def settings(sim: SimulatorState, data: dict[str, Any] | None) -> SimResponse:
    """Read (``data`` None) or change the app's settings."""
    appid = _appid(sim, data or {})
    app = sim.ledger.set_wxa_app(appid, **_changes(data)) if data is not None else sim.ledger.wxa_app(appid)
    return SimResponse.json(200, {
        "appid": app.appid, "trade_managed": bool(app.trade_managed), "message_url": app.message_url,
        "message_token_set": bool(app.message_token), "message_format": app.message_format,
    })  # fmt: skip


def confirm(sim: SimulatorState, data: dict[str, Any]) -> SimResponse:
    """The buyer confirms receipt of a shipped payment."""
    query = {"transaction_id": data.get("transaction_id"), "merchant_id": data.get("mchid") or sim.mchid,
             "merchant_trade_no": data.get("out_trade_no")}  # fmt: skip
    if not query["transaction_id"] and not query["merchant_trade_no"]:
        raise ControlError(400, "PARAM_ERROR", "give transaction_id or out_trade_no")
    try:
        payment = find_payment(sim, query, upload=False)
        done = confirm_receipt(sim, payment, method=BY_BUYER)
    except WxaError as error:
        status, code = (404, "ORDER_NOT_EXIST") if error.errcode == 10060001 else (409, "NOT_SHIPPED")
        raise ControlError(status, code, error.errmsg) from None
    return SimResponse.json(200, order_json(done))


def orders(sim: SimulatorState) -> SimResponse:
    """Every managed payment, and the funds still frozen."""
    payments = managed_payments(sim)
    frozen = sum(p.order.amount_fen for p in payments if p.state not in (COMPLETED, REFUNDED))
    return SimResponse.json(200, {"orders": [order_json(p) for p in payments], "frozen_fen": frozen})
