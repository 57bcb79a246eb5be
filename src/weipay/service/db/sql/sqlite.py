"""Many-row statements on SQLite: loops over one-row statements.

SQLite runs in-process and pays no round trip per statement, so a loop of prebuilt one-row statements is
as fast as anything cleverer, and the SQL stays the same for every batch size.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.expression import Executable

from .driver import driver_execute, fetch_rows, insert, insert_ignore_with, plain_value

__all__ = ["SqliteRows"]


@functools.lru_cache(maxsize=64)
def _select_one(table: sa.Table, keys: tuple[str, ...]) -> Executable:
    return sa.select(table).where(*(table.c[name] == sa.bindparam(name) for name in keys))


@functools.lru_cache(maxsize=256)
def _update_one(table: sa.Table, key: str, columns: tuple[str, ...], expected_count: int) -> Executable:
    where = [table.c[key] == sa.bindparam("k_key")]
    if expected_count:
        where.append(table.c.status.in_([sa.bindparam(f"cas_from_{index}") for index in range(expected_count)]))
    return table.update().where(*where).values({name: sa.bindparam(f"v_{name}") for name in columns})


class SqliteRows:
    """:class:`~weipay.service.db.sql.ManyRows` for SQLite."""

    dialect_insert = staticmethod(sqlite.insert)

    def insert_many(
        self, conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], conflict: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        inserted = []
        for row in rows:
            if not conflict:
                insert(conn, table, row)
            elif insert_ignore_with(sqlite.insert, conn, table, row, conflict):
                inserted.append(tuple(row[name] for name in conflict))
        return inserted

    def select_many(
        self, conn: sa.Connection, table: sa.Table, keys: Sequence[str], wanted: Sequence[tuple[Any, ...]]
    ) -> list[dict[str, Any]]:
        statement = _select_one(table, tuple(keys))
        found = []
        for value in wanted:
            found.extend(fetch_rows(driver_execute(conn, statement, dict(zip(keys, value, strict=True)))))
        return found

    def update_many(
        self,
        conn: sa.Connection,
        table: sa.Table,
        key: str,
        items: Sequence[tuple[Any, Mapping[str, Any]]],
        columns: tuple[str, ...],
        expected: Sequence[str] | None,
    ) -> set[Any]:
        statement = _update_one(table, key, columns, len(expected) if expected is not None else 0)
        updated = set()
        for row_key, values in items:
            params = {f"v_{name}": plain_value(value) for name, value in values.items()}
            params["k_key"] = row_key
            params.update({f"cas_from_{index}": status for index, status in enumerate(expected or ())})
            cursor = driver_execute(conn, statement, params)
            try:
                if cursor.rowcount == 1:
                    updated.add(row_key)
            finally:
                cursor.close()
        return updated
