"""The repositories' SQL toolkit: one interface, one implementation per dialect.

``driver`` runs prebuilt statements on the driver's cursor (both dialects). The many-row statements
differ by dialect (``postgres``: one ``unnest`` statement per step; ``sqlite``: loops of one-row
statements); :func:`many_rows` picks the implementation from the connection's dialect in one place, and
the functions below (what the repositories call) never look at the dialect themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from .driver import (
    DialectInsert,
    driver_execute,
    driver_first,
    driver_rows,
    insert,
    insert_ignore_with,
    is_unique_violation,
    plain,
    plain_value,
    record_values,
)
from .postgres import PostgresRows
from .sqlite import SqliteRows

__all__ = [
    "ManyRows",
    "compare_and_set",
    "driver_execute",
    "driver_first",
    "driver_rows",
    "insert",
    "insert_ignore",
    "insert_many",
    "is_unique_violation",
    "many_rows",
    "plain",
    "plain_value",
    "record_values",
    "select_many",
    "update_many",
    "upsert",
]


class ManyRows(Protocol):
    """What differs between the dialects; the callers' contracts are on the functions below."""

    @property
    def dialect_insert(self) -> DialectInsert:
        """The dialect's ``insert(table)``, which takes ``ON CONFLICT`` clauses (insert-or-ignore, upsert)."""
        ...

    def insert_many(
        self, conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], conflict: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """Insert non-empty ``rows``; the ``conflict`` values of those inserted."""
        ...

    def select_many(
        self, conn: sa.Connection, table: sa.Table, keys: Sequence[str], wanted: Sequence[tuple[Any, ...]]
    ) -> list[dict[str, Any]]:
        """Rows whose ``keys`` equal one of the distinct, non-empty ``wanted``."""
        ...

    def update_many(
        self,
        conn: sa.Connection,
        table: sa.Table,
        key: str,
        items: Sequence[tuple[Any, Mapping[str, Any]]],
        columns: tuple[str, ...],
        expected: Sequence[str] | None,
    ) -> set[Any]:
        """Apply sorted, non-empty ``items`` (key, values of ``columns``); the keys updated."""
        ...


_BY_DIALECT: dict[str, ManyRows] = {"postgresql": PostgresRows(), "sqlite": SqliteRows()}


def many_rows(conn: sa.Connection) -> ManyRows:
    """The many-row statements of ``conn``'s dialect."""
    return _BY_DIALECT[conn.dialect.name]


def _columns(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    columns = tuple(rows[0])
    if any(tuple(row) != columns for row in rows):
        raise ValueError("every row must have the same columns, in the same order")
    return columns


def insert_ignore(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any], conflict: Sequence[str]) -> bool:
    """Insert one row unless it collides on ``conflict`` columns; True if a row was inserted.

    Under concurrency the loser waits for the winner's commit (PostgreSQL) or for the write lock
    (SQLite) and then inserts nothing: the unique constraint decides, not a prior SELECT.
    """
    return insert_ignore_with(many_rows(conn).dialect_insert, conn, table, values, conflict)


def insert_many(
    conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *, conflict: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (same keys each); with ``conflict`` columns, skip rows colliding there.

    Returns the ``conflict`` values of the rows inserted (empty without ``conflict``). Rows go in the
    order given: callers sort them by key so that two concurrent batches lock in the same order.
    """
    if not rows:
        return []
    _columns(rows)
    return many_rows(conn).insert_many(conn, table, rows, tuple(conflict))


def select_many(
    conn: sa.Connection, table: sa.Table, keys: Sequence[str], values: Sequence[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """The rows of ``table`` whose ``keys`` columns equal one of ``values`` (tuples), as column → value dicts."""
    wanted = list(dict.fromkeys(values))
    return many_rows(conn).select_many(conn, table, keys, wanted) if wanted else []


def update_many(
    conn: sa.Connection,
    table: sa.Table,
    key: str,
    changes: Mapping[Any, Mapping[str, Any]],
    *,
    expected: Sequence[str] | None = None,
) -> set[Any]:
    """Per row ``key`` → column values, with every row's changes naming the same columns; the keys updated.

    With ``expected`` statuses it is a compare-and-set per row: a row whose status is not one of them is
    left alone and its key is not in the answer (somebody else moved it first).
    """
    if not changes or (expected is not None and not expected):
        return set()
    items = sorted(changes.items())  # one lock order for every batch
    columns = _columns([values for _, values in items])
    return many_rows(conn).update_many(conn, table, key, items, columns, expected)


def compare_and_set(
    conn: sa.Connection, table: sa.Table, row_id: str, expected: Sequence[str], changes: Mapping[str, Any]
) -> bool:
    """``UPDATE table SET … WHERE id = :id AND status IN (:expected)``; True if this call changed the row."""
    return row_id in update_many(conn, table, "id", {row_id: changes}, expected=expected)


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    values: Mapping[str, Any],
    conflict: list[str],
    update: Mapping[str, Any],
    where: Any = None,
) -> bool:
    """Insert, or on collision update with ``update`` (optionally only ``where`` holds); True if a row changed."""
    base = many_rows(conn).dialect_insert(table).values(plain(values))
    statement = base.on_conflict_do_update(index_elements=conflict, set_=plain(update), where=where)
    return conn.execute(statement.returning(sa.literal(1))).first() is not None
