"""The simulator's own control API (``/simulator/…``) and the H5 cashier page.

- ``POST /simulator/login-codes {"appid", "user"?}`` -> ``{"code", "openid"}``
- ``POST /simulator/oauth-codes {"appid"?, "user"?, "scope"?}`` -> ``{"code", "openid"}``: an OAuth code of the
  official account (default) or the app, as WeChat's redirect or an app's ``SendAuth`` carries it
- ``POST /simulator/payments {"prepay_id" | "code_url" | ("mchid", "out_trade_no"), "openid"?, "outcome"}``
  -> ``{"transaction_id"?, "trade_state", "trade_state_desc"}``
- ``POST /simulator/payment-codes {"user"?, "outcome"?, "confirm"?: "none" | "password", "confirm_s"?}``
  -> ``{"auth_code", "user", "outcome", "confirm", "confirm_s", "expires_at"}``: the 付款码 a payer shows; the
  charge then pays at once (``none``) or answers USERPAYING and the payer decides ``confirm_s`` later
  (``outcome``: success, cancel, insufficient_balance, bank_error, or wait: only a reverse ends it).
  ``POST /simulator/payments {"out_trade_no", "outcome"}`` decides a USERPAYING charge now.
- ``GET /simulator/notifications`` -> the delivery log
- ``GET /simulator/orders[?state=&out_trade_no=]`` -> WeChat's side of the money (ground truth for tests):
  orders with their refunds, and the balances
- ``PUT /simulator/faults`` / ``GET /simulator/faults`` -> the fault plan (balances too: ``unsettled_fen``,
  ``available_fen``)
- ``POST /simulator/refunds {"out_refund_no", "status": "SUCCESS" | "ABNORMAL" | "CLOSED"}`` -> finish a
  PROCESSING refund now with that outcome (and notify)
- ``POST /simulator/tick`` -> run due work now
- ``GET /simulator/payer`` (and the H5 ``h5_url``) -> the payer page, rendered by :mod:`.payer_page`
- ``/simulator/wxa…`` -> the mini-program platform's settings, confirming receipt, managed payments (:mod:`.wxa`)
Errors: ``{"code", "message"}`` with 400 (bad input), 404 (unknown order), 409 (paid / closed).
"""

from __future__ import annotations

import json
from typing import Any

from .. import codepay, payer
from ..due_work import tick
from ..faults import FaultPlan
from ..http_messages import SimRequest, SimResponse
from ..ledger import LedgerRefusal, Order
from ..login import mint_code
from ..notifier import enqueue_refund
from ..oauth import OAUTH_KINDS, SCOPES, mint_oauth_code
from ..state import H5_PATH, SimulatorState
from . import payer_page, wxa

__all__ = ["handle"]


