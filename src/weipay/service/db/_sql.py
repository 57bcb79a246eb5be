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

__all__ = ["compare_and_set", "insert", "insert_ignore", "is_unique_violation", "plain", "record_values", "upsert"]

_PG_UNIQUE_VIOLATION = "23505"
_SQLITE_UNIQUE = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Enums to their values, so every driver binds plain strings."""
    return {key: (value.value if isinstance(value, Enum) else value) for key, value in values.items()}


def record_values(record: Any) -> dict[str, Any]:
    """A dataclass record as column values."""
    return plain({f.name: getattr(record, f.name) for f in fields(record)})


def _insert_for(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@functools.lru_cache(maxsize=256)
def _insert_ignore_statement(dialect: str, table: sa.Table, conflict: tuple[str, ...]) -> Any:
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    # RETURNING, not rowcount: drivers disagree on rowcount for INSERT … ON CONFLICT.
    return insert.on_conflict_do_nothing(index_elements=list(conflict)).returning(sa.literal(1))


def insert_ignore(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any], conflict: list[str]) -> bool:
    """Insert one row unless it collides on ``conflict`` columns; True if a row was inserted.

    Under concurrency the loser waits for the winner's commit (PostgreSQL) or for the write lock
    (SQLite) and then inserts nothing: the unique constraint decides, not a prior SELECT.
    The statement is built once and the values bound as parameters (the notification hot path).
    """
    statement = _insert_ignore_statement(conn.dialect.name, table, tuple(conflict))
    return conn.execute(statement, plain(values)).first() is not None


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
    try:
        conn.execute(table.insert(), plain(values))
    except sa.exc.IntegrityError as error:
        if is_unique_violation(error):
            raise DuplicateRecord(f"{table.name}: a row with the same unique key exists") from error
        raise


@functools.lru_cache(maxsize=512)
def _cas_statement(table: sa.Table, keys: tuple[str, ...]) -> Any:
    return (
        table.update()
        .where(table.c.id == sa.bindparam("cas_id"), table.c.status.in_(sa.bindparam("cas_from", expanding=True)))
        .values({key: sa.bindparam(f"v_{key}") for key in keys})
    )


def compare_and_set(
    conn: sa.Connection, table: sa.Table, row_id: str, expected: list[str], changes: Mapping[str, Any]
) -> bool:
    """``UPDATE table SET … WHERE id = :id AND status IN (:expected)``; True if this call changed the row."""
    values = plain(changes)
    statement = _cas_statement(table, tuple(sorted(values)))
    params = {f"v_{key}": value for key, value in values.items()}
    params.update(cas_id=row_id, cas_from=list(expected))
    return conn.execute(statement, params).rowcount == 1


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
