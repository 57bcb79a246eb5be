"""The ``/wxa/sec/order/*`` routes of the mini-program platform, each authenticated by the app's access token.

``upload_shipping_info``, ``get_order``, ``get_order_list``, ``is_trade_managed`` and
``notify_confirm_receive`` (see :mod:`.shipping` and :mod:`.orders` for their rules). Every answer is HTTP 200
with ``errcode``; an unknown path under ``/wxa/`` answers 40066 (invalid url), as WeChat does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..http_messages import SimRequest, SimResponse
from ..state import SimulatorState
from .orders import find_payment, managed_payments, order_json
from .shipping import notify_confirm_receive, upload_shipping_info
from .wire import WxaError, answer, check_token, error_response, json_body

__all__ = ["handle"]

_PREFIX = "/wxa/sec/order/"
_MAX_PAGE_SIZE = 100


def _upload(sim: SimulatorState, data: dict[str, Any]) -> SimResponse:
    upload_shipping_info(sim, data)
    return answer()


def _get_order(sim: SimulatorState, data: dict[str, Any]) -> SimResponse:
    return answer({"order": order_json(find_payment(sim, data, upload=False))})


def _get_order_list(sim: SimulatorState, data: dict[str, Any]) -> SimResponse:
    page_size = data.get("page_size", 50)
    if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= _MAX_PAGE_SIZE:
        raise WxaError(47001, f"data format error, hint: page_size must be 1-{_MAX_PAGE_SIZE}")
    time_range = data.get("pay_time_range") or {}
    begin, end = time_range.get("begin_time", 0), time_range.get("end_time", 2**62)
    state, openid = data.get("order_state"), data.get("openid")
    chosen = [payment for payment in managed_payments(sim)
              if begin <= int(payment.order.success_time or 0) <= end
              and (state is None or payment.state == state)
              and (openid is None or payment.order.payer_openid == openid)]  # fmt: skip
    start = int(data["last_index"]) if str(data.get("last_index") or "").isdigit() else 0
    page = chosen[start:start + page_size]
    has_more = start + page_size < len(chosen)
    return answer({"order_list": [order_json(payment) for payment in page],
                   "last_index": str(start + len(page)), "has_more": has_more})  # fmt: skip


def _is_trade_managed(sim: SimulatorState, data: dict[str, Any]) -> SimResponse:
    appid = data.get("appid")
    if not isinstance(appid, str) or appid not in sim.account["appids"].values():
        raise WxaError(40013, "invalid appid")
    managed = appid == sim.account["appids"].get("miniprogram") and bool(sim.ledger.wxa_app(appid).trade_managed)
    return answer({"is_trade_managed": managed})


def _confirm_reminder(sim: SimulatorState, data: dict[str, Any]) -> SimResponse:
    notify_confirm_receive(sim, data)
    return answer()


_ROUTES: dict[str, Callable[[SimulatorState, dict[str, Any]], SimResponse]] = {
    "upload_shipping_info": _upload,
    "get_order": _get_order,
    "get_order_list": _get_order_list,
    "is_trade_managed": _is_trade_managed,
    "notify_confirm_receive": _confirm_reminder,
}


def handle(sim: SimulatorState, request: SimRequest) -> SimResponse:
    """Answer one ``/wxa/sec/order/…`` request."""
    try:
        action = _ROUTES.get(request.path.removeprefix(_PREFIX))
        if action is None:
            raise WxaError(40066, "invalid url")
        if request.method.upper() != "POST":
            raise WxaError(43002, "require POST method")
        check_token(sim, request)
        return action(sim, json_body(request))
    except WxaError as error:
        return error_response(error)
