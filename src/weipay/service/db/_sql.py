"""Small helpers shared by the repositories: portable insert-or-ignore and row ↔ record mapping."""

from __future__ import annotations

import contextlib
import functools
import re
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
_NAMED_PARAM = re.compile(r"%\((\w+)\)s")

_Bound = tuple[str, Any]


def _bind(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> _Bound:
    sql, order = _driver_sql(conn.dialect, statement)
    return sql, (tuple(params[name] for name in order) if order is not None else params)


def _run(conn: sa.Connection, sql: str, bound: Any) -> Any:
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    dbapi = conn.dialect.loaded_dbapi
    try:
        cursor.execute(sql, bound)
    except dbapi.Error as error:
        cursor.close()
        raise sa.exc.DBAPIError.instance(sql, bound, error, dbapi.Error) from error
    return cursor


def _take_deferred(conn: sa.Connection) -> _Bound | None:
    """The deferred write (removed from the slot), forgetting any prefetched row: something runs now."""
    info = conn.info
    info.pop(_PREFETCHED, None)
    slot: list[_Bound] | None = info.get(_DEFERRED)
    return slot.pop() if slot else None


def driver_execute(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> Any:
    """Run a prebuilt statement on the driver's cursor; returns the open cursor (close it).

    The hot path's statements are few and fixed: compiled once per dialect, they skip SQLAlchemy's
    per-execution machinery (about 100 µs a statement, ten times the driver's own cost). Only for
    statements whose parameters need no type processing (strings, numbers, None). Driver errors come out
    as SQLAlchemy's (``IntegrityError`` …), as from ``conn.execute``. A write deferred by
    ``driver_execute_later`` runs first.
    """
    deferred = _take_deferred(conn)
    if deferred is not None:
        _run(conn, *deferred).close()
    return _run(conn, *_bind(conn, statement, params))


@functools.lru_cache(maxsize=64)
def _merged_sql(first: str, second: str) -> str:
    # PostgreSQL runs a data-modifying statement in WITH even without RETURNING: two writes, one statement.
    first, second = _NAMED_PARAM.sub(r"%(w0_\1)s", first), _NAMED_PARAM.sub(r"%(w1_\1)s", second)
    return f"WITH w0 AS ({first}) {second}"


def driver_execute_later(conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> None:
    """A write whose answer nobody reads: inside ``deferred_writes`` it waits for the next write like it.

    Two such writes in a row (the inbox outcome, then the call-log row) go to PostgreSQL as ONE statement;
    anything else that runs on the connection first sends the waiting one alone. Outside
    ``deferred_writes`` (and on SQLite) it runs now. An error surfaces at the statement that sends it; the
    transaction is then aborted anyway and the caller rolls back as for any failed statement.
    """
    slot: list[_Bound] | None = conn.info.get(_DEFERRED)
    if slot is None:
        driver_execute(conn, statement, params).close()
        return
    conn.info.pop(_PREFETCHED, None)
    sql, bound = _bind(conn, statement, params)
    if not slot:
        slot.append((sql, bound))
        return
    first_sql, first_bound = slot.pop()
    merged = {f"w0_{key}": value for key, value in first_bound.items()}
    merged.update({f"w1_{key}": value for key, value in bound.items()})
    _run(conn, _merged_sql(first_sql, sql), merged).close()


def flush_deferred(conn: sa.Connection) -> None:
    """Send the deferred write now (before a commit); raises what it raises."""
    deferred = _take_deferred(conn)
    if deferred is not None:
        _run(conn, *deferred).close()


@contextlib.contextmanager
def deferred_writes(conn: sa.Connection) -> Iterator[None]:
    """Within the block, ``driver_execute_later`` writes may wait to be merged (PostgreSQL only).

    Call ``flush_deferred`` before leaving the block normally: leaving it drops what was not sent (the
    transaction is being rolled back). SQLAlchemy-level statements send it first (``engine.py``), so
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


@functools.lru_cache(maxsize=16)
def _insert_then_lookup_sql(insert_sql: str, table: str, columns: tuple[str, ...]) -> str:
    match = " AND ".join(f"looked_up.{column} = %(lookup_{column})s" for column in columns)
    # Names and statements come from our own table metadata, never from input.
    select = "SELECT EXISTS (SELECT 1 FROM inserted) AS weipay_inserted, looked_up.* FROM (SELECT 1) AS one"
    return f"WITH inserted AS ({insert_sql}) {select} LEFT JOIN {table} AS looked_up ON {match}"


def insert_ignore_then_first(
    conn: sa.Connection,
    table: sa.Table,
    values: Mapping[str, Any],
    conflict: list[str],
    lookup_table: sa.Table,
    lookup: Mapping[str, Any],
) -> bool:
    """``insert_ignore``, and on PostgreSQL the ``lookup_table`` row matching ``lookup`` in the same statement.

    A data-modifying CTE: the insert-or-ignore and the lookup the caller makes next cost one statement.
    The row (or its absence) is kept for ``take_prefetched(conn, lookup_table, lookup)``; any other
    statement on the connection forgets it, so it is only ever handed out as the answer the very next
    statement would have given (the lookup sees the same committed rows as a statement issued right after).
    """
    if conn.dialect.name != "postgresql":
        return insert_ignore(conn, table, values, conflict)
    deferred = _take_deferred(conn)
    if deferred is not None:
        _run(conn, *deferred).close()
    insert_sql, _ = _driver_sql(
        conn.dialect, _insert_ignore_statement("postgresql", table, tuple(conflict), tuple(values))
    )
    columns = tuple(lookup)
    params = plain(values)
    params.update({f"lookup_{column}": value for column, value in lookup.items()})
    cursor = _run(conn, _insert_then_lookup_sql(insert_sql, lookup_table.name, columns), params)
    try:
        row = cursor.fetchone()
        names = [d[0] for d in cursor.description]
    finally:
        cursor.close()
    inserted = bool(row[0])
    if inserted:
        found = dict(zip(names[1:], row[1:], strict=True))
        conn.info[_PREFETCHED] = ((lookup_table.name, *lookup.items()), None if found["id"] is None else found)
    return inserted


_MISSING = object()
MISSING = _MISSING


def take_prefetched(conn: sa.Connection, table: sa.Table, lookup: Mapping[str, Any]) -> Any:
    """The row prefetched for ``lookup`` (a dict, or None for no row), or ``MISSING`` if there is none."""
    prefetched = conn.info.pop(_PREFETCHED, None)
    if prefetched is None or prefetched[0] != (table.name, *lookup.items()):
        return _MISSING
    return prefetched[1]


def flush_before_sqlalchemy(conn: sa.Connection) -> None:
    """For the engine's ``before_cursor_execute``: statements SQLAlchemy runs come after the deferred one."""
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
