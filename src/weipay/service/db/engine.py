"""Engines for SQLite (embedded default) and PostgreSQL (production).

SQLite: WAL (readers never block the writer), ``busy_timeout`` (writers queue instead of failing),
``synchronous=FULL`` (a committed notification survives power loss before we answer WeChat), and
every write transaction opens with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then
writes can fail with SQLITE_BUSY whatever the timeout (RELIABILITY item 9 / T20). pysqlite's own
transaction handling is switched off so that we emit BEGIN ourselves.

PostgreSQL: psycopg 3, READ COMMITTED; correctness comes from compare-and-set updates, row locks
and unique constraints, not from the isolation level.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

__all__ = ["READ_ONLY", "create_engine_for", "is_sqlite"]

# Execution option set on connections that only read: they BEGIN DEFERRED on SQLite.
READ_ONLY = "weipay_read_only"
_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(engine: sa.Engine) -> bool:
    """Whether ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


# Connections an API process keeps open: about as many as its threads use at once (FastAPI's 40 for plain handlers,
# the flow-step and read lanes, the notification writers). A pool smaller than that closes every connection
# returned beyond its size and opens a new one for the next checkout: under load a PostgreSQL connect and
# disconnect per transaction. The pool opens connections only as they are needed.
POOL_SIZE = 40


def create_engine_for(
    database_url: str, *, echo: bool = False, pool_size: int = POOL_SIZE, **kwargs: Any
) -> sa.Engine:
    """An engine for ``database_url`` configured for this service's locking discipline.

    ``postgresql://`` URLs are routed to psycopg 3. SQLite URLs must name a file (``sqlite:///path``).
    """
    url = sa.make_url(database_url)
    # SQLAlchemy writes a failed statement's parameters into the exception text, which tracebacks carry into
    # logs: session_keys, openids and order text must never travel that way.
    kwargs.setdefault("hide_parameters", True)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo, pool_size=pool_size, **kwargs)
    return sa.create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size // 4, pool_pre_ping=True, **kwargs
    )


def _sqlite_engine(url: sa.URL, *, echo: bool, pool_size: int, **kwargs: Any) -> sa.Engine:
    engine = sa.create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event below decides how to BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
