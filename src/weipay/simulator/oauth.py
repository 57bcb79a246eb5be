"""Official-account web login (网页授权) and app login: WeChat's OAuth, from the authorize page to the openid.

- ``GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state`` plays open.weixin.qq.com
  inside WeChat: ``snsapi_base`` redirects at once (``302`` to ``redirect_uri?code=…&state=…``);
  ``snsapi_userinfo`` first shows the consent page, whose Allow link redirects with a code and whose Deny link
  redirects with ``state`` only, as WeChat does. The browsing WeChat user is the simulator-only ``user``
  parameter (default ``payer``). Bad input gets WeChat's error page (HTTP 400 here) with its errcode: 10016 not an
  official account's appid, 10011 bad ``redirect_uri``, 10005 bad ``scope``, 10008 ``response_type`` not code.
- ``GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code`` (api.weixin.qq.com) trades a
  code for the openid. Errors are HTTP 200 ``{"errcode", "errmsg": "… rid: …"}``: 41002/41004/41008 missing
  appid/secret/code, 40002 invalid grant_type, 40013 not an official account's or app's appid, 40125 invalid
  appsecret, 40029 invalid code (unknown, expired, another app's), 40163 code been used.

Codes are single use and live five minutes of wall time, like login codes; the control API mints them too
(``POST /simulator/oauth-codes``), which is how an app's login (``SendAuth``) is played.
"""

from __future__ import annotations

import hmac
import html
import secrets
from urllib.parse import urlencode, urlsplit, urlunsplit

from .http_messages import SimRequest, SimResponse
from .ledger import OAuthCode
from .state import SimulatorState

__all__ = ["AUTHORIZE_PATH", "CODE_TTL_S", "OAUTH_KINDS", "SCOPES", "access_token", "authorize", "mint_oauth_code"]

AUTHORIZE_PATH = "/connect/oauth2/authorize"
CODE_TTL_S = 300.0
SCOPES = ("snsapi_base", "snsapi_userinfo")
#: The kinds of app whose codes ``/sns/oauth2/access_token`` trades (a mini-program uses jscode2session).
OAUTH_KINDS = ("official_account", "app")
_TOKEN_TTL_S = 7200


def _error(errcode: int, errmsg: str) -> SimResponse:
    return SimResponse.json(200, {"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(12)}"})


def _error_page(errcode: int, message: str) -> SimResponse:
    body = (f"<!doctype html><html lang='zh'><meta charset='utf-8'><title>微信网页授权</title>"
            f"<body><h1>{html.escape(message)}</h1><p>errcode: {errcode}</p></body></html>")
    return SimResponse.text(400, body, "text/html; charset=utf-8")


def _kind(sim: SimulatorState, appid: str) -> str | None:
    return next((kind for kind, known in sim.account["appids"].items() if known == appid), None)


def mint_oauth_code(sim: SimulatorState, appid: str, user: str, scope: str) -> OAuthCode:
    """A fresh single-use code for ``user`` of ``appid`` with ``scope`` (what the redirect carries)."""
    code = OAuthCode(code=secrets.token_urlsafe(24), appid=appid, user=user, openid=sim.openid_for(appid, user),
                     scope=scope, used=0, created_at=sim.wall_now())
    sim.ledger.add_oauth_code(code)
    return code


def _redirect(redirect_uri: str, **params: str) -> SimResponse:
    parts = urlsplit(redirect_uri)
    query = "&".join(filter(None, (parts.query, urlencode(params))))
    return SimResponse(302, {"location": urlunsplit(parts._replace(query=query, fragment=""))})


def _consent_page(request: SimRequest, appid: str) -> SimResponse:
    base = f"{AUTHORIZE_PATH}?{request.query}"
    allow, deny = html.escape(base + "&decision=allow"), html.escape(base + "&decision=deny")
    body = (f"<!doctype html><html lang='zh'><meta charset='utf-8'><title>微信授权登录</title><body>"
            f"<h1>授权登录</h1><p>{html.escape(appid)} 申请获得你的昵称、头像</p>"
            f"<p><a id='allow' href='{allow}'>允许</a> <a id='deny' href='{deny}'>拒绝</a></p></body></html>")
    return SimResponse.text(200, body, "text/html; charset=utf-8")


def authorize(sim: SimulatorState, request: SimRequest) -> SimResponse:
    """Answer ``/connect/oauth2/authorize``: redirect with a code, show the consent page, or an error page."""
    query = request.query_params()
    appid, redirect_uri, scope = query.get("appid", ""), query.get("redirect_uri", ""), query.get("scope", "")
    if _kind(sim, appid) != "official_account":
        return _error_page(10016, "appid 参数错误：不是公众号的 appid")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _error_page(10011, "redirect_uri 参数错误")
    if scope not in SCOPES:
        return _error_page(10005, "scope 参数错误或没有 scope 权限")
    if query.get("response_type") != "code":
        return _error_page(10008, "请求参数格式错误：response_type 必须为 code")
    state = query.get("state", "")
    decision = query.get("decision", "")
    if scope == "snsapi_userinfo" and decision not in ("allow", "deny"):
        return _consent_page(request, appid)
    if decision == "deny":
        return _redirect(redirect_uri, state=state)
    code = mint_oauth_code(sim, appid, query.get("user") or "payer", scope)
    return _redirect(redirect_uri, code=code.code, state=state)


def access_token(sim: SimulatorState, request: SimRequest) -> SimResponse:
    """Answer ``/sns/oauth2/access_token``."""
    if request.method.upper() != "GET":
        return _error(43001, "require GET method")
    query = request.query_params()
    appid, secret, code_text = query.get("appid", ""), query.get("secret", ""), query.get("code", "")
    if not appid:
        return _error(41002, "appid missing")
    if not secret:
        return _error(41004, "appsecret missing")
    if not code_text:
        return _error(41008, "missing code")
    if query.get("grant_type") != "authorization_code":
        return _error(40002, "invalid grant_type")
    kind = _kind(sim, appid)
    if kind not in OAUTH_KINDS:
        return _error(40013, "invalid appid")
    expected = sim.account["app_secrets"].get(kind, "")
    if not hmac.compare_digest(secret.encode(), expected.encode()):
        return _error(40125, "invalid appsecret")
    code, first_use = sim.ledger.use_oauth_code(code_text, appid)
    if code is None or sim.wall_now() - code.created_at > CODE_TTL_S:
        return _error(40029, "invalid code")
    if not first_use:
        return _error(40163, "code been used")
    return SimResponse.json(200, {
        "access_token": secrets.token_urlsafe(64), "expires_in": _TOKEN_TTL_S,
        "refresh_token": secrets.token_urlsafe(64), "openid": code.openid, "scope": code.scope,
    })
