"""Console sessions: an operator logs in, each request finds the session by its cookie, logging out ends it.

The cookie carries a random token; only its SHA-256 is stored, so a copy of the table opens no session. Ending
a session deletes its row: a cookie copied before the logout is worthless after it.
"""

from __future__ import annotations

import hashlib
import secrets

from .ports import Clock, UnitOfWork
from .stores import OperatorSession

__all__ = ["OPERATOR_SESSION_TTL_S", "end_operator_session", "find_operator_session", "start_operator_session"]

OPERATOR_SESSION_TTL_S = 8 * 3600  # a working day
_TOKEN_MAX_CHARS = 128


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_operator_session(
    uow: UnitOfWork, clock: Clock, operator: str, *, ttl_s: float = OPERATOR_SESSION_TTL_S
) -> tuple[str, OperatorSession]:
    """A new session for ``operator``: the token for its cookie, and the stored session (expired ones are purged)."""
    token = secrets.token_urlsafe(32)
    now = clock()
    session = OperatorSession(session_hash=_hash(token), operator=operator[:64], created_at=now,
                              expires_at=now + ttl_s)  # fmt: skip
    with uow.write() as tx:
        tx.operator_sessions.purge_expired(now)
        tx.operator_sessions.add(session)
    return token, session


def find_operator_session(uow: UnitOfWork, clock: Clock, token: str | None) -> OperatorSession | None:
    """The live session behind a cookie's token, or None (no token, unknown, expired or ended)."""
    if not token or len(token) > _TOKEN_MAX_CHARS:
        return None
    with uow.read() as tx:
        return tx.operator_sessions.get(_hash(token), clock())


def end_operator_session(uow: UnitOfWork, session_hash: str) -> bool:
    """End the session (logout); True if it was live."""
    with uow.write() as tx:
        return tx.operator_sessions.end(session_hash)
