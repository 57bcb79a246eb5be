"""The payer web page (``GET /simulator/payer``): the simulator playing the WeChat app.

It lists every pending payment (unpaid, not expired) of every channel with Pay and Cancel buttons that call
the control API (``POST /simulator/payments``), shows Native ``code_url`` values as QR codes, and lists the
latest notification deliveries. The H5 ``h5_url`` lands here too, focused on its order (``?prepay_id=``);
``?code_url=`` and ``?out_trade_no=`` focus the same way. Everything is rendered with jinja2 autoescaping:
order descriptions and attach come from merchants and are never trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import segno
from markupsafe import Markup

from ..clock import dashed
from ..http_messages import SimRequest, SimResponse
from ..ledger import Order
from ..state import SimulatorState

__all__ = ["MAX_DELIVERIES", "MAX_ORDERS", "render"]

MAX_ORDERS = 100
MAX_DELIVERIES = 30
_REPLY_CHARS = 160
_CHANNELS = {"JSAPI": "JSAPI 公众号", "NATIVE": "Native 扫码", "APP": "APP", "MWEB": "H5"}


@dataclass(frozen=True)
class _Focus:
    prepay_id: str = ""
    code_url: str = ""
    out_trade_no: str = ""

    def matches(self, order: Order) -> bool:
        return bool(
            (self.prepay_id and order.prepay_id == self.prepay_id)
            or (self.code_url and order.code_url == self.code_url)
            or (self.out_trade_no and order.out_trade_no == self.out_trade_no)
        )

    def __bool__(self) -> bool:
        return bool(self.prepay_id or self.code_url or self.out_trade_no)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render(sim: SimulatorState, request: SimRequest) -> SimResponse:
    """The payer page as HTML."""
    params = request.query_params()
    focus = _Focus(params.get("prepay_id", ""), params.get("code_url", ""), params.get("out_trade_no", ""))
    now = sim.now()
    pending = [order for order in sim.ledger.orders(state="NOTPAY", limit=MAX_ORDERS)
               if order.mchid == sim.mchid and order.time_expire > now]
    pending.sort(key=lambda order: not focus.matches(order))
    html = _environment().get_template("payer.html").render(
        mchid=sim.mchid,
        now_text=dashed(now),
        notice=_notice(sim, focus, pending),
        scan_code_url=focus.code_url,
        return_url=_safe_return_url(params.get("redirect_url", "")),
        orders=[_order_view(sim, order, focus) for order in pending],
        deliveries=_deliveries(sim),
    )
    headers = {
        "content-type": "text/html; charset=utf-8",
        # The page needs no third-party anything; say so to the browser.
        "content-security-policy": "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                                   "img-src 'self' data:; frame-ancestors 'none'",
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
    }
    return SimResponse(200, headers, html.encode("utf-8"))


def _notice(sim: SimulatorState, focus: _Focus, pending: list[Order]) -> str:
    if not focus or any(focus.matches(order) for order in pending):
        return ""
    order = None
    if focus.prepay_id:
        order = sim.ledger.order_by_prepay_id(focus.prepay_id)
    elif focus.code_url:
        order = sim.ledger.order_by_code_url(focus.code_url)
    elif focus.out_trade_no:
        order = sim.ledger.order(sim.mchid, focus.out_trade_no)
    if order is None:
        return "No such payment: the link names no order of this simulator."
    state = "CLOSED" if order.state == "NOTPAY" else order.state
    return f"Payment {order.out_trade_no} is no longer pending (trade_state {state})."


def _safe_return_url(url: str) -> str:
    # Only http(s) links: a javascript: URL in an attribute would run in the page's origin.
    return url if urlsplit(url).scheme in ("http", "https") else ""


def _channel(sim: SimulatorState, order: Order) -> str:
    if order.trade_type == "JSAPI" and order.appid == sim.account["appids"].get("miniprogram"):
        return "小程序 mini-program"
    return _CHANNELS.get(order.trade_type, order.trade_type)


def _order_view(sim: SimulatorState, order: Order, focus: _Focus) -> dict[str, Any]:
    qr_svg = Markup(segno.make(order.code_url, error="m").svg_inline(scale=3)) if order.code_url else ""  # noqa: S704
    return {
        "key": order.prepay_id,
        "mchid": order.mchid,
        "out_trade_no": order.out_trade_no,
        "prepay_id": order.prepay_id,
        "code_url": order.code_url,
        "h5_url": order.h5_url,
        "qr_svg": qr_svg,
        "api": order.api,
        "channel": _channel(sim, order),
        "description": order.description,
        "amount_yuan": f"{order.amount_fen // 100}.{order.amount_fen % 100:02d}",
        "openid": order.openid,
        "expires_text": dashed(order.time_expire),
        "focused": focus.matches(order),
    }


def _deliveries(sim: SimulatorState) -> list[dict[str, Any]]:
    notifications = {notification.id: notification for notification in sim.ledger.notifications()}
    views = []
    for row in reversed(sim.ledger.deliveries()[-MAX_DELIVERIES:]):
        notification = notifications.get(row["notification_id"])
        views.append({
            "at": dashed(row["at"]),
            "kind": notification.kind if notification else "",
            "api": notification.api if notification else "",
            "url": notification.url if notification else "",
            "attempt": row["attempt"],
            "status": row["status"] if row["status"] is not None else "no answer",
            "reply": (row["reply"] or "")[:_REPLY_CHARS],
        })
    return views
