"""Persistence: tables, engine factory, migrations, repositories and the unit of work."""

from __future__ import annotations

from ..domain import StoredNotification, UserSession
from .engine import create_engine_for, is_sqlite
from .job_queue import Job, JobQueue, JobRow
from .lanes import ThreadLane
from .migrate import current_revision, head_revision, upgrade
from .tables import metadata
from .token_cache import SqlTokenCache
from .uow import SerializedWrites, SqlStores, SqlUnitOfWork

__all__ = [
    "Job",
    "JobQueue",
    "JobRow",
    "SerializedWrites",
    "SqlStores",
    "SqlTokenCache",
    "SqlUnitOfWork",
    "StoredNotification",
    "ThreadLane",
    "UserSession",
    "create_engine_for",
    "current_revision",
    "head_revision",
    "is_sqlite",
    "metadata",
    "upgrade",
]
