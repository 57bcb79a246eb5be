"""Statements run on the driver's cursor: compiled once per dialect, bound with plain values.

The hot path's statements are few and fixed. Compiled once, they skip SQLAlchemy's per-execution
machinery (about 100 µs a statement, ten times the driver's own cost). Driver errors come out as
SQLAlchemy's (``IntegrityError`` …), as from ``conn.execute``, and never carry the bound values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.sql.expression import Executable

from weipay.service.usecases.stores import DuplicateRecord

__all__ = [
    "DialectInsert",
    "driver_execute",
    "driver_first",
    "driver_rows",
    "fetch_rows",
    "insert",
    "insert_ignore_with",
    "is_unique_violation",
    "plain",
    "plain_value",
    "raw_execute",
    "record_values",
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
def _driver_sql(dialect: sa.Dialect, statement: Executable) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
    """The driver's SQL text, its positional parameter order (qmark/format drivers), and the values of the
    constants the statement binds itself (``status == 'running'`` is a parameter too)."""
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    order = tuple(compiled.positiontup) if compiled.positional else None
    constants = {name: value for name, value in compiled.params.items() if value is not None}
    return compiled.string, order, constants


def raw_execute(conn: sa.Connection, sql: str, bound: Any) -> DBAPICursor:
    """Run driver SQL text with driver-bound values; returns the open cursor (close it)."""
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


def driver_execute(conn: sa.Connection, statement: Executable, params: Mapping[str, Any]) -> DBAPICursor:
    """Run a prebuilt statement on the driver's cursor; returns the open cursor (close it).

    Only for statements whose parameters need no type processing (strings, numbers, None).
    """
    sql, order, constants = _driver_sql(conn.dialect, statement)
    if constants:
        params = {**constants, **params}
    return raw_execute(conn, sql, tuple(params[name] for name in order) if order is not None else params)


def fetch_rows(cursor: DBAPICursor) -> list[dict[str, Any]]:
    """Every row left on ``cursor`` as column → value dicts; closes it."""
    try:
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


def driver_first(conn: sa.Connection, statement: Executable, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first row of a prebuilt SELECT as a column → value dict, or None."""
    cursor = driver_execute(conn, statement, params)
    try:
        row = cursor.fetchone()
        return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))
    finally:
        cursor.close()


def driver_rows(conn: sa.Connection, statement: Executable, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every row of a prebuilt SELECT as column → value dicts."""
    return fetch_rows(driver_execute(conn, statement, params))


def is_unique_violation(error: sa.exc.IntegrityError) -> bool:
    """True if ``error`` is a unique or primary-key collision (not a CHECK, NOT NULL or foreign-key failure)."""
    driver_error = error.orig
    if getattr(driver_error, "sqlstate", None) == _PG_UNIQUE_VIOLATION:
        return True
    return getattr(driver_error, "sqlite_errorname", None) in _SQLITE_UNIQUE


@functools.lru_cache(maxsize=256)
def _insert_statement(table: sa.Table, keys: tuple[str, ...]) -> Executable:
    return table.insert().values({key: sa.bindparam(key) for key in keys})


#: A dialect's ``insert(table)`` (``sqlalchemy.dialects.postgresql.insert`` or ``…sqlite.insert``): both spell
#: ``ON CONFLICT`` the same way.
DialectInsert = Callable[[sa.Table], Any]


@functools.lru_cache(maxsize=256)
def _insert_ignore(
    dialect_insert: DialectInsert, table: sa.Table, conflict: tuple[str, ...], keys: tuple[str, ...]
) -> Executable:
    statement = dialect_insert(table).values({key: sa.bindparam(key) for key in keys})
    # RETURNING, not rowcount: drivers disagree on rowcount for INSERT … ON CONFLICT.
    ignoring: Executable = statement.on_conflict_do_nothing(index_elements=list(conflict)).returning(
        sa.literal_column("1")
    )
    return ignoring


def insert_ignore_with(
    dialect_insert: DialectInsert, conn: sa.Connection, table: sa.Table, values: Mapping[str, Any],
    conflict: Sequence[str],
) -> bool:  # fmt: skip
    """Insert one row unless it collides on ``conflict``; True if inserted (one prebuilt statement per shape)."""
    statement = _insert_ignore(dialect_insert, table, tuple(conflict), tuple(values))
    return driver_first(conn, statement, plain(values)) is not None


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
