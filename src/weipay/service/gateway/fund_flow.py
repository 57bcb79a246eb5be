"""The fund-flow bill (资金账单, API v3 only), summed for the daily reconciliation.

Apart from ``wechat.py`` because the reconciliation job is its only reader: a plain callable over the merchants'
SDK clients, satisfying the use cases' ``FundFlowReader``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from weipay.sdk import Client
from weipay.sdk import v3 as sdk_v3
from weipay.sdk.errors import WeChatRefused
from weipay.service.usecases.reconcile_schedule import FundFlowTotals

__all__ = ["FundFlowBills"]

_AMOUNTS = ("收支金额(元)", "收支金额（元）")  # WeChat's files use ASCII parentheses; some copies full-width ones
_NO_BILL = frozenset({"NO_STATEMENT_EXIST", "NO_BILL_EXIST"})


class FundFlowBills:
    """``reader(mchid, day)`` → the day's totals of the merchant's basic account, or None without v3 credentials."""

    def __init__(self, client_for: Callable[[str], Client]) -> None:
        self._client_for = client_for

    def __call__(self, mchid: str, day: dt.date) -> FundFlowTotals | None:
        """Apply for the bill, download and check it (digest), then sum it; an empty day has no bill."""
        client = self._client_for(mchid)
        credentials = client.credentials
        if credentials.private_key is None or not credentials.merchant_serial_no:
            return None
        try:
            location = client.call(sdk_v3.FundFlowBill(bill_date=day))
        except WeChatRefused as refused:
            if refused.code in _NO_BILL:
                return FundFlowTotals(lines=0, income_fen=0, refund_fen=0, fee_fen=0)
            raise
        bill = client.call(sdk_v3.DownloadBill(location=location))
        income = refunds = fees = 0
        for row in bill.rows:
            column = next((name for name in _AMOUNTS if row.get(name) is not None), _AMOUNTS[0])
            amount, business = row.fen(column), row.get("业务类型") or ""
            if row.get("收支类型") == "收入":
                income += amount
            elif "手续费" in business:
                fees += amount
            elif "退款" in business:
                refunds += amount
        return FundFlowTotals(lines=len(bill.rows), income_fen=income, refund_fen=refunds, fee_fen=fees)
