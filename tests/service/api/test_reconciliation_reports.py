"""GET /v1/reconciliation-reports and /{day}: what the daily job stored, in the caller's scope."""

from __future__ import annotations

import datetime as dt

from weipay.service.jobs import run_due_jobs
from weipay.service.usecases.reconcile import BEIJING
from weipay.service.usecases.reconcile_schedule import RECONCILE_DAY, parse_time_of_day, planned_at, seed_reconciliation

from ..web_harness import ADMIN_KEY, MCHID, OTHER_API_KEY, Harness


def reconcile_yesterday(harness: Harness) -> dt.date:
    """Pay an order today, then let the daily job reconcile it at 10:00 tomorrow (Beijing)."""
    services = harness.app.state.services
    at = parse_time_of_day(harness.settings.reconcile_at)
    today = dt.datetime.fromtimestamp(harness.clock(), BEIJING).date()
    assert seed_reconciliation(services.uow, [MCHID], services.clock, at) == 1
    order = harness.create_order(1200)
    payment = harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                               json={"channel": "native", "api": "v3"}).json()  # fmt: skip
    harness.pay(payment)
    harness.deliver()
    harness.clock.advance(planned_at(today, at) - harness.clock() + 1)
    runs = [run_due_jobs(services.uow, services.gateway, services.clock, merchants=services.merchant_configs,
                         kinds=[RECONCILE_DAY]) for _ in range(3)]  # fmt: skip
    assert runs == [1, 1, 0]  # yesterday's (seeded), then today's at once (already due): missed days catch up
    return today


def test_reports_are_listed_newest_first_and_by_day(harness: Harness) -> None:
    day = reconcile_yesterday(harness)
    listed = harness.api.get("/v1/reconciliation-reports", headers=harness.merchant)
    assert listed.status_code == 200, listed.text
    reports = listed.json()["reports"]
    assert [(r["bill_day"], r["status"]) for r in reports] == [
        (day.isoformat(), "clean"), ((day - dt.timedelta(days=1)).isoformat(), "clean")]
    newest = reports[0]
    assert newest["mchid"] == MCHID and newest["bill_lines"] == 1 and newest["payments_matched"] == 1
    assert newest["details"]["fund_flow"]["income_fen"] == 1200 and newest["details"]["differences"] == []

    one = harness.api.get(f"/v1/reconciliation-reports/{day.isoformat()}", headers=harness.merchant)
    assert one.status_code == 200 and [r["bill_day"] for r in one.json()["reports"]] == [day.isoformat()]
    admin = harness.api.get("/v1/reconciliation-reports", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert len(admin.json()["reports"]) == 2


def test_scope_missing_days_and_bad_input(harness: Harness) -> None:
    day = reconcile_yesterday(harness)
    other = {"Authorization": f"Bearer {OTHER_API_KEY}"}
    assert harness.api.get("/v1/reconciliation-reports", headers=other).json() == {"reports": []}
    hidden = harness.api.get(f"/v1/reconciliation-reports/{day.isoformat()}", headers=other)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "report_not_found"
    missing = harness.api.get("/v1/reconciliation-reports/2001-01-01", headers=harness.merchant)
    assert missing.status_code == 404
    bad = harness.api.get("/v1/reconciliation-reports/yesterday", headers=harness.merchant)
    assert bad.status_code == 422 and set(bad.json()["error"]) == {"code", "message"}
    assert harness.api.get("/v1/reconciliation-reports").status_code == 401
