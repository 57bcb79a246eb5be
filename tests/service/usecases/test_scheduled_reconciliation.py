"""The daily reconciliation job: seeded once, runs at 10:00 Beijing the day after, stores, alerts, re-schedules."""

from __future__ import annotations

import datetime as dt
import json

from weipay.service.jobs import run_due_jobs
from weipay.service.usecases import CreateOrder, create_order, order_details, start_payment
from weipay.service.usecases.reconcile import BEIJING
from weipay.service.usecases.reconcile_schedule import (
    BILL_RETRY_S,
    BILL_WAIT_S,
    RECONCILE_DAY,
    planned_at,
    seed_reconciliation,
)

from ..core_harness import MCHID, Core

TEN = dt.time(10, 0)


def run_reconciliation(core: Core) -> int:
    """One worker pass over the reconciliation jobs only (the query jobs would repair first otherwise)."""
    return run_due_jobs(core.uow, core.gateway, core.clock, merchants={MCHID: core.merchant}, kinds=[RECONCILE_DAY])


def the_job(core: Core) -> tuple[str, float, dict[str, str]]:
    with core.uow.read() as tx:
        (job,) = tx.jobs.list(kind=RECONCILE_DAY)
    return job.status, job.due_at, job.payload


def today(core: Core) -> dt.date:
    return dt.datetime.fromtimestamp(core.clock(), BEIJING).date()


def test_seeding_is_idempotent_and_starts_with_yesterday(core: Core) -> None:
    assert seed_reconciliation(core.uow, [MCHID], core.clock, TEN) == 1
    assert seed_reconciliation(core.uow, [MCHID], core.clock, TEN) == 0
    status, due_at, payload = the_job(core)
    yesterday = today(core) - dt.timedelta(days=1)
    assert (status, payload["day"], payload["at"]) == ("pending", yesterday.isoformat(), "10:00")
    assert due_at == planned_at(yesterday, TEN)
    assert dt.datetime.fromtimestamp(due_at, BEIJING).time() == TEN


def test_each_day_is_reconciled_at_ten_beijing_time_and_differences_are_repaired_and_alerted(core: Core) -> None:
    day = today(core)
    seed_reconciliation(core.uow, [MCHID], core.clock, TEN)
    assert run_reconciliation(core) == 1  # yesterday's job was already due (the clock starts at 21:33 Beijing)
    with core.uow.read() as tx:
        (quiet,) = tx.reconciliation_reports.list(None)
    assert (quiet.bill_day, quiet.status, quiet.bill_lines) == (day - dt.timedelta(days=1), "clean", 0)
    assert the_job(core)[1:] == (planned_at(day, TEN), {"mchid": MCHID, "day": day.isoformat(), "at": "10:00"})

    known = create_order(core.uow, core.merchant, CreateOrder("m-known", 700, "tea"), clock=core.clock)
    lost = create_order(core.uow, core.merchant, CreateOrder("m-lost", 900, "cake"), clock=core.clock)
    core.pay(start_payment(core.uow, core.gateway, core.clock, core.merchant, known.id, "native", "v3")
             .attempt.out_trade_no)  # fmt: skip
    core.faults(notify_drop_rate=1.0)
    core.pay(start_payment(core.uow, core.gateway, core.clock, core.merchant, lost.id, "native", "v3")
             .attempt.out_trade_no)  # fmt: skip

    core.clock.advance(planned_at(day, TEN) - core.clock() - 60)  # 09:59 the next morning: not yet
    assert run_reconciliation(core) == 0
    core.clock.advance(61)
    assert run_reconciliation(core) == 1
    with core.uow.read() as tx:
        report = tx.reconciliation_reports.get(MCHID, day)
        alerts = tx.alerts.recent()
    assert report is not None
    assert (report.status, report.bill_lines, report.payments_matched, report.differences, report.repaired) == (
        "differences", 2, 1, 1, 1)
    detail = json.loads(report.detail)
    assert [d["kind"] for d in detail["differences"]] == ["paid_not_recorded"]
    # The fund-flow bill's income equals what the (repaired) ledger holds as paid that day.
    assert detail["fund_flow"]["income_fen"] == 1600 and detail["fund_flow"]["fee_fen"] > 0
    assert order_details(core.uow, lost.id).order.status.value == "paid"
    assert [(a.kind, a.severity) for a in alerts] == [("reconciliation_differences", "warning")]
    status, due_at, payload = the_job(core)
    assert (status, payload["day"]) == ("pending", (day + dt.timedelta(days=1)).isoformat())
    assert due_at == planned_at(day + dt.timedelta(days=1), TEN)


def test_a_bill_not_ready_is_asked_again_then_reported_failed_and_the_schedule_moves_on(core: Core) -> None:
    day = today(core)
    seed_reconciliation(core.uow, [MCHID], core.clock, TEN)
    run_reconciliation(core)
    core.faults(http_5xx_rate=1.0, paths=["/v3/bill"])
    core.clock.advance(planned_at(day, TEN) - core.clock())
    assert run_reconciliation(core) == 1
    status, due_at, payload = the_job(core)
    assert (status, payload["day"], due_at) == ("pending", day.isoformat(), core.clock() + BILL_RETRY_S)
    with core.uow.read() as tx:
        assert tx.reconciliation_reports.get(MCHID, day) is None
    core.clock.advance(BILL_WAIT_S)
    assert run_reconciliation(core) == 1
    with core.uow.read() as tx:
        report = tx.reconciliation_reports.get(MCHID, day)
        alerts = tx.alerts.recent()
    assert report is not None and report.status == "failed"
    assert json.loads(report.detail)["error"] == "bill_unavailable"
    assert [(a.kind, a.severity) for a in alerts] == [("reconciliation_failed", "error")]
    assert the_job(core)[2]["day"] == (day + dt.timedelta(days=1)).isoformat()


def test_a_rerun_replaces_the_days_report(core: Core) -> None:
    day = today(core) - dt.timedelta(days=1)
    seed_reconciliation(core.uow, [MCHID], core.clock, TEN)
    run_reconciliation(core)
    with core.uow.write() as tx:  # an operator sends the job back to the same day
        tx.jobs.enqueue(RECONCILE_DAY, {"mchid": MCHID, "day": day.isoformat(), "at": "10:00"}, due_at=core.clock(),
                        now=core.clock(), dedupe_key=f"{RECONCILE_DAY}:{MCHID}", rearm=True)  # fmt: skip
    core.clock.advance(1)
    assert run_reconciliation(core) == 1
    with core.uow.read() as tx:
        reports = tx.reconciliation_reports.list([MCHID])
    assert [(r.bill_day, r.status) for r in reports] == [(day, "clean")]
    assert reports[0].updated_at > reports[0].created_at
