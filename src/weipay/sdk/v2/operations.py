"""Every API v2 operation in one place. Each is a frozen dataclass with ``build(ctx)`` / ``parse(response, ctx)``."""

from __future__ import annotations

from .bill import DownloadBill
from .orders import CloseOrder, OrderQuery, UnifiedOrder
from .refunds import Refund, RefundQuery

__all__ = ["CloseOrder", "DownloadBill", "OrderQuery", "Refund", "RefundQuery", "UnifiedOrder"]
