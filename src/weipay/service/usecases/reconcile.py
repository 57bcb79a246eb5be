"""Daily reconciliation against WeChat's trade bill (T+1): find what differs, repair through the state machines.

A payment WeChat billed but we hold unpaid is repaired by querying it (``sync_attempt``), never by
trusting the bill blindly; a refund is repaired by ``sync_refund``. Everything else is reported.
Rerunning is harmless: repairs are compare-and-set, and an already repaired line no longer differs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from weipay.service.domain import AttemptStatus, RefundStatus

from .external_refunds import ExternalRefund, record_external_refund
from .payments import sync_attempt
from .ports import BillEntry, Clock, Gateway, MerchantConfig, UnitOfWork
from .refunds import sync_refund
from .settlement import Applied

__all__ = ["Discrepancy", "ReconcileReport", "reconcile_day"]

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One difference between the bill and our records, and what was done about it."""

    kind: str  # unknown_out_trade_no | paid_not_recorded | amount_mismatch | missing_from_bill | refund_not_recorded
    out_trade_no: str
    detail: str = ""
    repaired: bool = False


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """The outcome of reconciling one merchant's day."""

    mchid: str
    day: dt.date
    bill_lines: int
    payments_matched: int
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing differed."""
        return not self.discrepancies


def _day_bounds(day: dt.date) -> tuple[float, float]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=BEIJING).timestamp()
    return start, start + 86_400


def reconcile_day(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, merchant: MerchantConfig, day: dt.date
) -> ReconcileReport:
    """Compare ``day``'s trade bill (Beijing time) with our attempts and refunds; repair by querying."""
    entries = gateway.run(gateway.trade_bill(merchant.mchid, merchant.default_api, day))
    discrepancies: list[Discrepancy] = []
    matched = 0
    billed: set[str] = set()
    for entry in entries:
        if entry.trade_state == "REFUND" or entry.out_refund_no:
            discrepancies.extend(_refund_line(uow, gateway, clock, merchant, entry))
            continue
        billed.add(entry.out_trade_no)
        found = _payment_line(uow, gateway, clock, merchant, entry)
        if found is None:
            matched += 1
        else:
            discrepancies.append(found)
    start, end = _day_bounds(day)
    with uow.read() as tx:
        local = tx.attempts.succeeded_between(merchant.mchid, start, end)
    for attempt in local:
        if attempt.out_trade_no not in billed:
            discrepancies.append(Discrepancy("missing_from_bill", attempt.out_trade_no, attempt.transaction_id or ""))
    return ReconcileReport(merchant.mchid, day, len(entries), matched, discrepancies)


def _payment_line(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, merchant: MerchantConfig, entry: BillEntry
) -> Discrepancy | None:
    with uow.read() as tx:
        attempt = tx.attempts.by_out_trade_no(merchant.mchid, entry.out_trade_no)
    if attempt is None:
        return Discrepancy("unknown_out_trade_no", entry.out_trade_no, entry.transaction_id)
    if entry.amount_fen is not None and entry.amount_fen != attempt.amount_fen:
        return Discrepancy(
            "amount_mismatch", entry.out_trade_no, f"bill {entry.amount_fen} != ours {attempt.amount_fen}"
        )
    if attempt.status == AttemptStatus.SUCCEEDED:
        return None
    repaired = sync_attempt(uow, gateway, clock, attempt.id)
    return Discrepancy(
        "paid_not_recorded", entry.out_trade_no, entry.transaction_id, repaired.status == AttemptStatus.SUCCEEDED
    )


def _refund_line(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, merchant: MerchantConfig, entry: BillEntry
) -> list[Discrepancy]:
    if not entry.out_refund_no:
        return []
    with uow.read() as tx:
        refund = tx.refunds.by_out_refund_no(merchant.mchid, entry.out_refund_no)
    if refund is None:
        return [_external_refund_line(uow, clock, merchant, entry, entry.out_refund_no)]
    if refund.status == RefundStatus.SUCCEEDED or entry.refund_status != "SUCCESS":
        return []
    repaired = sync_refund(uow, gateway, clock, refund.id)
    return [
        Discrepancy(
            "refund_not_recorded", entry.out_trade_no, entry.out_refund_no, repaired.status == RefundStatus.SUCCEEDED
        )
    ]


def _external_refund_line(
    uow: UnitOfWork, clock: Clock, merchant: MerchantConfig, entry: BillEntry, out_refund_no: str
) -> Discrepancy:
    """A billed refund we never made (merchant portal, complaint handling): recorded like its notification."""
    fact = ExternalRefund(
        mchid=merchant.mchid, out_trade_no=entry.out_trade_no, out_refund_no=out_refund_no,
        refund_status=entry.refund_status or "SUCCESS", refund_fen=entry.refund_fen or 0, source="bill",
    )  # fmt: skip
    with uow.write() as tx:
        applied, _ = record_external_refund(tx, fact, clock())
    return Discrepancy("unknown_out_refund_no", entry.out_trade_no, out_refund_no, applied == Applied.APPLIED)
