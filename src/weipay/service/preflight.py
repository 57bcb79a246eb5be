"""Checks ``weipay serve`` and ``weipay worker`` run before they start, so a wrong setup stops them at once.

Without them a service with no merchants answers ``/healthz`` ok and takes no payment, and one on an
unmigrated database starts and then fails every request with a 500. Each refusal is a :class:`NotReady`
whose message says what is wrong and the command that fixes it; the CLI prints it without a traceback.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from .db.engine import create_engine_for
from .db.migrate import alembic_config, current_revision
from .settings import Settings

__all__ = ["NotReady", "check_schema", "printable_url", "require_merchants"]


class NotReady(Exception):
    """The process must not start; the message says why and what to run."""


def require_merchants(settings: Settings, *, command: str) -> None:
    """:class:`NotReady` when no merchant is configured (``weipay serve`` with no configuration at all)."""
    if not settings.merchants:
        raise NotReady(
            f"{command}: no merchants configured, so no payment could be taken. Give a configuration with at "
            "least one [[merchants]] table (--config FILE or WEIPAY_CONFIG, or WEIPAY_MERCHANTS__0__MCHID=… "
            "variables; see docs/service.md#configuration). To try weipay without one, run `weipay demo`."
        )


def check_schema(database_url: str, *, command: str, config_hint: str) -> None:
    """:class:`NotReady` unless the database answers and its Alembic revision is this package's head."""
    where = printable_url(database_url)
    upgrade = " ".join(part for part in ("weipay db upgrade", config_hint) if part)
    missing_file = _missing_sqlite_file(database_url)
    if missing_file is not None:
        raise NotReady(f"{command}: the SQLite database {missing_file} does not exist; create it with `{upgrade}`")
    engine = create_engine_for(database_url, pool_size=1)
    try:
        current = current_revision(engine)
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise NotReady(
            f"{command}: cannot reach the database {where}: {reason}. Check database_url and that the server runs."
        ) from None
    finally:
        engine.dispose()
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    if current == head:
        return
    if current is None:
        raise NotReady(f"{command}: the database {where} has no weipay schema yet (head is {head}); run `{upgrade}`")
    try:
        scripts.get_revision(current)
    except CommandError:
        raise NotReady(
            f"{command}: the database {where} is at revision {current}, which this weipay does not know: a newer "
            "release migrated it. Run that release, or roll the schema back with it before starting this one."
        ) from None
    raise NotReady(f"{command}: the database {where} is at revision {current}, behind {head}; run `{upgrade}`")


def printable_url(database_url: str) -> str:
    """The URL with its password masked (it may appear in a terminal or a log)."""
    try:
        return sa.make_url(database_url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(an unparsable database_url)"


def _missing_sqlite_file(database_url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names when it does not exist (connecting would create it empty)."""
    try:
        url = sa.make_url(database_url)
    except sa.exc.ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return None if path.exists() else path
