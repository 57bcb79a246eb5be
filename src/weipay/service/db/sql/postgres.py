"""Many-row statements on PostgreSQL: one statement per step, whatever the batch size.

The notification hot path handles a batch per transaction (group commit). Each of its steps is ONE
statement: the rows travel as one array per column and ``unnest`` turns them back into rows, so the SQL
text (and its prepared plan) is the same for 1 or 128 rows. Every name in these statements comes from our
own table metadata, never from input.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .driver import fetch_rows, plain_value, raw_execute

__all__ = ["PostgresRows"]

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=256)
def _array_type(column: sa.Column[Any]) -> str:
    return f"{column.type.compile(dialect=_PG)}[]"


def _unnest(table: sa.Table, columns: Sequence[str]) -> str:
    arrays = ", ".join(f"%b::{_array_type(table.c[name])}" for name in columns)
    return f"unnest({arrays}) AS v({', '.join(columns)})"


@functools.lru_cache(maxsize=64)
def _insert_many_sql(table: sa.Table, columns: tuple[str, ...], conflict: tuple[str, ...]) -> str:
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM {_unnest(table, columns)}"  # noqa: S608
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(conflict)}"
    return sql


@functools.lru_cache(maxsize=64)
def _select_many_sql(table: sa.Table, keys: tuple[str, ...]) -> str:
    match = " AND ".join(f"t.{name} = v.{name}" for name in keys)
    return f"SELECT t.* FROM {table.name} AS t JOIN {_unnest(table, keys)} ON {match}"  # noqa: S608


@functools.lru_cache(maxsize=64)
def _update_many_sql(table: sa.Table, key: str, columns: tuple[str, ...], guarded: bool) -> str:
    assignments = ", ".join(f"{name} = v.{name}" for name in columns)
    sql = f"UPDATE {table.name} AS t SET {assignments} FROM {_unnest(table, (key, *columns))}"  # noqa: S608
    sql += f" WHERE t.{key} = v.{key}"
    if guarded:
        sql += f" AND t.status = ANY(%s::{_array_type(table.c.status)})"
    return sql + f" RETURNING t.{key}"


class PostgresRows:
    """:class:`~weipay.service.db.sql.ManyRows` for PostgreSQL."""

    dialect_insert = staticmethod(postgresql.insert)

    def insert_many(
        self, conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], conflict: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        columns = tuple(rows[0])
        cursor = raw_execute(
            conn,
            _insert_many_sql(table, columns, tuple(conflict)),
            [[plain_value(row[name]) for row in rows] for name in columns],
        )
        try:
            return [tuple(found) for found in cursor.fetchall()] if conflict else []
        finally:
            cursor.close()

    def select_many(
        self, conn: sa.Connection, table: sa.Table, keys: Sequence[str], wanted: Sequence[tuple[Any, ...]]
    ) -> list[dict[str, Any]]:
        arrays = [[value[index] for value in wanted] for index in range(len(keys))]
        return fetch_rows(raw_execute(conn, _select_many_sql(table, tuple(keys)), arrays))

    def update_many(
        self,
        conn: sa.Connection,
        table: sa.Table,
        key: str,
        items: Sequence[tuple[Any, Mapping[str, Any]]],
        columns: tuple[str, ...],
        expected: Sequence[str] | None,
    ) -> set[Any]:
        arrays: list[Any] = [[row_key for row_key, _ in items]]
        arrays += [[plain_value(values[name]) for _, values in items] for name in columns]
        if expected is not None:
            arrays.append(list(expected))
        cursor = raw_execute(conn, _update_many_sql(table, key, columns, expected is not None), arrays)
        try:
            return {found[0] for found in cursor.fetchall()}
        finally:
            cursor.close()
