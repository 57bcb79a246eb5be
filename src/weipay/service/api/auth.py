"""Who is calling: a merchant backend (API key) or a mini-program user (login token).

Both arrive as ``Authorization: Bearer <secret>``. Only hashes are looked up: merchant keys from the
settings (hashed once at startup), then stored API keys and user sessions in the database. A user principal may act
only on orders whose payer is that user; the check lives in :meth:`Principal.require_owner`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from anyio import to_thread
from starlette.requests import Request

from ..db import SqlUnitOfWork
from ..operators import check_credentials
from ..settings import Settings, hash_api_key
from .errors import ApiError

__all__ = ["Authenticator", "Principal", "bearer_token"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    kind: Literal["merchant", "user"]
    mchids: frozenset[str]
    openid: str | None = None
    appid: str | None = None

    @property
    def is_merchant(self) -> bool:
        """A merchant backend (may do everything for its mchid)."""
        return self.kind == "merchant"

    def require_merchant(self) -> None:
        """Refuse users on merchant-only endpoints (refunds, approvals, call log)."""
        if not self.is_merchant:
            raise ApiError(403, "merchant_only", "this endpoint needs a merchant API key")

    def require_access(self, mchid: str, payer_openid: str | None) -> None:
        """Refuse callers that do not own the order (404 for other merchants, so ids do not leak)."""
        if mchid not in self.mchids:
            raise ApiError(404, "order_not_found", "no such order")
        if not self.is_merchant and payer_openid != self.openid:
            raise ApiError(403, "order_not_owned", "this order belongs to another user")


def bearer_token(request: Request) -> str:
    """The bearer secret, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <api key or login token>")
    return token.strip()


class Authenticator:
    """Resolves bearer secrets to principals: configured merchant keys first, then the database."""

    def __init__(self, settings: Settings, uow: SqlUnitOfWork, clock: Callable[[], float]) -> None:
        self._merchant_by_key_hash: dict[str, str] = {}
        for merchant in settings.merchants:
            for digest in merchant.api_key_hashes():
                self._merchant_by_key_hash[digest] = merchant.mchid
        self._admin = settings.admin
        self._uow = uow
        self._clock = clock

    def authenticate(self, request: Request) -> Principal:
        """The caller, or 401 with a uniform message (no hint whether the key or token was close)."""
        secret_hash = hash_api_key(bearer_token(request))
        return self._configured(secret_hash) or _known(self._stored(secret_hash))

    async def authenticate_async(self, request: Request) -> Principal:
        """:meth:`authenticate` for async handlers: a configured key is known without I/O; a stored key or a user's
        session is read on a worker thread."""
        secret_hash = hash_api_key(bearer_token(request))
        return self._configured(secret_hash) or _known(await to_thread.run_sync(self._stored, secret_hash))

    def job_scope(self, request: Request) -> frozenset[str] | None:
        """Whose jobs the caller may see: None (all) for an admin key, else the merchant key's mchids."""
        token = bearer_token(request)
        if check_credentials(self._admin, api_key=token) is not None:
            return None
        principal = self.authenticate(request)
        principal.require_merchant()
        return principal.mchids

    def _configured(self, secret_hash: str) -> Principal | None:
        mchid = self._merchant_by_key_hash.get(secret_hash)
        return Principal("merchant", frozenset({mchid})) if mchid is not None else None

    def _stored(self, secret_hash: str) -> Principal | None:
        """A merchant API key or a mini-program user's session kept in the database."""
        with self._uow.read() as tx:
            mchid = tx.api_keys.mchid_for(secret_hash)
            if mchid is not None:
                return Principal("merchant", frozenset({mchid}))
            session = tx.sessions.get(secret_hash, self._clock())
        if session is None:
            return None
        return Principal("user", frozenset({session.mchid}), openid=session.openid, appid=session.appid)


def _known(principal: Principal | None) -> Principal:
    if principal is None:
        raise ApiError(401, "unauthorized", "unknown API key or login token")
    return principal
