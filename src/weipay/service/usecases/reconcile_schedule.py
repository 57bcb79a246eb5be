"""The daily reconciliation as a job: one ``reconcile_day`` job per merchant that re-schedules itself.

Each merchant has exactly one job (dedupe key ``reconcile_day:{mchid}``) whose payload names the bill day to
reconcile. It runs at the configured Beijing time on the day after (default 10:00: WeChat's bills are ready
after about 10:00), stores the report (one row per merchant and day, replaced by a rerun), raises an alert
when something differs or the run failed, and in the same transaction re-arms itself for the next day. If
the worker was down for days, the next run is already due, so missed days are caught up one after another.

A bill not ready yet is asked for again every :data:`BILL_RETRY_S` until :data:`BILL_WAIT_S` after the planned
time; then the day is reported ``failed`` and the schedule moves on (``weipay reconcile --date`` reruns it).
Seeding is idempotent (the job's dedupe key): ``weipay worker`` seeds every merchant at start.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from weipay.service.domain import DomainError

from .alerting import Severity, raise_alert
from .ports import Clock, Gateway, MerchantConfig, Stores, UnitOfWork
from .reconcile import BEIJING, Discrepancy, ReconcileReport, reconcile_day
from .reconcile_store import StoredReconciliation

__all__ = [
    "BILL_RETRY_S",
    "BILL_WAIT_S",
    "RECONCILE_DAY",
    "FundFlowReader",
    "FundFlowTotals",
    "ScheduledRun",
    "parse_time_of_day",
    "planned_at",
    "run_scheduled_reconciliation",
    "schedule_reconciliation",
    "seed_reconciliation",
]

log = logging.getLogger("weipay.service.reconcile")

RECONCILE_DAY = "reconcile_day"  # the job kind
BILL_RETRY_S = 1800.0
BILL_WAIT_S = 12 * 3600.0
_DIFFERENCES_KEPT = 200  # a report keeps this many difference lines; the count is always exact


@dataclass(frozen=True, slots=True)
class FundFlowTotals:
    """The fund-flow bill (资金账单) of a day, summed: what came in from payments, what left for refunds and fees."""

    lines: int
    income_fen: int
    refund_fen: int
    fee_fen: int


#: Reads a merchant's fund-flow bill of a day; None when the merchant has no such bill (v2-only credentials).
FundFlowReader = Callable[[str, dt.date], FundFlowTotals | None]


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    """What one run did: the stored report, or ``retry_at`` when the bill is not ready yet."""

    report: StoredReconciliation | None
    retry_at: float | None = None


def parse_time_of_day(text: str) -> dt.time:
    """``"10:00"`` → 10:00 (the settings validate the format)."""
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def planned_at(day: dt.date, at: dt.time) -> float:
    """When ``day``'s bill is reconciled: ``at`` Beijing time on the following day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), at, tzinfo=BEIJING).timestamp()


def schedule_reconciliation(tx: Stores, mchid: str, day: dt.date, at: dt.time, *, now: float,
                            rearm: bool) -> bool:  # fmt: skip
    """The merchant's one reconciliation job, for ``day`` (``rearm``: move the existing job to it)."""
    return tx.jobs.enqueue(
        RECONCILE_DAY, {"mchid": mchid, "day": day.isoformat(), "at": at.strftime("%H:%M")},
        due_at=planned_at(day, at), now=now, dedupe_key=f"{RECONCILE_DAY}:{mchid}", rearm=rearm,
    )  # fmt: skip


def seed_reconciliation(uow: UnitOfWork, mchids: Iterable[str], clock: Clock, at: dt.time) -> int:
    """Give each merchant its job if it has none yet, starting with yesterday (Beijing); how many were added."""
    now = clock()
    yesterday = dt.datetime.fromtimestamp(now, BEIJING).date() - dt.timedelta(days=1)
    with uow.write() as tx:
        return sum(schedule_reconciliation(tx, mchid, yesterday, at, now=now, rearm=False) for mchid in mchids)


