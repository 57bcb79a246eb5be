"""Small helpers shared by the repositories: portable insert-or-ignore and row ↔ record mapping."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping
from dataclasses import fields
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from weipay.service.usecases.stores import DuplicateRecord

__all__ = [
    "MISSING",
    "compare_and_set",
    "deferred_writes",
    "driver_execute",
    "driver_execute_later",
    "driver_first",
    "flush_before_sqlalchemy",
    "flush_deferred",
    "insert",
    "insert_ignore",
    "insert_ignore_then_first",
    "insert_later",
    "is_unique_violation",
    "plain",
    "record_values",
    "take_prefetched",
    "upsert",
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


# Keys in the pooled connection's ``info`` (see ``deferred_writes`` and ``insert_ignore_then_first``).
_DEFERRED = "weipay_deferred"
_PREFETCHED = "weipay_prefetched"

_Bound = tuple[str, Any]


def _bind(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> _Bound:
    sql, order = _driver_sql(conn.dialect, statement)
    return sql, (tuple(params[name] for name in order) if order is not None else params)


def _run(conn: sa.Connection, items: list[_Bound]) -> list[Any]:
    """Run ``items`` on the driver in order; one round trip for all of them on PostgreSQL (pipeline mode)."""
    dbapi_conn: Any = conn.connection.dbapi_connection
    dbapi = conn.dialect.loaded_dbapi
    cursors: list[Any] = []
    try:
        if len(items) == 1:
            cursors.append(dbapi_conn.cursor())
            cursors[0].execute(*items[0])
        else:
            # psycopg 3 pipeline mode: the statements are sent back to back and the results read at the
            # end of the block, so statements whose answers are not needed in between cost no round trip.
            with dbapi_conn.pipeline():
                for sql, bound in items:
                    cursors.append(dbapi_conn.cursor())
                    cursors[-1].execute(sql, bound)
    except dbapi.Error as error:
        for cursor in cursors:
            cursor.close()
        sql, bound = items[-1] if len(items) == 1 else (" ; ".join(sql for sql, _ in items), None)
        raise sa.exc.DBAPIError.instance(sql, bound, error, dbapi.Error) from error
    return cursors


def _pending(conn: sa.Connection) -> list[_Bound]:
    """Deferred statements to send first (emptied), and forget any prefetched row: something runs now."""
    info = conn.info
    info.pop(_PREFETCHED, None)
    deferred: list[_Bound] | None = info.get(_DEFERRED)
    if not deferred:
        return []
    items = list(deferred)
    deferred.clear()
    return items


def driver_execute(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> Any:
    """Run a prebuilt statement on the driver's cursor; returns the open cursor (close it).

    The hot path's statements are few and fixed: compiled once per dialect, they skip SQLAlchemy's
    per-execution machinery (about 100 µs a statement, ten times the driver's own cost). Only for
    statements whose parameters need no type processing (strings, numbers, None). Driver errors come out
    as SQLAlchemy's (``IntegrityError`` …), as from ``conn.execute``. Statements deferred by
    ``driver_execute_later`` go first, in the same round trip.
    """
    cursors = _run(conn, [*_pending(conn), _bind(conn, statement, params)])
    for cursor in cursors[:-1]:
        cursor.close()
    return cursors[-1]


def driver_execute_later(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> None:
    """Run a write whose result nobody reads: inside ``deferred_writes`` it rides with the next statement.

    Outside ``deferred_writes`` (and on SQLite, where a statement costs no round trip) it runs now.
    An error it raises surfaces at the next statement or at ``flush_deferred``; the transaction is then
    aborted anyway, so the caller rolls back as for any failed statement.
    """
    deferred: list[_Bound] | None = conn.info.get(_DEFERRED)
    if deferred is None:
        driver_execute(conn, statement, params).close()
    else:
        conn.info.pop(_PREFETCHED, None)
        deferred.append(_bind(conn, statement, params))


def flush_deferred(conn: sa.Connection) -> None:
    """Send the deferred writes now (before a commit): one round trip; raises what they raise."""
    items = _pending(conn)
    if items:
        for cursor in _run(conn, items):
            cursor.close()


@contextlib.contextmanager
def deferred_writes(conn: sa.Connection) -> Iterator[None]:
    """Within the block, ``driver_execute_later`` statements wait for the next round trip (PostgreSQL only).

    Call ``flush_deferred`` before leaving the block normally: leaving it drops what was not sent (the
    transaction is being rolled back). SQLAlchemy-level statements flush them first (``engine.py``), so
    the order of statements on the connection is the order the code issued them.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.info[_DEFERRED] = []
    try:
        yield
    finally:
        conn.info.pop(_DEFERRED, None)
        conn.info.pop(_PREFETCHED, None)


def insert_ignore_then_first(
    conn: sa.Connection,
    table: sa.Table,
    values: Mapping[str, Any],
    conflict: list[str],
    lookup: Any,
    lookup_params: Mapping[str, Any],
    key: tuple[Any, ...],
) -> bool:
    """``insert_ignore``, and on PostgreSQL the row ``lookup`` will be asked for next, in the same round trip.

    The row is kept for ``take_prefetched(conn, key)``; any other statement on the connection forgets it,
    so it is only ever handed out as the answer the very next statement would have given.
    """
    if conn.dialect.name != "postgresql":
        return insert_ignore(conn, table, values, conflict)
    statement = _insert_ignore_statement(conn.dialect.name, table, tuple(conflict), tuple(values))
    items = [*_pending(conn), _bind(conn, statement, plain(values)), _bind(conn, lookup, lookup_params)]
    cursors = _run(conn, items)
    try:
        inserted = cursors[-2].fetchone() is not None
        if inserted:
            row = cursors[-1].fetchone()
            found = None if row is None else dict(zip([d[0] for d in cursors[-1].description], row, strict=True))
            conn.info[_PREFETCHED] = (key, found)
        return inserted
    finally:
        for cursor in cursors:
            cursor.close()


_MISSING = object()


def take_prefetched(conn: sa.Connection, key: tuple[Any, ...]) -> Any:
    """The row prefetched under ``key`` (a dict, or None for no row), or ``MISSING`` if there is none."""
    prefetched = conn.info.pop(_PREFETCHED, None)
    if prefetched is None or prefetched[0] != key:
        return _MISSING
    return prefetched[1]


MISSING = _MISSING


def flush_before_sqlalchemy(conn: sa.Connection) -> None:
    """For the engine's ``before_cursor_execute``: statements SQLAlchemy runs come after the deferred ones."""
    info = conn.info
    if info.get(_PREFETCHED) is not None or info.get(_DEFERRED):
        flush_deferred(conn)


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


def insert_later(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any]) -> None:
    """Insert one row into a table without unique keys, deferred like ``driver_execute_later``."""
    values = plain(values)
    driver_execute_later(conn, _insert_statement(table, tuple(values)), values)


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
