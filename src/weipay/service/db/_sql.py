"""Small helpers shared by the repositories: portable insert-or-ignore and row ↔ record mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_ignore", "plain", "upsert"]


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


def insert_ignore(conn: sa.Connection, table: sa.Table, values: Mapping[str, Any], conflict: list[str]) -> bool:
    """Insert one row unless it collides on ``conflict`` columns; True if a row was inserted.

    Under concurrency the loser waits for the winner's commit (PostgreSQL) or for the write lock
    (SQLite) and then inserts nothing: the unique constraint decides, not a prior SELECT.
    """
    statement = _insert_for(conn, table).values(plain(values)).on_conflict_do_nothing(index_elements=conflict)
    # RETURNING, not rowcount: drivers disagree on rowcount for INSERT … ON CONFLICT.
    return conn.execute(statement.returning(sa.literal(1))).first() is not None


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
