"""The mini-program access tokens shared by every process: the SDK's ``TokenCache`` over ``wxa_access_tokens``.

Each method is one short transaction of its own (never the caller's: a token fetched for a call that then
rolls back is still a good token), and each state change is one statement, as the SDK's
:mod:`weipay.sdk.token_cache` lays out: the refresh claim is a compare-and-set on ``refresh_until_s``, so two
processes never both fetch a stable token, and ``discard`` forgets only the token that was rejected.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from weipay.sdk import AccessToken

from .engine import READ_ONLY
from .sql import insert_ignore
from .tables import wxa_access_tokens

__all__ = ["SqlTokenCache"]

_TABLE = wxa_access_tokens


class SqlTokenCache:
    """A :class:`weipay.sdk.TokenCache` in the service's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock

    def __repr__(self) -> str:
        return f"SqlTokenCache({self._engine.dialect.name})"

    def load(self, appid: str) -> AccessToken | None:
        """The stored token of ``appid``, fresh or not."""
        # A read: on SQLite it must not take the write lock (every caller loads before it calls WeChat).
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn, conn.begin():
            row = conn.execute(sa.select(_TABLE.c.value, _TABLE.c.expires_at_s).where(_TABLE.c.appid == appid)).first()
        if row is None or row.value is None or row.expires_at_s is None:
            return None
        return AccessToken(row.value, float(row.expires_at_s))

    def claim_refresh(self, appid: str, now_s: float, lease_s: float) -> bool:
        """Become the refresher of ``appid`` unless another claim is alive (compare-and-set)."""
        with self._engine.begin() as conn:
            insert_ignore(conn, _TABLE, {"appid": appid, "updated_at": self._clock()}, ["appid"])
            claimed = conn.execute(
                _TABLE.update()
                .where(_TABLE.c.appid == appid,
                       sa.or_(_TABLE.c.refresh_until_s.is_(None), _TABLE.c.refresh_until_s <= now_s))
                .values(refresh_until_s=now_s + lease_s, updated_at=self._clock())
            )  # fmt: skip
            return claimed.rowcount == 1

    def store(self, appid: str, token: AccessToken) -> None:
        """Keep the fresh token and end the claim."""
        with self._engine.begin() as conn:
            insert_ignore(conn, _TABLE, {"appid": appid, "updated_at": self._clock()}, ["appid"])
            conn.execute(_TABLE.update().where(_TABLE.c.appid == appid).values(
                value=token.value, expires_at_s=token.expires_at_s, refresh_until_s=None, updated_at=self._clock()))

    def release(self, appid: str) -> None:
        """End the claim without a token (the refresh failed)."""
        with self._engine.begin() as conn:
            conn.execute(_TABLE.update().where(_TABLE.c.appid == appid)
                         .values(refresh_until_s=None, updated_at=self._clock()))  # fmt: skip

    def discard(self, appid: str, token: AccessToken) -> None:
        """Forget ``token`` if it is still the stored one (another process may have replaced it already)."""
        with self._engine.begin() as conn:
            conn.execute(_TABLE.update().where(_TABLE.c.appid == appid, _TABLE.c.value == token.value)
                         .values(value=None, expires_at_s=None, updated_at=self._clock()))  # fmt: skip
