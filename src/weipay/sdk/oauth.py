"""Official-account (公众号) web login, and app login: WeChat's OAuth ``code`` → ``openid``.

A page inside WeChat sends the user to :func:`authorize_url`; WeChat redirects back to ``redirect_uri`` with
``?code=…&state=…`` (``snsapi_base``: silently; ``snsapi_userinfo``: after the user agrees). The server trades
the code with :class:`OAuthAccessToken`::

    GET https://api.weixin.qq.com/sns/oauth2/access_token?appid=…&secret=…&code=…&grant_type=authorization_code

An app's WeChat login (``SendAuth``) hands its code to the same endpoint. A code works once and for about five
minutes. The query carries the app secret and the answer carries the user's web access token: clients never log
the query, and :class:`OAuthToken`'s repr hides both tokens. Errors arrive as HTTP 200 with ``errcode``; they
become :class:`~weipay.sdk.errors.WeChatRefused` with a readable ``code`` (``INVALID_CODE`` 40029,
``CODE_BEEN_USED`` 40163, ``INVALID_APPSECRET`` 40125, ``INVALID_APPID`` 40013, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode, urlsplit

from ._wxa import json_object
from .access_token import app_secret
from .errors import ConfigurationError, ProtocolError, WeChatRefused
from .miniprogram import ERRCODE_NAMES
from .operation import Api, Context, HttpRequest, HttpResponse

__all__ = ["OAUTH_BASE_URL", "OAUTH_ERRCODE_NAMES", "OAuthAccessToken", "OAuthToken", "Scope", "authorize_url"]

OAUTH_BASE_URL = "https://open.weixin.qq.com"
Scope = Literal["snsapi_base", "snsapi_userinfo"]
_SCOPES = ("snsapi_base", "snsapi_userinfo")
# WeChat passes state back untouched but accepts only these characters, at most 128 of them.
_STATE = re.compile(r"[A-Za-z0-9]{0,128}")

#: The OAuth errcodes, named (login's names, plus what only this endpoint answers).
OAUTH_ERRCODE_NAMES = {
    **ERRCODE_NAMES,
    40013: "INVALID_APPID",
    40002: "INVALID_GRANT_TYPE",
    41008: "MISSING_CODE",
    50001: "API_UNAUTHORIZED",  # the account may not use this scope (unverified official account)
}


def authorize_url(
    appid: str, redirect_uri: str, scope: Scope = "snsapi_base", state: str = "", *, base_url: str = OAUTH_BASE_URL
) -> str:
    """Where to send the user (inside WeChat) so WeChat redirects to ``redirect_uri`` with a code.

    The parameters go in the order WeChat's documentation gives (it says the order matters), ``redirect_uri``
    percent-encoded as a whole, ending with ``#wechat_redirect``. ``state`` (letters and digits, at most 128)
    comes back with the code: bind it to the user's browser session to refuse forged redirects. ``base_url``
    points at the simulator in tests. ``redirect_uri``'s host must be the account's configured web-login domain
    (网页授权域名), or WeChat shows an error page instead of redirecting.
    """
    if not appid or not isinstance(appid, str) or len(appid) > 32:
        raise ConfigurationError("appid must be the official account's appid (1-32 characters)")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or "#" in redirect_uri:
        raise ConfigurationError("redirect_uri must be an absolute http(s) URL without a #fragment")
    if scope not in _SCOPES:
        raise ConfigurationError(f"scope must be snsapi_base or snsapi_userinfo, got {scope!r}")
    if not isinstance(state, str) or _STATE.fullmatch(state) is None:
        raise ConfigurationError("state must be at most 128 letters or digits")
    query = (
        f"appid={quote(appid, safe='')}&redirect_uri={quote(redirect_uri, safe='')}"
        f"&response_type=code&scope={scope}" + (f"&state={state}" if state else "")
    )
    return f"{base_url.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"


@dataclass(frozen=True, slots=True, repr=False)
class OAuthToken:
    """The user behind an OAuth code.

    ``access_token`` (the user's web access token, for ``/sns/userinfo`` with ``snsapi_userinfo``) and
    ``refresh_token`` are secrets: keep them server-side, never log them. ``unionid`` is present when the
    account is bound to an Open Platform account; ``is_snapshot_user`` when the user only viewed a snapshot page
    (朋友圈快照页) and has no real openid consent yet.
    """

    openid: str
    scope: str
    access_token: str
    refresh_token: str
    expires_in_s: int
    unionid: str | None = None
    is_snapshot_user: bool = False

    def __repr__(self) -> str:
        return (
            f"OAuthToken(openid={self.openid!r}, scope={self.scope!r}, unionid={self.unionid!r}, "
            f"expires_in_s={self.expires_in_s}, access_token=<redacted>, refresh_token=<redacted>)"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class OAuthAccessToken:
    """Operation: exchange the OAuth ``code`` of app ``appid`` (official account or app) for an :class:`OAuthToken`.

    The app secret is the one in ``credentials.app_secrets`` under the kind whose appid is ``appid``.
    """

    appid: str
    code: str

    def __repr__(self) -> str:
        return f"OAuthAccessToken(appid={self.appid!r}, code=<redacted>)"

    def build(self, ctx: Context) -> HttpRequest:
        """``GET /sns/oauth2/access_token`` on the login host; idempotent (a used code just fails again)."""
        if not self.code or len(self.code) > 128:
            raise ConfigurationError("code must be the 1-128 character code WeChat redirected with")
        query = urlencode(
            {
                "appid": self.appid,
                "secret": app_secret(ctx, self.appid),
                "code": self.code,
                "grant_type": "authorization_code",
            }
        )
        return HttpRequest(Api.LOGIN, "GET", f"/sns/oauth2/access_token?{query}", idempotent=True)

    def parse(self, response: HttpResponse, ctx: Context) -> OAuthToken:
        """The token, or ``WeChatRefused`` with the errcode's name."""
        if response.status != 200:
            raise WeChatRefused(
                f"HTTP_{response.status}", "login host answered with an error status", status=response.status
            )
        data = json_object(response.body, "oauth2/access_token")
        errcode = data.get("errcode", 0)
        if errcode not in (0, None):
            code = OAUTH_ERRCODE_NAMES.get(errcode, f"ERRCODE_{errcode}") if isinstance(errcode, int) else "ERRCODE"
            raise WeChatRefused(code, str(data.get("errmsg", "")), status=200, detail={"errcode": errcode})
        openid, access_token = data.get("openid"), data.get("access_token")
        if not isinstance(openid, str) or not openid or not isinstance(access_token, str) or not access_token:
            raise ProtocolError("oauth2/access_token answer lacks openid or access_token")
        unionid, expires_in = data.get("unionid"), data.get("expires_in")
        return OAuthToken(
            openid=openid,
            scope=str(data.get("scope") or ""),
            access_token=access_token,
            refresh_token=str(data.get("refresh_token") or ""),
            expires_in_s=expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else 7200,
            unionid=unionid if isinstance(unionid, str) and unionid else None,
            is_snapshot_user=data.get("is_snapshotuser") == 1,
        )
