"""Every API v2 operation in one place. Each is a frozen dataclass with ``build(ctx)`` / ``parse(response, ctx)``."""

from __future__ import annotations

from .bill import DownloadBill
from .micropay import Micropay, Reverse
from .orders import CloseOrder, OrderQuery, UnifiedOrder
from .refunds import Refund, RefundQuery

__all__ = ["CloseOrder", "DownloadBill", "Micropay", "OrderQuery", "Refund", "RefundQuery", "Reverse", "UnifiedOrder"]
