"""Small helpers shared by the repositories: portable insert-or-ignore, many-row statements, row ↔ record mapping."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import fields
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from weipay.service.usecases.stores import DuplicateRecord

__all__ = [
    "compare_and_set",
    "driver_execute",
    "driver_first",
    "insert",
    "insert_ignore",
    "insert_many",
    "is_unique_violation",
    "plain",
    "plain_value",
    "record_values",
    "select_many",
    "update_many",
    "upsert",
]

_PG_UNIQUE_VIOLATION = "23505"
_SQLITE_UNIQUE = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


def plain_value(value: Any) -> Any:
    """An enum as its value, so every driver binds a plain string; anything else as is."""
    return value.value if isinstance(value, Enum) else value


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Enums to their values, so every driver binds plain strings."""
    return {key: plain_value(value) for key, value in values.items()}


def record_values(record: Any) -> dict[str, Any]:
    """A dataclass record as column values."""
    return plain({f.name: getattr(record, f.name) for f in fields(record)})


@functools.lru_cache(maxsize=512)
def _driver_sql(dialect: sa.Dialect, statement: Any) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
    """The driver's SQL text, its positional parameter order (qmark/format drivers), and the values of the
    constants the statement binds itself (``status == 'running'`` is a parameter too)."""
    compiled = statement.compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positional else None
    constants = {name: value for name, value in compiled.params.items() if value is not None}
    return compiled.string, order, constants


def _run(conn: sa.Connection, sql: str, bound: Any) -> Any:
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    dbapi = conn.dialect.loaded_dbapi
    try:
        cursor.execute(sql, bound)
    except dbapi.Error as error:
        cursor.close()
        # Built here, not by the engine: say ``hide_parameters`` again, or the values (openids, order text) would
        # reach the exception's text and every log that prints it.
        raise sa.exc.DBAPIError.instance(sql, bound, error, dbapi.Error, hide_parameters=True) from error
    return cursor


def driver_execute(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> Any:
    """Run a prebuilt statement on the driver's cursor; returns the open cursor (close it).

    The hot path's statements are few and fixed: compiled once per dialect, they skip SQLAlchemy's
    per-execution machinery (about 100 µs a statement, ten times the driver's own cost). Only for
    statements whose parameters need no type processing (strings, numbers, None). Driver errors come out
    as SQLAlchemy's (``IntegrityError`` …), as from ``conn.execute``.
    """
    sql, order, constants = _driver_sql(conn.dialect, statement)
    if constants:
        params = {**constants, **params}
    return _run(conn, sql, tuple(params[name] for name in order) if order is not None else params)


def _rows(cursor: Any) -> list[dict[str, Any]]:
    try:
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


# -- many rows in one statement (PostgreSQL) ----------------------------------------------------------------
# The notification hot path handles a batch per transaction (group commit). On PostgreSQL each of its steps is
# ONE statement whatever the batch size: the rows travel as one array per column and ``unnest`` turns them back
# into rows, so the SQL text (and its prepared plan) is the same for 1 or 100 rows. SQLite runs in-process and
# pays no round trip, so there the same calls are loops over the one-row statements.


_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=256)
def _pg_array_type(column: sa.Column[Any]) -> str:
    return f"{column.type.compile(dialect=_PG)}[]"


def _unnest(table: sa.Table, columns: Sequence[str]) -> str:
    arrays = ", ".join(f"%b::{_pg_array_type(table.c[name])}" for name in columns)
    return f"unnest({arrays}) AS v({', '.join(columns)})"


@functools.lru_cache(maxsize=64)
def _insert_many_sql(
    table: sa.Table, columns: tuple[str, ...], conflict: tuple[str, ...], returning: str | None
) -> str:
    # Every name in these statements comes from our own table metadata, never from input.
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM {_unnest(table, columns)}"  # noqa: S608
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
    return sql + (f" RETURNING {returning}" if returning else "")


