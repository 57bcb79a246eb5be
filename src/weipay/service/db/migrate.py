"""Schema migrations through Alembic, with the script directory inside the installed package."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .engine import create_engine_for

__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]

_SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    if database_url is not None:
        # Escape '%' for configparser interpolation (passwords may contain it).
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> str:
    """Bring the database at ``database_url`` to ``revision``; returns the revision now current."""
    engine = create_engine_for(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
        return current_revision(engine) or ""
    finally:
        engine.dispose()


def downgrade(database_url: str, revision: str) -> str | None:
    """Take the database at ``database_url`` back to ``revision`` (``-1``: one step); the revision now current."""
    engine = create_engine_for(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
            connection.commit()
        return current_revision(engine)
    finally:
        engine.dispose()


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head
