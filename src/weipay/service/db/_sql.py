"""Small helpers shared by the repositories: portable insert-or-ignore and row ↔ record mapping."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import fields
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from weipay.service.usecases.stores import DuplicateRecord

__all__ = [
    "compare_and_set", "driver_execute", "driver_first", "insert", "insert_ignore", "is_unique_violation", "plain",
    "record_values", "upsert",
]

_PG_UNIQUE_VIOLATION = "23505"
_SQLITE_UNIQUE = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Enums to their values, so every driver binds plain strings."""
    return {key: (value.value if isinstance(value, Enum) else value) for key, value in values.items()}


def record_values(record: Any) -> dict[str, Any]:
    """A dataclass record as column values."""
    return plain({f.name: getattr(record, f.name) for f in fields(record)})


@functools.lru_cache(maxsize=512)
def _driver_sql(dialect: sa.Dialect, statement: Any) -> tuple[str, tuple[str, ...] | None]:
    compiled = statement.compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positional else None
    return compiled.string, order


def driver_execute(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> Any:
    """Run a prebuilt statement on the driver's cursor; returns the open cursor (close it).

    The hot path's statements are few and fixed: compiled once per dialect, they skip SQLAlchemy's
    per-execution machinery (about 100 µs a statement, ten times the driver's own cost). Only for
    statements whose parameters need no type processing (strings, numbers, None). Driver errors come out
    as SQLAlchemy's (``IntegrityError`` …), as from ``conn.execute``.
    """
    sql, order = _driver_sql(conn.dialect, statement)
    bound: Any = tuple(params[name] for name in order) if order is not None else params
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    dbapi = conn.dialect.loaded_dbapi
    try:
        cursor.execute(sql, bound)
    except dbapi.Error as error:
        cursor.close()
        raise sa.exc.DBAPIError.instance(sql, bound, error, dbapi.Error) from error
    return cursor


def driver_first(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first row of a prebuilt SELECT as a column → value dict, or None."""
    cursor = driver_execute(conn, statement, params)
    try:
        row = cursor.fetchone()
        return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))
    finally:
        cursor.close()


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


@functools.lru_cache(maxsize=512)
def _cas_statement(table: sa.Table, keys: tuple[str, ...], expected_count: int) -> Any:
    expected: list[Any] = [sa.bindparam(f"cas_from_{index}") for index in range(expected_count)]
    return (
        table.update()
        .where(table.c.id == sa.bindparam("cas_id"), table.c.status.in_(expected))
        .values({key: sa.bindparam(f"v_{key}") for key in keys})
    )


def compare_and_set(
    conn: sa.Connection, table: sa.Table, row_id: str, expected: list[str], changes: Mapping[str, Any]
) -> bool:
    """``UPDATE table SET … WHERE id = :id AND status IN (:expected)``; True if this call changed the row."""
    values = plain(changes)
    statement = _cas_statement(table, tuple(sorted(values)), len(expected))
    params = {f"v_{key}": value for key, value in values.items()}
    params["cas_id"] = row_id
    params.update({f"cas_from_{index}": status for index, status in enumerate(expected)})
    cursor = driver_execute(conn, statement, params)
    try:
        return bool(cursor.rowcount == 1)
    finally:
        cursor.close()


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