def _columns(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    columns = tuple(rows[0])
    if any(tuple(row) != columns for row in rows):
        raise ValueError("every row must have the same columns, in the same order")
    return columns


def insert_many(
    conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *, conflict: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (same keys each); with ``conflict`` columns, skip rows colliding there.

    Returns the ``conflict`` values of the rows inserted (empty without ``conflict``). Rows go in the
    order given: callers sort them by key so that two concurrent batches lock in the same order.
    """
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        inserted = []
        for row in rows:
            if not conflict:
                insert(conn, table, row)
            elif insert_ignore(conn, table, row, list(conflict)):
                inserted.append(tuple(row[name] for name in conflict))
        return inserted
    columns = _columns(rows)
    returning = ", ".join(conflict) if conflict else None
    sql = _insert_many_sql(table, columns, tuple(conflict), returning)
    cursor = _run(conn, sql, [[plain_value(row[name]) for row in rows] for name in columns])
    try:
        return [tuple(found) for found in cursor.fetchall()] if conflict else []
    finally:
        cursor.close()


@functools.lru_cache(maxsize=64)
def _select_many_sql(table: sa.Table, keys: tuple[str, ...]) -> str:
    match = " AND ".join(f"t.{name} = v.{name}" for name in keys)
    return f"SELECT t.* FROM {table.name} AS t JOIN {_unnest(table, keys)} ON {match}"  # noqa: S608


@functools.lru_cache(maxsize=64)
def _select_one_statement(table: sa.Table, keys: tuple[str, ...]) -> Any:
    return sa.select(table).where(*(table.c[name] == sa.bindparam(name) for name in keys))


def select_many(
    conn: sa.Connection, table: sa.Table, keys: Sequence[str], values: Sequence[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """The rows of ``table`` whose ``keys`` columns equal one of ``values`` (tuples), as column → value dicts."""
    wanted = list(dict.fromkeys(values))
    if not wanted:
        return []
    if conn.dialect.name != "postgresql":
        statement = _select_one_statement(table, tuple(keys))
        found = []
        for value in wanted:
            found.extend(_rows(driver_execute(conn, statement, dict(zip(keys, value, strict=True)))))
        return found
    arrays = [[value[index] for value in wanted] for index in range(len(keys))]
    return _rows(_run(conn, _select_many_sql(table, tuple(keys)), arrays))


@functools.lru_cache(maxsize=64)
def _update_many_sql(table: sa.Table, key: str, columns: tuple[str, ...], guarded: bool) -> str:
    assignments = ", ".join(f"{name} = v.{name}" for name in columns)
    sql = f"UPDATE {table.name} AS t SET {assignments} FROM {_unnest(table, (key, *columns))}"  # noqa: S608
    sql += f" WHERE t.{key} = v.{key}"
    if guarded:
        sql += f" AND t.status = ANY(%s::{_pg_array_type(table.c.status)})"
    return sql + f" RETURNING t.{key}"


@functools.lru_cache(maxsize=256)
def _update_one_statement(table: sa.Table, key: str, columns: tuple[str, ...], expected_count: int) -> Any:
    where = [table.c[key] == sa.bindparam("k_key")]
    if expected_count:
        where.append(table.c.status.in_([sa.bindparam(f"cas_from_{index}") for index in range(expected_count)]))
    return table.update().where(*where).values({name: sa.bindparam(f"v_{name}") for name in columns})


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
    if conn.dialect.name != "postgresql":
        statement = _update_one_statement(table, key, columns, len(expected) if expected is not None else 0)
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
    arrays: list[Any] = [[row_key for row_key, _ in items]]
    arrays += [[plain_value(values[name]) for _, values in items] for name in columns]
    if expected is not None:
        arrays.append(list(expected))
    cursor = _run(conn, _update_many_sql(table, key, columns, expected is not None), arrays)
    try:
        return {found[0] for found in cursor.fetchall()}
    finally:
        cursor.close()


def driver_first(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first row of a prebuilt SELECT as a column → value dict, or None."""
    cursor = driver_execute(conn, statement, params)
    try:
        row = cursor.fetchone()
        return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))
    finally:
        cursor.close()


def driver_rows(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every row of a prebuilt SELECT as column → value dicts."""
    return _rows(driver_execute(conn, statement, params))


def _insert_for(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@functools.lru_cache(maxsize=256)
def _insert_ignore_statement(dialect: str, table: sa.Table, conflict: tuple[str, ...], keys: tuple[str, ...]) -> Any:
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    insert = insert.values({key: sa.bindparam(key) for key in keys})
    # RETURNING, not rowcount: drivers disagree on rowcount for INSERT … ON CONFLICT.
    return insert.on_conflict_do_nothing(index_elements=list(conflict)).returning(sa.literal_column("1"))


def insert_ignore(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any], conflict: list[str]) -> bool:
    """Insert one row unless it collides on ``conflict`` columns; True if a row was inserted.

    Under concurrency the loser waits for the winner's commit (PostgreSQL) or for the write lock
    (SQLite) and then inserts nothing: the unique constraint decides, not a prior SELECT.
    The statement is built once and the values bound as parameters (the notification hot path).
    """
    statement = _insert_ignore_statement(conn.dialect.name, table, tuple(conflict), tuple(values))
    return driver_first(conn, statement, plain(values)) is not None


def is_unique_violation(error: sa.exc.IntegrityError) -> bool:
    """True if ``error`` is a unique or primary-key collision (not a CHECK, NOT NULL or foreign-key failure)."""
    driver_error = error.orig
    if getattr(driver_error, "sqlstate", None) == _PG_UNIQUE_VIOLATION:
        return True
    return getattr(driver_error, "sqlite_errorname", None) in _SQLITE_UNIQUE


def insert(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any]) -> None:
    """Insert one row with bound parameters (no per-call statement building).

    A unique collision becomes the port-level ``DuplicateRecord``, so use cases can treat a racing
    twin without knowing the driver; the transaction must still be rolled back (PostgreSQL aborts it).
    """
    values = plain(values)
    try:
        driver_execute(conn, _insert_statement(table, tuple(values)), values).close()
    except sa.exc.IntegrityError as error:
        if is_unique_violation(error):
            raise DuplicateRecord(f"{table.name}: a row with the same unique key exists") from error
        raise


@functools.lru_cache(maxsize=256)
def _insert_statement(table: sa.Table, keys: tuple[str, ...]) -> Any:
    return table.insert().values({key: sa.bindparam(key) for key in keys})


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
    base = _insert_for(conn, table).values(plain(values))
    statement = base.on_conflict_do_update(index_elements=conflict, set_=plain(update), where=where)
    return conn.execute(statement.returning(sa.literal(1))).first() is not None
