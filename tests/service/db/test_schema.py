"""Migrations build exactly the declared schema; the unique and check constraints hold on both databases."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from weipay.service.db import SqlUnitOfWork, create_engine_for, current_revision, head_revision, metadata, upgrade
from weipay.service.db.tables import jobs, notifications, orders, payment_attempts, refunds

NOW = 1_790_000_000.0


@pytest.fixture
def uow(database_url):
    upgrade(database_url)
    built = SqlUnitOfWork.from_url(database_url)
    yield built
    built.dispose()


def test_upgrade_is_idempotent_and_matches_the_declared_tables(database_url):
    assert upgrade(database_url) == head_revision() == "0012"
    assert upgrade(database_url) == "0012"
    engine = create_engine_for(database_url)
    try:
        assert current_revision(engine) == "0012"
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        engine.dispose()


def _order(order_id, **overrides):
    values = {
        "id": order_id, "mchid": "1900000109", "merchant_order_no": order_id, "request_hash": "h", "amount_fen": 100,
        "currency": "CNY", "description": "d", "status": "pending", "created_at": NOW, "updated_at": NOW,
        "expires_at": NOW + 60,
    }  # fmt: skip
    values.update(overrides)
    return values


def _attempt(attempt_id, order_id, seq, **overrides):
    values = {
        "id": attempt_id, "order_id": order_id, "seq": seq, "mchid": "1900000109", "appid": "wx1",
        "out_trade_no": f"{order_id}-{seq}", "api": "v3", "channel": "native", "status": "created",
        "amount_fen": 100, "currency": "CNY", "description": "d", "notify_url": "https://x/n", "time_expire": NOW,
        "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    values.update(overrides)
    return values


def _refund(refund_id, order_id, attempt_id, seq, **overrides):
    values = {
        "id": refund_id, "order_id": order_id, "attempt_id": attempt_id, "seq": seq, "kind": "merchant",
        "mchid": "1900000109", "out_refund_no": f"{order_id}R{seq}", "out_trade_no": f"{order_id}-1", "api": "v3",
        "amount_fen": 10, "total_fen": 100, "status": "processing", "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    values.update(overrides)
    return values


def _notification(event_id):
    return {"event_id": event_id, "mchid": "1900000109", "api": "v3", "kind": "payment", "outcome": "x",
            "body": "{}", "received_at": NOW}  # fmt: skip


def _job(key):
    return {"kind": "k", "payload": "{}", "dedupe_key": key, "status": "pending", "due_at": NOW,
            "created_at": NOW, "updated_at": NOW}  # fmt: skip


def _rejects(uow, table, first, second):
    with uow.write() as tx:
        tx.connection.execute(table.insert().values(first))
    with pytest.raises(sa.exc.IntegrityError), uow.write() as tx:
        tx.connection.execute(table.insert().values(second))


def test_duplicate_merchant_order_no_and_idempotency_key_are_rejected(uow):
    _rejects(uow, orders, _order("o1"), _order("o2", merchant_order_no="o1"))
    _rejects(uow, orders, _order("o3", idempotency_key="k"), _order("o4", idempotency_key="k"))


def test_duplicate_out_trade_no_transaction_id_and_seq_are_rejected(uow):
    with uow.write() as tx:
        tx.connection.execute(orders.insert().values(_order("o1")))
    _rejects(uow, payment_attempts, _attempt("a1", "o1", 1), _attempt("a2", "o1", 2, out_trade_no="o1-1"))
    _rejects(
        uow,
        payment_attempts,
        _attempt("a3", "o1", 3, transaction_id="4200"),
        _attempt("a4", "o1", 4, transaction_id="4200"),
    )
    _rejects(uow, payment_attempts, _attempt("a5", "o1", 5), _attempt("a6", "o1", 5, out_trade_no="o1-x"))


def test_duplicate_out_refund_no_event_id_and_dedupe_key_are_rejected(uow):
    with uow.write() as tx:
        tx.connection.execute(orders.insert().values(_order("o1", paid_fen=100, status="paid")))
        tx.connection.execute(payment_attempts.insert().values(_attempt("a1", "o1", 1)))
    _rejects(uow, refunds, _refund("r1", "o1", "a1", 1), _refund("r2", "o1", "a1", 2, out_refund_no="o1R1"))
    _rejects(uow, notifications, _notification("EV-1"), _notification("EV-1"))
    _rejects(uow, jobs, _job("same"), _job("same"))


def test_refunds_can_never_exceed_paid_in_the_database_itself(uow):
    with uow.write() as tx:
        tx.connection.execute(orders.insert().values(_order("o1", paid_fen=100, status="paid")))
    with pytest.raises(sa.exc.IntegrityError), uow.write() as tx:
        tx.connection.execute(orders.update().where(orders.c.id == "o1").values(refunded_fen=60, reserved_fen=50))
    with uow.write() as tx:
        assert tx.orders.reserve_refund("o1", 100, NOW)
        assert not tx.orders.reserve_refund("o1", 1, NOW)


def test_sqlite_write_transactions_take_the_lock_at_begin(tmp_path):
    url = f"sqlite:///{tmp_path / 'lock.sqlite3'}"
    upgrade(url)
    engine = create_engine_for(url)
    uow = SqlUnitOfWork(engine)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        order_of_events = []
        holding = threading.Event()

        def first_writer():
            with uow.write():
                holding.set()
                time.sleep(0.3)
                order_of_events.append("first commits")

        thread = threading.Thread(target=first_writer)
        thread.start()
        holding.wait()
        with uow.read() as tx:  # readers are never blocked (WAL)
            tx.orders.list()
            order_of_events.append("read")
        with uow.write():  # BEGIN IMMEDIATE waits for the first writer instead of failing later
            order_of_events.append("second begins")
        thread.join()
        assert order_of_events == ["read", "first commits", "second begins"]
    finally:
        engine.dispose()
