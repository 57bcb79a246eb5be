"""Who is calling: a merchant backend (API key) or a mini-program user (login token).

Both arrive as ``Authorization: Bearer <secret>``. Only hashes are looked up: merchant keys from the
settings (hashed once at startup), then stored API keys and user sessions in the database. A user principal may act
only on orders whose payer is that user; the check lives in :meth:`Principal.require_owner`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

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

    def __init__(self, settings: Settings, lookup_stored: Callable[[str], Principal | None]) -> None:
        self._merchant_by_key_hash: dict[str, str] = {}
        for merchant in settings.merchants:
            for digest in merchant.api_key_hashes():
                self._merchant_by_key_hash[digest] = merchant.mchid
        self._lookup_stored = lookup_stored

    def authenticate(self, request: Request) -> Principal:
        """The caller, or 401 with a uniform message (no hint whether the key or token was close)."""
        secret_hash = hash_api_key(bearer_token(request))
        mchid = self._merchant_by_key_hash.get(secret_hash)
        if mchid is not None:
            return Principal("merchant", frozenset({mchid}))
        principal = self._lookup_stored(secret_hash)
        if principal is None:
            raise ApiError(401, "unauthorized", "unknown API key or login token")
        return principal
