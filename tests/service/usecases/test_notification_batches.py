"""A batch of payment notifications answers and stores exactly what applying them one by one would.

The burst path (group commit) hands ``accept_payment_notifications`` a whole batch and each of its steps is
one statement for all of it. Its promise is equivalence with the one-at-a-time path in delivery order, so
this test draws seeded scenarios rich in the cases where order matters (repeated event ids, two
notifications for one attempt, two attempts of one order both paid, a transaction id claimed twice,
tampered amounts, unknown out_trade_nos, attempts already closed, orders already paid) and compares the
two on a real database: every outcome, every attempt and order, every anomaly, job, inbox row and call record.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from weipay.service.db import SqlUnitOfWork, upgrade
from weipay.service.db.tables import (
    anomalies,
    call_log,
    jobs,
    notifications,
    orders,
    payment_attempts,
    webhook_attempts,
    webhook_deliveries,
)
from weipay.service.domain import ApiVersion
from weipay.service.usecases import (
    MerchantConfig,
    PaymentNotification,
    accept_payment_notification,
    accept_payment_notifications,
)

NOW = 1_790_000_000.0
MCHID = "1900000109"
APPID = "wx8888888888888888"
MERCHANT = MerchantConfig(mchid=MCHID, appids={"miniprogram": APPID})
SEEDS = range(40)


def _scenario(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[PaymentNotification]]:
    order_rows: list[dict[str, Any]] = []
    attempt_rows: list[dict[str, Any]] = []
    for o in range(rng.randint(2, 4)):
        amount = rng.randint(1, 500)
        order_id = f"o{o}"
        paid_by_first = rng.random() < 0.2
        order_rows.append({
            "id": order_id, "mchid": MCHID, "merchant_order_no": order_id, "request_hash": "h", "amount_fen": amount,
            "currency": "CNY", "description": "d", "status": "paid" if paid_by_first else "pending",
            "paid_fen": amount if paid_by_first else 0, "paid_attempt_id": f"{order_id}a1" if paid_by_first else None,
            "created_at": NOW, "updated_at": NOW, "expires_at": NOW + 600,
        })  # fmt: skip
        for seq in range(1, rng.randint(1, 2) + 1):
            first_paid = paid_by_first and seq == 1
            status = "succeeded" if first_paid else rng.choice(["pending", "pending", "pending", "unknown", "closed"])
            attempt_rows.append({
                "id": f"{order_id}a{seq}", "order_id": order_id, "seq": seq, "mchid": MCHID, "appid": APPID,
                "out_trade_no": f"{order_id}-{seq}", "api": "v3", "channel": "native", "status": status,
                "amount_fen": amount, "currency": "CNY", "description": "d", "notify_url": "https://m/n",
                "time_expire": NOW + 600, "created_at": NOW, "updated_at": NOW,
                "transaction_id": f"T{order_id}a{seq}" if first_paid else None,
            })  # fmt: skip
    notices = []
    for index in range(rng.randint(1, 10)):
        attempt = rng.choice(attempt_rows)
        out_trade_no = attempt["out_trade_no"] if rng.random() > 0.08 else "nobody-1"
        roll = rng.random()
        transaction_id = "Tshared" if roll < 0.15 else (None if roll < 0.2 else f"T{attempt['id']}")
        amount = attempt["amount_fen"] + (1 if rng.random() < 0.08 else 0)
        notices.append(PaymentNotification(
            event_id=f"e{rng.randint(0, index)}", api=ApiVersion.V3, mchid=MCHID, appid=APPID,
            out_trade_no=out_trade_no, trade_state="SUCCESS", amount_fen=amount, currency="CNY", body=f"body{index}",
            transaction_id=transaction_id, payer_amount_fen=amount, paid_at=NOW - index, trade_type="NATIVE",
            event_type="TRANSACTION.SUCCESS",
        ))  # fmt: skip
    return order_rows, attempt_rows, notices


def _reset(uow: SqlUnitOfWork, order_rows: list[dict[str, Any]], attempt_rows: list[dict[str, Any]]) -> None:
    with uow.write() as tx:
        for table in (call_log, jobs, anomalies, notifications, webhook_attempts, webhook_deliveries, payment_attempts,
                      orders):
            tx.connection.execute(table.delete())
        tx.connection.execute(orders.insert(), order_rows)
        tx.connection.execute(payment_attempts.insert(), attempt_rows)


def _state(uow: SqlUnitOfWork) -> dict[str, Any]:
    def rows(table: sa.Table, *columns: str) -> list[tuple[Any, ...]]:
        selected = sa.select(*(table.c[name] for name in columns))
        return sorted((tuple(row) for row in tx.connection.execute(selected)), key=repr)

    with uow.read() as tx:
        return {
            "attempts": rows(payment_attempts, "id", "status", "transaction_id", "trade_state", "paid_at"),
            "orders": rows(orders, "id", "status", "paid_fen", "paid_attempt_id", "paid_at"),
            "anomalies": rows(anomalies, "kind", "order_id", "attempt_id", "detail"),
            "jobs": rows(jobs, "kind", "dedupe_key", "payload", "due_at", "status"),
            "webhooks": rows(webhook_deliveries, "event_type", "order_id", "dedupe_key", "status"),
            "inbox": rows(notifications, "event_id", "outcome", "body", "out_trade_no"),
            "calls": rows(call_log, "endpoint", "outcome", "order_id", "attempt_id", "request_body"),
        }


@pytest.fixture
def uow(database_url: str):
    upgrade(database_url)
    built = SqlUnitOfWork.from_url(database_url)
    yield built
    built.engine.dispose()


def _one_by_one(uow: SqlUnitOfWork, notices: list[PaymentNotification], clock: Callable[[], float]) -> list[str]:
    return [accept_payment_notification(uow, MERCHANT, notice, clock).value for notice in notices]


def test_a_batch_is_applied_as_its_notifications_one_by_one_in_order(uow: SqlUnitOfWork) -> None:
    seen_outcomes: set[str] = set()
    for seed in SEEDS:
        order_rows, attempt_rows, notices = _scenario(random.Random(seed))
        _reset(uow, order_rows, attempt_rows)
        batched = [r.value for r in accept_payment_notifications(uow, [(MERCHANT, n) for n in notices], lambda: NOW)]
        after_batch = _state(uow)
        _reset(uow, order_rows, attempt_rows)
        sequential = _one_by_one(uow, notices, lambda: NOW)
        assert batched == sequential, f"seed {seed}"
        assert after_batch == _state(uow), f"seed {seed}"
        seen_outcomes.update(sequential)
    # The scenarios reach every outcome, so the equivalence above covers every branch.
    assert seen_outcomes == {"applied", "already", "anomaly", "double_payment"}


def test_a_batch_of_the_same_notification_moves_the_state_once(uow: SqlUnitOfWork) -> None:
    order_rows, attempt_rows, _ = _scenario(random.Random(3))
    attempt_rows[0]["status"] = "pending"
    order_rows[0].update(status="pending", paid_fen=0, paid_attempt_id=None)
    _reset(uow, order_rows, attempt_rows)
    pending = attempt_rows[0]
    notice = PaymentNotification(
        event_id="same", api=ApiVersion.V3, mchid=MCHID, appid=APPID, out_trade_no=pending["out_trade_no"],
        trade_state="SUCCESS", amount_fen=pending["amount_fen"], currency="CNY", body="b", transaction_id="T1",
        payer_amount_fen=pending["amount_fen"], paid_at=NOW, trade_type="NATIVE", event_type="TRANSACTION.SUCCESS",
    )  # fmt: skip
    outcomes = accept_payment_notifications(uow, [(MERCHANT, notice)] * 5, lambda: NOW)
    assert [o.value for o in outcomes] == ["applied"] + ["already"] * 4
    state = _state(uow)
    assert len(state["inbox"]) == 1 and len(state["calls"]) == 1
    assert [job[1] for job in state["jobs"]] == [f"deliver_webhook:order.paid:{pending['order_id']}"]
