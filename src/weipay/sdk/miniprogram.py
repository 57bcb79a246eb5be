"""Mini-program login (``code2Session``): trade a ``wx.login`` code for the user's openid.

``GET https://api.weixin.qq.com/sns/jscode2session?appid=…&secret=…&js_code=…&grant_type=authorization_code``.
The query carries the app secret, so clients never log it. Errors arrive as HTTP 200 with ``errcode``;
they become :class:`~weipay.sdk.errors.WeChatRefused` with a readable ``code``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .errors import ConfigurationError, ProtocolError, WeChatRefused
from .operation import Api, Context, HttpRequest, HttpResponse

__all__ = ["ERRCODE_NAMES", "Code2Session", "Session"]

#: WeChat's login errcodes, named; any other becomes ``ERRCODE_<n>``.
ERRCODE_NAMES = {
    40029: "INVALID_CODE",
    40163: "CODE_BEEN_USED",
    40125: "INVALID_APPSECRET",
    40226: "CODE_BLOCKED",
    45011: "FREQUENCY_LIMITED",
    -1: "SYSTEM_BUSY",
}


@dataclass(frozen=True, slots=True, repr=False)
class Session:
    """The user behind a login code. ``session_key`` is a secret: keep it server-side, never log it."""

    openid: str
    session_key: str
    unionid: str | None = None

    def __repr__(self) -> str:
        return f"Session(openid={self.openid!r}, unionid={self.unionid!r}, session_key=<redacted>)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Code2Session:
    """Operation: exchange the ``js_code`` from ``wx.login`` of app ``appid`` for a :class:`Session`.

    The app secret is the one in ``credentials.app_secrets`` under the kind whose appid is ``appid``.
    """

    appid: str
    code: str

    def __repr__(self) -> str:
        return f"Code2Session(appid={self.appid!r}, code=<redacted>)"

    def build(self, ctx: Context) -> HttpRequest:
        """``GET /sns/jscode2session`` on the login host; idempotent (a used code just fails again)."""
        query = urlencode(
            {
                "appid": self.appid,
                "secret": _app_secret(ctx, self.appid),
                "js_code": self.code,
                "grant_type": "authorization_code",
            }
        )
        return HttpRequest(Api.LOGIN, "GET", f"/sns/jscode2session?{query}", idempotent=True)

    def parse(self, response: HttpResponse, ctx: Context) -> Session:
        """The session, or ``WeChatRefused`` with the errcode's name."""
        if response.status != 200:
            raise WeChatRefused(
                f"HTTP_{response.status}", "login host answered with an error status", status=response.status
            )
        data = _json_object(response.body)
        errcode = data.get("errcode", 0)
        if errcode not in (0, None):
            code = ERRCODE_NAMES.get(errcode, f"ERRCODE_{errcode}") if isinstance(errcode, int) else "ERRCODE"
            raise WeChatRefused(code, str(data.get("errmsg", "")), status=200, detail={"errcode": errcode})
        openid, session_key, unionid = data.get("openid"), data.get("session_key"), data.get("unionid")
        if not isinstance(openid, str) or not openid or not isinstance(session_key, str) or not session_key:
            raise ProtocolError("jscode2session answer lacks openid or session_key")
        return Session(openid, session_key, unionid if isinstance(unionid, str) and unionid else None)


def _app_secret(ctx: Context, appid: str) -> str:
    for kind, known_appid in ctx.credentials.appids.items():
        if known_appid == appid:
            secret = ctx.credentials.app_secrets.get(kind)
            if not secret:
                raise ConfigurationError(f"no app secret for the {kind} app {appid}")
            return secret
    raise ConfigurationError(f"appid {appid} is not one of merchant {ctx.credentials.mchid}'s apps")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise ProtocolError("jscode2session answer is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("jscode2session answer is not a JSON object")
    return data
