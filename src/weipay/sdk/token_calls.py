"""Calling mini-program server APIs with a cached access token, from sync and async code alike.

:func:`call_with_access_token` (and its awaitable twin :func:`acall_with_access_token`) run one flow:

1. take the app's token from the :class:`~weipay.sdk.token_cache.TokenCache` while it has more than
   ``refresh_margin_s`` to live (5 minutes by default: WeChat's normal-mode stable token rotates 5 minutes
   before expiry, so asking earlier would only return the same token);
2. otherwise claim the refresh: one caller fetches :class:`~weipay.sdk.access_token.StableToken` while
   the others pause and re-read the cache (single flight, across processes when the cache is shared);
3. send the operation with the token; if WeChat rejects the token (40001, 40014, 42001 →
   :class:`~weipay.sdk.errors.AccessTokenRejected`), discard it, get a fresh one, and send once more. A
   normal-mode refresh that returns the very token WeChat rejected is followed by one forced refresh.

Like every SDK flow it yields steps that :class:`~weipay.sdk.Client` and :class:`~weipay.sdk.AsyncClient`
drive; nothing here blocks a thread or an event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from ._base import BaseClient
from ._flow import Flow, Pause
from .access_token import AccessToken, StableToken
from .async_client import AsyncClient
from .client import Client
from .errors import AccessTokenRejected, ConfigurationError, WeChatPayError
from .operation import Context, HttpRequest, HttpResponse, Operation
from .token_cache import TokenCache

__all__ = [
    "REFRESH_MARGIN_S",
    "TokenOperation",
    "acall_with_access_token",
    "call_with_access_token",
    "with_access_token",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: Refresh a token this long before it expires (WeChat rotates the stable token 5 minutes early).
REFRESH_MARGIN_S = 300.0
#: How long a refresh claim lives: a refresher that died frees the claim after this.
REFRESH_LEASE_S = 30.0
#: How often a caller waiting for another's refresh re-reads the cache, and how long it waits at most
#: before fetching a token itself.
REFRESH_POLL_S = 0.02
MAX_REFRESH_WAIT_S = 15.0


class TokenOperation(Protocol[T_co]):
    """An operation of the mini-program server API: like :class:`~weipay.sdk.Operation`, plus a token.

    ``appid`` names the app whose access token authenticates the call.
    """

    @property
    def appid(self) -> str:
        """The mini-program whose token the call uses."""
        ...

    def build_with_token(self, ctx: Context, access_token: str) -> HttpRequest:
        """The request to send, carrying ``access_token``."""
        ...

    def parse(self, response: HttpResponse, ctx: Context) -> T_co:
        """The typed result; raises ``AccessTokenRejected`` / ``WeChatRefused`` / ``ProtocolError``."""
        ...


@dataclass(frozen=True, slots=True, repr=False)
class _WithToken(Generic[T]):
    operation: TokenOperation[T]
    access_token: str

    def __repr__(self) -> str:
        return f"with_access_token({self.operation!r}, <redacted>)"

    def build(self, ctx: Context) -> HttpRequest:
        return self.operation.build_with_token(ctx, self.access_token)

    def parse(self, response: HttpResponse, ctx: Context) -> T:
        try:
            return self.operation.parse(response, ctx)
        except WeChatPayError as exc:
            # WeChat's errmsg is copied into the error; make sure it never carries the token back out.
            _scrub(exc, self.access_token)
            raise


def with_access_token(operation: TokenOperation[T], access_token: str | AccessToken) -> Operation[T]:
    """``operation`` bound to a token you manage yourself, ready for ``client.call``."""
    value = access_token.value if isinstance(access_token, AccessToken) else access_token
    if not value:
        raise ConfigurationError("access_token is empty")
    return _WithToken(operation, value)


def call_with_access_token(
    client: Client, operation: TokenOperation[T], tokens: TokenCache, *, refresh_margin_s: float = REFRESH_MARGIN_S
) -> T:
    """Run ``operation`` with the app's token from ``tokens``, refreshing and retrying as described above."""
    return client._drive(_token_call_flow(client, operation, tokens, refresh_margin_s))


async def acall_with_access_token(
    client: AsyncClient,
    operation: TokenOperation[T],
    tokens: TokenCache,
    *,
    refresh_margin_s: float = REFRESH_MARGIN_S,
) -> T:
    """:func:`call_with_access_token` for :class:`~weipay.sdk.AsyncClient`."""
    return await client._drive(_token_call_flow(client, operation, tokens, refresh_margin_s))


def _token_call_flow(
    client: BaseClient, operation: TokenOperation[T], tokens: TokenCache, refresh_margin_s: float
) -> Flow[T]:
    token = yield from _token_flow(client, operation.appid, tokens, refresh_margin_s, rejected=None)
    try:
        return (yield from client._call_flow(_WithToken(operation, token.value)))
    except AccessTokenRejected as rejected:
        client._logger.info("access token of %s rejected (%s); refreshing once", operation.appid, rejected.code)
    token = yield from _token_flow(client, operation.appid, tokens, refresh_margin_s, rejected=token)
    return (yield from client._call_flow(_WithToken(operation, token.value)))


def _token_flow(
    client: BaseClient, appid: str, tokens: TokenCache, margin_s: float, *, rejected: AccessToken | None
) -> Flow[AccessToken]:
    """A token fresh enough to use, fetched by at most one caller at a time."""
    if rejected is not None:
        tokens.discard(appid, rejected)
    waited_s = 0.0
    while True:
        now_s = client._clock()
        stored = tokens.load(appid)
        if stored is not None and stored.fresh_at(now_s, margin_s) and not _same(stored, rejected):
            return stored
        # Past the longest wait we fetch regardless: a stuck cache must not stop every call.
        if tokens.claim_refresh(appid, now_s, REFRESH_LEASE_S) or waited_s >= MAX_REFRESH_WAIT_S:
            break
        yield Pause(REFRESH_POLL_S)
        waited_s += REFRESH_POLL_S
    try:
        fresh = yield from client._call_flow(StableToken(appid))
        if _same(fresh, rejected):
            fresh = yield from client._call_flow(StableToken(appid, force_refresh=True))
    except BaseException:  # GeneratorExit too: a cancelled call must not hold the claim until its lease ends
        tokens.release(appid)
        raise
    tokens.store(appid, fresh)
    return fresh


def _same(token: AccessToken, other: AccessToken | None) -> bool:
    return other is not None and token.value == other.value


def _scrub(exc: WeChatPayError, secret: str) -> None:
    exc.args = tuple(arg.replace(secret, "<redacted>") if isinstance(arg, str) else arg for arg in exc.args)
    exc.message = exc.message.replace(secret, "<redacted>")
