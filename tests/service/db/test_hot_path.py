"""The notification hot path's statement savings keep the repositories' meaning (SQLite and PostgreSQL).

On PostgreSQL the inbox insert also reads the attempt (one statement), and inside ``deferred_writes`` the
outcome update and the call-log row go out as one statement; on SQLite both are plain statements.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from weipay.service.db import SqlUnitOfWork, Transaction, deferred_writes, flush_deferred, upgrade
from weipay.service.db.tables import call_log, notifications, orders, payment_attempts
from weipay.service.domain import CallRecord

NOW = 1_790_000_000.0
MCHID = "1900000109"


@pytest.fixture
def uow(database_url):
    upgrade(database_url)
    built = SqlUnitOfWork.from_url(database_url)
    with built.write() as tx:
        tx.connection.execute(orders.insert().values(
            id="o1", mchid=MCHID, merchant_order_no="o1", request_hash="h", amount_fen=100, currency="CNY",
            description="d", status="pending", created_at=NOW, updated_at=NOW, expires_at=NOW + 60,
        ))  # fmt: skip
        tx.connection.execute(payment_attempts.insert().values(
            id="a1", order_id="o1", seq=1, mchid=MCHID, appid="wx1", out_trade_no="o1-1", api="v3",
            channel="native", status="pending", amount_fen=100, currency="CNY", description="d",
            notify_url="https://x/n", time_expire=NOW, created_at=NOW, updated_at=NOW,
        ))  # fmt: skip
    yield built
    built.dispose()


def _insert_once(tx, event_id, out_trade_no="o1-1"):
    return tx.notifications.insert_once(
        event_id=event_id, mchid=MCHID, api="v3", kind="payment", outcome="received", body="{}",
        received_at=NOW, out_trade_no=out_trade_no,
    )  # fmt: skip


def _call(outcome):
    return CallRecord(direction="inbound", api="v3", endpoint="notify/payment", outcome=outcome, latency_ms=0,
                      mchid=MCHID, request_body="{}", created_at=NOW)  # fmt: skip


def test_insert_once_then_lookup_answers_as_two_statements_would(uow):
    with uow.write() as tx:
        assert _insert_once(tx, "e1") is True
        attempt = tx.attempts.by_out_trade_no(MCHID, "o1-1")
        assert attempt is not None and attempt.id == "a1" and attempt.amount_fen == 100
        assert _insert_once(tx, "e1") is False  # the duplicate stops at the inbox
        assert _insert_once(tx, "e2", out_trade_no="nope") is True
        assert tx.attempts.by_out_trade_no(MCHID, "nope") is None
        assert _insert_once(tx, "e3") is True
        assert tx.attempts.by_out_trade_no("other", "o1-1") is None  # a different lookup is asked for real


def test_a_prefetched_attempt_is_never_handed_out_after_another_statement(uow):
    with uow.write() as tx:
        assert _insert_once(tx, "e1") is True
        assert tx.attempts.compare_and_set("a1", ["pending"], status="succeeded", updated_at=NOW)
        assert tx.attempts.by_out_trade_no(MCHID, "o1-1").status.value == "succeeded"
        assert _insert_once(tx, "e2") is True
        tx.connection.execute(payment_attempts.update().values(trade_state="X"))  # through SQLAlchemy
        assert tx.attempts.by_out_trade_no(MCHID, "o1-1").trade_state == "X"


def test_deferred_outcome_and_call_log_are_written_in_order_and_flushed_before_commit(uow):
    with uow.engine.connect() as conn, conn.begin(), deferred_writes(conn):
        batch = Transaction(conn)
        for event_id in ("e1", "e2", "e3"):
            assert _insert_once(batch, event_id) is True
            batch.notifications.set_outcome(event_id, f"done-{event_id}")
            batch.calls.add(_call(f"done-{event_id}"), order_id="o1", attempt_id="a1")
        batch.notifications.set_outcome("e3", "last")  # alone in the slot until the flush
        # A SQLAlchemy statement sees every write issued before it.
        assert conn.execute(sa.select(sa.func.count()).select_from(call_log)).scalar_one() == 3
        batch.notifications.set_outcome("e1", "again")
        flush_deferred(conn)
    with uow.read() as tx:
        outcomes = dict(tx.connection.execute(sa.select(notifications.c.event_id, notifications.c.outcome)).all())
        calls = [row.outcome for row in tx.connection.execute(sa.select(call_log).order_by(call_log.c.id))]
    assert outcomes == {"e1": "again", "e2": "done-e2", "e3": "last"}
    assert calls == ["done-e1", "done-e2", "done-e3"]


def test_a_failing_deferred_write_fails_the_transaction_and_leaves_nothing(uow):
    with pytest.raises(sa.exc.DBAPIError), uow.engine.connect() as conn, conn.begin(), deferred_writes(conn):
        batch = Transaction(conn)
        assert _insert_once(batch, "e1") is True
        batch.notifications.set_outcome("e1", None)  # NOT NULL: refused when it is finally sent
        batch.calls.add(_call("applied"), order_id="o1")
        flush_deferred(conn)
    with uow.read() as tx:
        assert tx.connection.execute(sa.select(sa.func.count()).select_from(notifications)).scalar_one() == 0
        assert tx.connection.execute(sa.select(sa.func.count()).select_from(call_log)).scalar_one() == 0
