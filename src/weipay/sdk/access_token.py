"""The mini-program access token: ``POST https://api.weixin.qq.com/cgi-bin/stable_token``.

Mini-program server APIs (shipping information among them) authenticate with an ``access_token`` of the
app, fetched with the app's secret. The *stable* token endpoint is WeChat's recommended one: in normal
mode (``force_refresh=false``) repeated calls return the same token while it is valid, and WeChat starts
handing out the next one 5 minutes before the old one expires, both working meanwhile. Force mode
invalidates the current token at once and is limited to 20 calls a day, 30 s apart, so it is kept
for a token WeChat keeps rejecting.

The token is a secret: :class:`AccessToken` hides it from ``repr``/``str``, and requests carry it in the
query string of the login host, which the SDK never logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._wxa import post_json, successful_answer
from .errors import ConfigurationError, ProtocolError
from .operation import Context, HttpRequest, HttpResponse

__all__ = ["AccessToken", "StableToken"]


@dataclass(frozen=True, slots=True, repr=False)
class AccessToken:
    """An app's access token and when it stops working (Unix seconds). ``value`` is a secret."""

    value: str
    expires_at_s: float

    def __repr__(self) -> str:
        return f"AccessToken(value=<redacted>, expires_at_s={self.expires_at_s!r})"

    __str__ = __repr__

    def fresh_at(self, now_s: float, margin_s: float) -> bool:
        """True when the token still has more than ``margin_s`` seconds to live at ``now_s``."""
        return self.expires_at_s - margin_s > now_s


@dataclass(frozen=True, slots=True)
class StableToken:
    """Operation: the stable access token of the app ``appid`` (its secret comes from the credentials).

    ``force_refresh=True`` invalidates the current token and mints a new one: use it only when WeChat
    rejects a token that normal mode keeps returning.
    """

    appid: str
    force_refresh: bool = False

    def build(self, ctx: Context) -> HttpRequest:
        """``POST /cgi-bin/stable_token``; normal mode is idempotent, force mode is not."""
        payload = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": app_secret(ctx, self.appid),
            "force_refresh": self.force_refresh,
        }
        return post_json("/cgi-bin/stable_token", payload, access_token=None, idempotent=not self.force_refresh)

    def parse(self, response: HttpResponse, ctx: Context) -> AccessToken:
        """The token, expiring ``expires_in`` seconds after the answer arrived."""
        data = successful_answer(response, "stable_token")
        value, expires_in_s = data.get("access_token"), data.get("expires_in")
        if not isinstance(value, str) or not value:
            raise ProtocolError("stable_token answer lacks access_token")
        if not isinstance(expires_in_s, int) or isinstance(expires_in_s, bool) or expires_in_s <= 0:
            raise ProtocolError("stable_token answer lacks a positive expires_in")
        return AccessToken(value, ctx.clock() + expires_in_s)


def app_secret(ctx: Context, appid: str) -> str:
    """The secret of the merchant's app ``appid``, or :class:`ConfigurationError` (nothing is sent)."""
    for kind, known_appid in ctx.credentials.appids.items():
        if known_appid == appid:
            secret = ctx.credentials.app_secrets.get(kind)
            if not secret:
                raise ConfigurationError(f"no app secret for the {kind} app {appid}")
            return secret
    raise ConfigurationError(f"appid {appid} is not one of merchant {ctx.credentials.mchid}'s apps")
