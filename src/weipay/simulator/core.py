"""The simulator core: ``Simulator.handle(SimRequest) -> SimResponse``, no sockets.

The same core serves the in-process httpx transport, the ASGI app (real HTTP and HTTPS) and the tests.
Which handler answers which path is written down once, in :mod:`weipay.simulator.routes`; the state every
handler shares (account, ledger, clocks, fault plan) is :class:`~weipay.simulator.state.SimulatorState`.
"""

from __future__ import annotations

import logging
from email.utils import formatdate
from typing import Any

from . import due_work, notifier, payer
from .http_messages import SimRequest, SimResponse
from .ledger import Order, Refund
from .routes import dispatch
from .state import H5_PATH, SimulatorState

__all__ = ["H5_PATH", "SimRequest", "SimResponse", "Simulator"]

log = logging.getLogger("weipay.simulator")


class Simulator(SimulatorState):
    """The WeChat Pay servers for one merchant bundle.

    ``clock`` returns simulated Unix time (default: real time scaled by ``time_scale``, continuing from the
    last simulated time recorded, so a restart never moves time backwards). ``notify_transport`` is the
    httpx transport notifications go through (default: real network). ``seed`` seeds the fault plan.
    """

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request. Never raises: unexpected errors become a 500 JSON answer."""
        try:
            response = dispatch(self, request)
        except Exception:
            log.exception("simulator error on %s %s", request.method, request.path)
            response = SimResponse.json(500, {"code": "SYSTEM_ERROR", "message": "系统异常，请稍后重试"})
        # WeChat's servers stamp every answer with their clock; merchants compare it with theirs (clock skew).
        response.headers.setdefault("date", formatdate(self.wall_now(), usegmt=True))
        return response

    # -- work that happens over time ---------------------------------------------------------------------
    def tick(self) -> dict[str, int]:
        """Run due work: expire orders, finish refunds, deliver notifications. Returns counts.

        One tick at a time: a second caller (the control API while the background loop runs) waits.
        """
        return due_work.tick(self)

    def deliver_due_notifications(self) -> int:
        """Deliver every notification due now; returns the number of attempts made."""
        return notifier.deliver_due(self)

    def enqueue_payment_notification(self, order: Order) -> int | None:
        """Queue the payment notification for ``order`` in its API version; None if it has no notify_url."""
        return notifier.enqueue_payment(self, order)

    def enqueue_refund_notification(self, refund: Refund) -> int | None:
        """Queue the refund notification; None when the refund (or its order) has no notify_url."""
        return notifier.enqueue_refund(self, refund)

    def pay(self, order: Order, *, openid: str | None = None, outcome: str = "success") -> dict[str, Any]:
        """Play the payer: ``success`` pays (and notifies), ``cancel`` / ``insufficient_balance`` leave it unpaid,
        ``bank_error`` makes it PAYERROR (still payable).

        Returns ``{"transaction_id"?, "trade_state", "trade_state_desc"}``; raises ``LedgerRefusal``.
        """
        return payer.pay(self, order, openid=openid, outcome=outcome)