class _ControlError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _json(request: SimRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise _ControlError(400, "PARAM_ERROR", "the body must be JSON") from None
    if not isinstance(data, dict):
        raise _ControlError(400, "PARAM_ERROR", "the body must be a JSON object")
    return data


def _login_code(sim: SimulatorState, request: SimRequest) -> SimResponse:
    data = _json(request)
    appid = data.get("appid")
    if appid is None:
        appid = sim.account["appids"]["miniprogram"]
    if appid not in sim.account["appids"].values():
        raise _ControlError(400, "PARAM_ERROR", f"unknown appid {appid!r}: use one from account.json")
    user = data.get("user", "payer")
    if not isinstance(user, str) or not user:
        raise _ControlError(400, "PARAM_ERROR", "user must be a non-empty string")
    code = mint_code(sim, appid, user)
    return SimResponse.json(200, {"code": code.code, "openid": code.openid})


def _oauth_code(sim: SimulatorState, request: SimRequest) -> SimResponse:
    data = _json(request)
    appids = sim.account["appids"]
    appid = data.get("appid") or appids["official_account"]
    if appid not in [appids.get(kind) for kind in OAUTH_KINDS]:
        raise _ControlError(400, "PARAM_ERROR", f"appid {appid!r} is not the official account's or the app's")
    user, scope = data.get("user", "payer"), data.get("scope", "snsapi_base")
    if not isinstance(user, str) or not user:
        raise _ControlError(400, "PARAM_ERROR", "user must be a non-empty string")
    if scope not in SCOPES:
        raise _ControlError(400, "PARAM_ERROR", f"scope must be one of {', '.join(SCOPES)}")
    code = mint_oauth_code(sim, appid, user, scope)
    return SimResponse.json(200, {"code": code.code, "openid": code.openid})


def _payment_code(sim: SimulatorState, request: SimRequest) -> SimResponse:
    data = _json(request)
    user = data.get("user", "payer")
    if not isinstance(user, str) or not user:
        raise _ControlError(400, "PARAM_ERROR", "user must be a non-empty string")
    confirm_s = data.get("confirm_s")
    if confirm_s is not None and (isinstance(confirm_s, bool) or not isinstance(confirm_s, int | float)):
        raise _ControlError(400, "PARAM_ERROR", "confirm_s must be a number of seconds")
    try:
        code = codepay.mint_code(sim, user=user, outcome=str(data.get("outcome", "success")),
                                 confirm=str(data.get("confirm", "password")), confirm_s=confirm_s)  # fmt: skip
    except ValueError as exc:
        raise _ControlError(400, "PARAM_ERROR", str(exc)) from None
    return SimResponse.json(200, codepay.code_json(code))


def find_order(sim: SimulatorState, data: dict[str, Any]) -> Order:
    """The order named by ``prepay_id``, ``code_url`` or (``mchid``, ``out_trade_no``)."""
    order: Order | None
    if data.get("prepay_id"):
        order = sim.ledger.order_by_prepay_id(str(data["prepay_id"]))
    elif data.get("code_url"):
        order = sim.ledger.order_by_code_url(str(data["code_url"]))
    elif data.get("out_trade_no"):
        order = sim.ledger.order(str(data.get("mchid") or sim.mchid), str(data["out_trade_no"]))
    else:
        raise _ControlError(400, "PARAM_ERROR", "give prepay_id, code_url or mchid + out_trade_no")
    if order is None:
        raise _ControlError(404, "ORDER_NOT_EXIST", "no such order")
    return order


def _payment(sim: SimulatorState, request: SimRequest) -> SimResponse:
    data = _json(request)
    outcome = data.get("outcome", "success")
    if outcome not in payer.OUTCOMES:
        raise _ControlError(400, "PARAM_ERROR", f"outcome must be one of {', '.join(payer.OUTCOMES)}")
    openid = data.get("openid")
    if openid is not None and not isinstance(openid, str):
        raise _ControlError(400, "PARAM_ERROR", "openid must be a string")
    order = find_order(sim, data)
    try:
        result = payer.pay(sim, order, openid=openid, outcome=outcome)
    except LedgerRefusal as refusal:
        codes = {"paid": (409, "ORDERPAID"), "closed": (409, "ORDER_CLOSED"), "expired": (409, "ORDER_CLOSED"),
                 "openid_mismatch": (400, "OPENID_MISMATCH")}
        status, code = codes.get(refusal.reason, (409, refusal.reason.upper()))
        raise _ControlError(status, code, refusal.message) from None
    return SimResponse.json(200, result)


def _refund_outcome(sim: SimulatorState, request: SimRequest) -> SimResponse:
    data = _json(request)
    status = data.get("status", "SUCCESS")
    if status not in ("SUCCESS", "ABNORMAL", "CLOSED"):
        raise _ControlError(400, "PARAM_ERROR", "status must be SUCCESS, ABNORMAL or CLOSED")
    refund = sim.ledger.refund(str(data.get("mchid") or sim.mchid), str(data.get("out_refund_no", "")))
    if refund is None:
        raise _ControlError(404, "RESOURCE_NOT_EXISTS", "no such refund")
    done = sim.ledger.complete_refund(refund, status=status, now=sim.now())
    if done is None:
        raise _ControlError(409, "REFUND_FINISHED", f"the refund is already {refund.status}")
    enqueue_refund(sim, done)
    return SimResponse.json(200, {"out_refund_no": done.out_refund_no, "refund_id": done.refund_id,
                                  "status": done.status})


def _order_json(sim: SimulatorState, order: Order) -> dict[str, Any]:
    refunds = [
        {"out_refund_no": r.out_refund_no, "refund_id": r.refund_id, "api": r.api, "amount_fen": r.amount_fen,
         "status": r.status, "funds_account": r.funds_account, "created_at": r.created_at,
         "success_time": r.success_time}
        for r in sim.ledger.refunds_for_order(order.mchid, order.out_trade_no)
    ]
    return {
        "mchid": order.mchid, "out_trade_no": order.out_trade_no, "api": order.api, "trade_type": order.trade_type,
        "appid": order.appid, "amount_fen": order.amount_fen, "state": order.state, "prepay_id": order.prepay_id,
        "code_url": order.code_url, "h5_url": order.h5_url, "transaction_id": order.transaction_id,
        "payer_openid": order.payer_openid, "created_at": order.created_at, "success_time": order.success_time,
        "time_expire": order.time_expire, "options": order.extra_fields, "refunds": refunds,
    }


def _orders(sim: SimulatorState, request: SimRequest) -> SimResponse:
    query = request.query_params()
    if query.get("out_trade_no"):
        found = sim.ledger.order(query.get("mchid") or sim.mchid, query["out_trade_no"])
        orders = [found] if found is not None else []
    else:
        orders = sim.ledger.orders(state=query.get("state") or None, limit=1000)
    unsettled, available = sim.ledger.balance(sim.mchid)
    return SimResponse.json(200, {"orders": [_order_json(sim, order) for order in orders],
                                  "unsettled_fen": unsettled, "available_fen": available})


def _notifications(sim: SimulatorState) -> SimResponse:
    notifications = []
    for n in sim.ledger.notifications():
        notifications.append({
            "id": n.id, "kind": n.kind, "api": n.api, "url": n.url, "subject": n.subject, "state": n.state,
            "attempt": n.attempt, "next_at": n.next_at, "last_status": n.last_status, "last_reply": n.last_reply,
            "created_at": n.created_at,
        })
    by_id = {n["id"]: n for n in notifications}
    deliveries = []
    for row in sim.ledger.deliveries():
        notification = by_id.get(row["notification_id"], {})
        deliveries.append({**row, "kind": notification.get("kind"), "api": notification.get("api"),
                           "url": notification.get("url")})
    return SimResponse.json(200, {"notifications": notifications, "deliveries": deliveries})


def _faults(sim: SimulatorState, request: SimRequest) -> SimResponse:
    if request.method.upper() == "PUT":
        data = _json(request)
        balances = {name: data.pop(name) for name in ("unsettled_fen", "available_fen") if name in data}
        for name, value in balances.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _ControlError(400, "PARAM_ERROR", f"{name} must be a non-negative integer")
        data.setdefault("seed", sim.faults.seed)
        try:
            plan = FaultPlan.from_json(data)
        except ValueError as exc:
            raise _ControlError(400, "PARAM_ERROR", str(exc)) from None
        sim.faults.set_plan(plan)
        if balances:
            sim.ledger.set_balance(sim.mchid, **balances)
    unsettled, available = sim.ledger.balance(sim.mchid)
    return SimResponse.json(200, {**sim.faults.plan.to_json(), "unsettled_fen": unsettled,
                                  "available_fen": available})


def _route(sim: SimulatorState, request: SimRequest) -> SimResponse:
    method, path = request.method.upper(), request.path
    if path == H5_PATH or path.startswith("/simulator/payer"):
        return payer_page.render(sim, request)
    routes = {
        ("POST", "/simulator/login-codes"): lambda: _login_code(sim, request),
        ("POST", "/simulator/oauth-codes"): lambda: _oauth_code(sim, request),
        ("POST", "/simulator/payments"): lambda: _payment(sim, request),
        ("POST", "/simulator/payment-codes"): lambda: _payment_code(sim, request),
        ("GET", "/simulator/notifications"): lambda: _notifications(sim),
        ("GET", "/simulator/orders"): lambda: _orders(sim, request),
        ("GET", "/simulator/faults"): lambda: _faults(sim, request),
        ("PUT", "/simulator/faults"): lambda: _faults(sim, request),
        ("POST", "/simulator/refunds"): lambda: _refund_outcome(sim, request),
        ("POST", "/simulator/tick"): lambda: SimResponse.json(200, tick(sim)),
        ("GET", "/simulator/wxa"): lambda: wxa.settings(sim, None),
        ("PUT", "/simulator/wxa"): lambda: wxa.settings(sim, _json(request)),
        ("POST", "/simulator/wxa/confirm-receipt"): lambda: wxa.confirm(sim, _json(request)),
        ("GET", "/simulator/wxa/orders"): lambda: wxa.orders(sim),
    }
    action = routes.get((method, path))
    if action is None:
        if any(route_path == path for _, route_path in routes):
            raise _ControlError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}")
        raise _ControlError(404, "NOT_FOUND", f"no such control API: {method} {path}")
    return action()


def handle(sim: SimulatorState, request: SimRequest) -> SimResponse:
    """Answer a ``/simulator/…`` request."""
    try:
        return _route(sim, request)
    except (_ControlError, wxa.ControlError) as error:
        return SimResponse.json(error.status, {"code": error.code, "message": error.message})