def run_scheduled_reconciliation(
    uow: UnitOfWork,
    gateway: Gateway,
    clock: Clock,
    merchant: MerchantConfig,
    day: dt.date,
    at: dt.time,
    *,
    fund_flow: FundFlowReader | None = None,
) -> ScheduledRun:
    """Reconcile ``day``, store and alert the report, and schedule the next day, all in one transaction."""
    status = "clean"
    detail: dict[str, Any] = {}
    report: ReconcileReport | None = None
    try:
        report = reconcile_day(uow, gateway, clock, merchant, day)
    except DomainError as error:
        if error.code == "bill_unavailable" and clock() < planned_at(day, at) + BILL_WAIT_S:
            return ScheduledRun(None, retry_at=clock() + BILL_RETRY_S)
        status, detail = "failed", {"error": error.code, "message": error.message}
    except Exception as error:  # one bad day must not stop the schedule: reported, alerted, moved past
        log.warning("reconciliation of %s %s failed: %s", merchant.mchid, day, type(error).__name__)
        status, detail = "failed", {"error": type(error).__name__}
    differences = list(report.discrepancies) if report else []
    if report is not None:
        totals = _fund_flow(fund_flow, merchant.mchid, day)
        if totals is not None:
            detail["fund_flow"] = asdict(totals)
            differences.extend(_fund_flow_differences(uow, merchant.mchid, day, totals))
        status = "differences" if differences else "clean"
        detail["differences"] = [asdict(item) for item in differences[:_DIFFERENCES_KEPT]]
    now = clock()
    stored = StoredReconciliation(
        mchid=merchant.mchid, bill_day=day, status=status, bill_lines=report.bill_lines if report else 0,
        payments_matched=report.payments_matched if report else 0, differences=len(differences),
        repaired=sum(item.repaired for item in differences),
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True), created_at=now, updated_at=now,
    )  # fmt: skip
    with uow.write() as tx:
        tx.reconciliation_reports.save(stored)
        _alert(tx, stored, now)
        schedule_reconciliation(tx, merchant.mchid, day + dt.timedelta(days=1), at, now=now, rearm=True)
    return ScheduledRun(stored)


def _fund_flow(reader: FundFlowReader | None, mchid: str, day: dt.date) -> FundFlowTotals | None:
    if reader is None:
        return None
    try:
        return reader(mchid, day)
    except Exception as error:  # the trade bill's findings stand without the fund-flow check
        log.warning("fund-flow bill of %s %s unavailable: %s", mchid, day, type(error).__name__)
        return None


def _fund_flow_differences(uow: UnitOfWork, mchid: str, day: dt.date, totals: FundFlowTotals) -> list[Discrepancy]:
    """Money that reached the balance against what we recorded as paid that day (nothing to repair: reported)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=BEIJING).timestamp()
    with uow.read() as tx:
        paid_fen = sum(attempt.amount_fen for attempt in tx.attempts.succeeded_between(mchid, start, start + 86_400))
    if paid_fen == totals.income_fen:
        return []
    return [Discrepancy("fund_flow_income_mismatch", "", f"fund flow income {totals.income_fen} != paid {paid_fen}")]


def _alert(tx: Stores, report: StoredReconciliation, now: float) -> None:
    if report.status == "clean":
        return
    failed = report.status == "failed"
    unrepaired = report.differences - report.repaired
    day = report.bill_day.isoformat()
    title = f"对账失败: {day}" if failed else f"对账差异: {day} 共 {report.differences} 处, 未自动修复 {unrepaired} 处"
    raise_alert(
        tx, f"reconcile:{report.status}:{report.mchid}", kind=f"reconciliation_{report.status}",
        severity=Severity.ERROR if failed or unrepaired else Severity.WARNING, title=title, now=now,
        mchid=report.mchid, detail={"bill_day": report.bill_day.isoformat(), "differences": report.differences,
                                    "repaired": report.repaired, "report": json.loads(report.detail)},
    )  # fmt: skip
