"""The notification batch's many-row statements mean what their one-row twins mean (SQLite and PostgreSQL).

On PostgreSQL each call is one statement (arrays + ``unnest``) whatever the number of rows; on SQLite a
loop over the one-row statements. Both must answer the same.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from weipay.service.db import SqlUnitOfWork, upgrade
from weipay.service.db.tables import call_log, jobs, notifications, orders, payment_attempts
from weipay.service.domain import AttemptStatus, CallRecord, OrderStatus
from weipay.service.usecases.stores import NewJob, NewNotification

NOW = 1_790_000_000.0
MCHID = "1900000109"


@pytest.fixture
def uow(database_url):
    upgrade(database_url)
    built = SqlUnitOfWork.from_url(database_url)
    with built.write() as tx:
        for n in (1, 2, 3):
            tx.connection.execute(orders.insert().values(
                id=f"o{n}", mchid=MCHID, merchant_order_no=f"o{n}", request_hash="h", amount_fen=100 * n,
                currency="CNY", description="d", status="pending", created_at=NOW, updated_at=NOW,
                expires_at=NOW + 60,
            ))  # fmt: skip
            tx.connection.execute(payment_attempts.insert().values(
                id=f"a{n}", order_id=f"o{n}", seq=1, mchid=MCHID, appid="wx1", out_trade_no=f"o{n}-1", api="v3",
                channel="native", status="pending" if n < 3 else "closed", amount_fen=100 * n, currency="CNY",
                description="d", notify_url="https://x/n", time_expire=NOW, created_at=NOW, updated_at=NOW,
                transaction_id="t3" if n == 3 else None,
            ))  # fmt: skip
    yield built
    built.engine.dispose()


def _entry(event_id: str, out_trade_no: str = "o1-1") -> NewNotification:
    return NewNotification(event_id=event_id, mchid=MCHID, api="v3", kind="payment", outcome="received",
                           body="{}", received_at=NOW, out_trade_no=out_trade_no)  # fmt: skip


def _count(tx, table) -> int:
    return tx.connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_insert_new_stores_each_event_id_once_and_names_the_first_deliveries(uow):
    with uow.write() as tx:
        assert tx.notifications.insert_new([_entry("e2"), _entry("e1")]) == {"e1", "e2"}
        assert tx.notifications.insert_new([]) == set()
    with uow.write() as tx:
        # e1 is stored already; e3 comes twice in one call: stored once, named once.
        assert tx.notifications.insert_new([_entry("e3"), _entry("e1"), _entry("e3", "o2-1")]) == {"e3"}
        assert _count(tx, notifications) == 3


def test_lookups_by_many_keys_leave_out_what_does_not_exist(uow):
    with uow.read() as tx:
        found = tx.attempts.by_out_trade_nos([(MCHID, "o1-1"), (MCHID, "o2-1"), (MCHID, "o1-1"), (MCHID, "nope"),
                                              ("other", "o1-1")])  # fmt: skip
        assert sorted(found) == [(MCHID, "o1-1"), (MCHID, "o2-1")]
        assert found[(MCHID, "o2-1")].id == "a2" and found[(MCHID, "o2-1")].amount_fen == 200
        assert found[(MCHID, "o2-1")].status is AttemptStatus.PENDING
        assert tx.attempts.by_out_trade_nos([]) == {}
        holders = tx.attempts.by_transaction_ids(["t3", "t-none"])
        assert list(holders) == ["t3"] and holders["t3"].id == "a3"


def test_compare_and_set_many_moves_only_rows_still_in_an_expected_state(uow):
    changes = {
        f"a{n}": {"status": AttemptStatus.SUCCEEDED, "transaction_id": f"t{n}x", "paid_at": NOW + n, "updated_at": NOW}
        for n in (1, 2, 3)
    }  # fmt: skip
    with uow.write() as tx:
        won = tx.attempts.compare_and_set_many([AttemptStatus.PENDING, AttemptStatus.UNKNOWN], changes)
        assert won == {"a1", "a2"}  # a3 is closed: left alone
        again = tx.attempts.compare_and_set_many([AttemptStatus.PENDING], {"a1": changes["a1"]})
        assert again == set()  # the first caller won; a repeat is a no-op
        assert tx.attempts.compare_and_set_many([], {"a2": changes["a2"]}) == set()
        assert tx.orders.compare_and_set_many(
            [OrderStatus.PENDING], {"o2": {"status": OrderStatus.PAID, "paid_fen": 200, "updated_at": NOW}}
        ) == {"o2"}
    with uow.read() as tx:
        a1, a2, a3 = (tx.attempts.get(f"a{n}") for n in (1, 2, 3))
        assert (a1.status, a1.transaction_id, a1.paid_at) == (AttemptStatus.SUCCEEDED, "t1x", NOW + 1)
        assert (a2.status, a2.transaction_id, a2.paid_at) == (AttemptStatus.SUCCEEDED, "t2x", NOW + 2)
        assert (a3.status, a3.transaction_id) == (AttemptStatus.CLOSED, "t3")
        assert tx.orders.get("o2").status is OrderStatus.PAID and tx.orders.get("o1").status is OrderStatus.PENDING


def test_outcomes_call_records_and_jobs_are_written_row_by_row(uow):
    with uow.write() as tx:
        tx.notifications.insert_new([_entry("e1"), _entry("e2")])
        tx.notifications.set_outcomes({"e2": "anomaly", "e1": "applied"})
        tx.calls.add_many([
            CallRecord(direction="inbound", api="v3", endpoint="notify/payment", outcome=outcome, latency_ms=0,
                       order_id=order_id, created_at=NOW)
            for outcome, order_id in (("applied", "o1"), ("anomaly", None))
        ])  # fmt: skip
        job = NewJob("deliver_webhook", {"order_id": "o1"}, due_at=NOW, created_at=NOW, dedupe_key="k1",
                     order_id="o1")  # fmt: skip
        assert tx.jobs.enqueue_many([job, NewJob("deliver_webhook", {}, NOW, NOW, "k2")]) == 2
        assert tx.jobs.enqueue_many([job]) == 0  # the dedupe key holds
    with uow.read() as tx:
        outcomes = dict(tx.connection.execute(sa.select(notifications.c.event_id, notifications.c.outcome)).all())
        calls = tx.connection.execute(sa.select(call_log.c.outcome, call_log.c.order_id).order_by(call_log.c.id))
        stored_jobs = tx.connection.execute(sa.select(jobs.c.dedupe_key, jobs.c.payload, jobs.c.status))
        assert outcomes == {"e1": "applied", "e2": "anomaly"}
        assert [tuple(row) for row in calls] == [("applied", "o1"), ("anomaly", None)]
        assert sorted(tuple(row) for row in stored_jobs) == [
            ("k1", '{"order_id": "o1"}', "pending"), ("k2", "{}", "pending")
        ]


def test_a_refused_row_fails_the_whole_statement_and_the_transaction_leaves_nothing(uow):
    with pytest.raises(sa.exc.IntegrityError), uow.write() as tx:
        tx.notifications.insert_new([_entry("e1")])
        tx.notifications.set_outcomes({"e1": None})  # NOT NULL
    with uow.read() as tx:
        assert _count(tx, notifications) == 0


def test_rows_must_name_the_same_columns(uow):
    with pytest.raises(ValueError, match="same columns"), uow.write() as tx:
        tx.attempts.compare_and_set_many([AttemptStatus.PENDING], {"a1": {"status": "x"}, "a2": {"updated_at": NOW}})
