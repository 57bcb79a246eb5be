"""The anomalies table stays as small as the set of distinct facts: a repeat is counted on its row."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from weipay.service.db import SqlUnitOfWork, upgrade
from weipay.service.db.tables import anomalies
from weipay.service.domain import Anomaly

NOW = 1_790_000_000.0


@pytest.fixture
def uow(database_url):
    upgrade(database_url)
    built = SqlUnitOfWork.from_url(database_url)
    yield built
    built.dispose()


def _paid_after_terminal(at: float, detail: str = "SUCCESS for a closed attempt") -> Anomaly:
    return Anomaly(kind="paid_after_terminal", detail=detail, created_at=at, mchid="1900000109",
                   order_id="ord_1", attempt_id="pay_1")  # fmt: skip


def test_the_same_unresolved_anomaly_is_counted_not_stored_again(uow):
    """A query job polling every minute meets the same surprise each time: 60 polls, one row."""
    for minute in range(60):
        with uow.write() as tx:
            tx.anomalies.add(_paid_after_terminal(NOW + 60 * minute))
    with uow.read() as tx:
        [row] = tx.anomalies.list()
    assert (row.occurrences, row.created_at, row.last_seen_at) == (60, NOW, NOW + 59 * 60)


def test_a_different_fact_or_a_resolved_one_gets_its_own_row(uow):
    with uow.write() as tx:
        tx.anomalies.add(_paid_after_terminal(NOW))
        tx.anomalies.add(_paid_after_terminal(NOW, detail="another amount"))
        tx.anomalies.add(Anomaly(kind="notification_mismatch", detail="x", created_at=NOW))  # no subject at all
        tx.anomalies.add(Anomaly(kind="notification_mismatch", detail="x", created_at=NOW + 1))
    with uow.write() as tx:  # an operator resolved the first: the next occurrence is news again
        tx.connection.execute(
            anomalies.update().where(anomalies.c.detail == "another amount").values(resolved_at=NOW + 2)
        )
        tx.anomalies.add(_paid_after_terminal(NOW + 3, detail="another amount"))
    with uow.read() as tx:
        counts = sorted((a.detail, a.occurrences) for a in tx.anomalies.list())
    assert counts == [("SUCCESS for a closed attempt", 1), ("another amount", 1), ("another amount", 1), ("x", 2)]


def test_existing_rows_read_back_with_one_occurrence(uow):
    with uow.write() as tx:
        tx.connection.execute(sa.insert(anomalies).values(kind="k", detail="d", created_at=NOW))
    with uow.read() as tx:
        [row] = tx.anomalies.list()
    assert row.occurrences == 1 and row.last_seen_at is None
