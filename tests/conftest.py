"""Fixtures shared by every test package.

Databases: ``database_url`` is parametrized over SQLite and PostgreSQL. PostgreSQL tests run when
``WEIPAY_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it) or ``CI=true``; otherwise they are skipped
with a message saying how to enable them. In CI they never skip: an unreachable server fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _postgres_admin_url() -> str | None:
    url = os.environ.get("WEIPAY_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        return DEFAULT_PG_URL
    return None


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """URL of a PostgreSQL server where tests may create databases, or skip (never in CI)."""
    url = _postgres_admin_url()
    if url is None:
        pytest.skip(
            "PostgreSQL tests skipped: set WEIPAY_TEST_POSTGRES_URL="
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres (or CI=true) to run them"
        )
    return url


def _fresh_postgres_database(admin_url: str) -> Iterator[str]:
    import sqlalchemy as sa

    name = f"weipay_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"PostgreSQL unreachable at {admin_url}: {exc.orig}")
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (for what only PostgreSQL supports, e.g. several API processes)."""
    yield from _fresh_postgres_database(postgres_admin_url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'weipay.sqlite3'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    yield from _fresh_postgres_database(admin_url)
