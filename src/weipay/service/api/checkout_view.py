"""What the checkout page shows for an order: pure functions of the stored order and attempts and the time.

The payer sees four states: ``pending`` (pay now), ``paid`` (also once refunded: the payer did pay), ``closed`` and
``expired``. A pending order past its ``expires_at`` is shown expired at once, before the expiry job has run. While
pending, the newest attempt says how to pay: its QR code (Native), a button to WeChat (H5), a note to finish in
the app that started it (JSAPI, mini program, APP), or nothing yet (``start``: the page starts a Native attempt).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ..domain import AttemptStatus, Channel, Order, OrderStatus, PaymentAttempt

__all__ = ["PaymentView", "ShownStatus", "beijing_time", "payment_view", "shown_status", "status_body"]

ShownStatus = Literal["pending", "paid", "closed", "expired"]

_PAID = frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED})
# Beijing time for the payer: China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact
# and needs no time zone database on the server.
_BEIJING = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class PaymentView:
    """How to pay the order now: ``qr`` (attempt ``seq``'s code), ``h5`` (go to ``h5_url``), ``elsewhere`` or
    ``start``."""

    kind: Literal["qr", "h5", "elsewhere", "start"]
    seq: int | None = None
    h5_url: str | None = None

    @property
    def key(self) -> str:
        """Names what the page shows; the page reloads when the status endpoint names something else."""
        return f"{self.kind}:{self.seq}" if self.seq is not None else self.kind


def shown_status(order: Order, now: float) -> ShownStatus:
    """The order's state as the payer should see it at ``now``."""
    if order.status in _PAID:
        return "paid"
    if order.status == OrderStatus.CLOSED:
        return "closed"
    if order.status == OrderStatus.EXPIRED or order.expires_at <= now:
        return "expired"
    return "pending"


def payment_view(attempts: Iterable[PaymentAttempt]) -> PaymentView:
    """What the newest attempt offers the payer (only the newest: an older open one awaits its close)."""
    latest = max(attempts, key=lambda attempt: attempt.seq, default=None)
    if latest is None or not latest.is_open:
        return PaymentView("start")
    if latest.channel == Channel.NATIVE:
        if latest.status == AttemptStatus.PENDING and latest.code_url:
            return PaymentView("qr", seq=latest.seq)
        return PaymentView("start")  # created or unknown: starting again resends the identical create
    if latest.channel == Channel.H5 and latest.status == AttemptStatus.PENDING and latest.h5_url:
        return PaymentView("h5", seq=latest.seq, h5_url=latest.h5_url)
    return PaymentView("elsewhere", seq=latest.seq)


def status_body(order: Order, attempts: Iterable[PaymentAttempt], now: float) -> dict[str, Any]:
    """The status endpoint's answer: the shown state and, while pending, the key of what pays it."""
    status = shown_status(order, now)
    body: dict[str, Any] = {"order_id": order.id, "status": status}
    if status == "pending":
        body["payment"] = payment_view(attempts).key
        body["expires_in_s"] = max(0, int(order.expires_at - now))
    return body


def beijing_time(unix_s: float) -> str:
    """``"2026-12-05 14:05"`` in Beijing time."""
    return datetime.fromtimestamp(unix_s, _BEIJING).strftime("%Y-%m-%d %H:%M")
