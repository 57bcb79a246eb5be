"""The group-commit writer of the notification path, on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import sqlalchemy as sa

from weipay.service.db import create_engine_for
from weipay.service.db.group_commit import BatchUnitOfWork, GroupCommitWriter


def _insert_all(uow: BatchUnitOfWork, keys: list[str]) -> list[str]:
    """The writer's ``apply``: every key in the batch's transaction; the key "boom" fails its batch."""
    with uow.write() as tx:
        for key in keys:
            tx.connection.execute(sa.text("INSERT INTO gc_rows (k) VALUES (:k)"), {"k": key})
            if key.endswith("boom"):
                raise RuntimeError("boom")
    return keys


def _keys(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(row[0] for row in conn.execute(sa.text("SELECT k FROM gc_rows")))


@pytest.mark.parametrize("threads", [1, 3])
def test_batches_commit_and_a_failure_costs_only_its_own_reply(database_url: str, threads: int) -> None:
    engine = create_engine_for(database_url)
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.text("CREATE TABLE gc_rows (k VARCHAR(16) PRIMARY KEY)"))
    writer = GroupCommitWriter(engine, contextlib.nullcontext(), _insert_all, threads=threads, max_batch=8)

    async def burst() -> list[Any]:
        keys = [f"k{i:02d}" if i != 5 else "k05boom" for i in range(40)]
        keys.append("k07")  # a duplicate of an earlier key: the unique constraint refuses it alone
        return await asyncio.gather(*(writer.submit(key) for key in keys), return_exceptions=True)

    try:
        results = asyncio.run(burst())
    finally:
        writer.close()
    failures = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    # With several writer threads either twin of k07 may commit first; exactly one of them is refused.
    assert failures[0] == 5 and len(failures) == 2 and failures[1] in (7, 40)
    assert isinstance(results[5], RuntimeError)
    assert isinstance(results[failures[1]], sa.exc.IntegrityError)
    expected = sorted(f"k{i:02d}" for i in range(40) if i != 5)
    assert sorted(r for r in results if not isinstance(r, BaseException)) == expected
    assert _keys(engine) == expected  # every success is durable; the failures left nothing behind
    engine.dispose()
