"""Login: exchange a code for the openid, keep the session_key server-side, hand out a token.

A mini-program's code (``wx.login``) goes to jscode2session; an official account's (the web-login redirect)
and an app's (``SendAuth``) go to OAuth's ``/sns/oauth2/access_token``. The kind of the appid decides.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from weipay.service.domain import InvalidInput, UserSession

from .flows import blocking
from .ports import Calls, Clock, Gateway, MerchantConfig, UnitOfWork

__all__ = ["LoginResult", "login", "login_flow", "session_for_token", "token_hash"]

SESSION_TTL_S = 7 * 24 * 3600
#: The kinds of app whose users log in with OAuth (a mini-program uses jscode2session).
OAUTH_KINDS = ("official_account", "app")


@dataclass(frozen=True, slots=True)
class LoginResult:
    """What the frontend gets: the openid and a bearer token (never the session_key)."""

    openid: str
    token: str

    def __repr__(self) -> str:
        return f"LoginResult(openid={self.openid!r}, token='***')"


def token_hash(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def login_flow(
    uow: UnitOfWork, gateway: Gateway, clock: Clock, merchant: MerchantConfig, appid: str, code: str
) -> Calls[LoginResult]:
    """Trade ``code`` of ``appid`` (one of the merchant's appids) for the openid and open a session."""
    kind = next((kind for kind, known in merchant.appids.items() if known == appid), None)
    if kind is None:
        raise InvalidInput("appid_not_configured", f"appid {appid[:32]!r} is not one of merchant {merchant.mchid}'s")
    if not code or len(code) > 128:
        raise InvalidInput("invalid_code", "code must be 1-128 characters")
    if kind in OAUTH_KINDS:
        answer = yield from gateway.oauth_login(merchant.mchid, appid, code)
    else:
        answer = yield from gateway.code2session(merchant.mchid, appid, code)
    now = clock()
    token = secrets.token_urlsafe(32)
    session = UserSession(
        mchid=merchant.mchid, appid=appid, openid=answer.openid, unionid=answer.unionid, created_at=now,
        expires_at=now + SESSION_TTL_S,
    )  # fmt: skip
    with uow.write() as tx:
        tx.calls.add(answer.call)
        tx.sessions.add(token_hash=token_hash(token), session=session, session_key=answer.session_key)
    return LoginResult(openid=answer.openid, token=token)


login = blocking(login_flow)


def session_for_token(uow: UnitOfWork, clock: Clock, token: str) -> UserSession | None:
    """The live session behind a bearer token, or None."""
    with uow.read() as tx:
        return tx.sessions.get(token_hash(token), clock())
