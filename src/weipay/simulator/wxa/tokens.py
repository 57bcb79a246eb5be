"""``POST /cgi-bin/stable_token``: the app's access token, fetched with its secret.

Normal mode (``force_refresh`` false) returns the current token while it has more than 5 minutes left, with
``expires_in`` counting down; in its last 5 minutes it issues the next one, and the old one keeps working until
it expires. Force mode revokes every token of the app and issues a new one: at most 20 a day (45009) and 30 s
apart (45011). Errors: 41002 appid missing, 41004 secret missing, 40002 bad grant_type, 40013 unknown appid,
40125 wrong secret, 47001 not JSON. Tokens live 7200 s on WeChat's wall clock (never the scaled one).
"""

from __future__ import annotations

import hmac
import secrets

from ..clock import beijing
from ..http_messages import SimRequest, SimResponse
from ..state import SimulatorState
from .wire import WxaError, error_response, json_body

__all__ = ["FORCE_PER_DAY", "FORCE_SPACING_S", "ROTATE_BEFORE_S", "TOKEN_TTL_S", "handle", "issue"]

TOKEN_TTL_S = 7200.0
ROTATE_BEFORE_S = 300.0
FORCE_PER_DAY = 20
FORCE_SPACING_S = 30.0


def issue(sim: SimulatorState, appid: str, *, force: bool) -> tuple[str, float]:
    """The token to hand out and its expiry (see the module docstring)."""
    now = sim.wall_now()
    current = sim.ledger.newest_wxa_token(appid, now)
    if not force and current is not None and current[1] - now > ROTATE_BEFORE_S:
        return current
    token = secrets.token_urlsafe(96)
    sim.ledger.add_wxa_token(appid, token, now=now, expires_at=now + TOKEN_TTL_S, revoke_others=force)
    return token, now + TOKEN_TTL_S


def _check_secret(sim: SimulatorState, appid: str, secret: str) -> None:
    kinds = {value: kind for kind, value in sim.account["appids"].items()}
    if appid not in kinds:
        raise WxaError(40013, "invalid appid")
    expected = str(sim.account["app_secrets"].get(kinds[appid], ""))
    if not hmac.compare_digest(secret.encode(), expected.encode()):
        raise WxaError(40125, "invalid appsecret")


def _check_force_limits(sim: SimulatorState, appid: str) -> None:
    now = sim.wall_now()
    before, last_at = sim.ledger.count_forced_refresh(appid, day=beijing(now).strftime("%Y%m%d"), now=now)
    if before >= FORCE_PER_DAY:
        raise WxaError(45009, "reach max api daily quota limit")
    if last_at is not None and now - float(last_at) < FORCE_SPACING_S:
        raise WxaError(45011, "api minute-quota reach limit mustslower retry next minute")


def handle(sim: SimulatorState, request: SimRequest) -> SimResponse:
    """Answer ``/cgi-bin/stable_token``."""
    try:
        if request.method.upper() != "POST":
            raise WxaError(43002, "require POST method")
        data = json_body(request)
        appid, secret = str(data.get("appid") or ""), str(data.get("secret") or "")
        if not appid:
            raise WxaError(41002, "appid missing")
        if not secret:
            raise WxaError(41004, "appsecret missing")
        if data.get("grant_type") != "client_credential":
            raise WxaError(40002, "invalid grant_type")
        force = data.get("force_refresh", False)
        if not isinstance(force, bool):
            raise WxaError(47001, "data format error: force_refresh must be a boolean")
        _check_secret(sim, appid, secret)
        if force:
            _check_force_limits(sim, appid)
        token, expires_at = issue(sim, appid, force=force)
    except WxaError as error:
        return error_response(error)
    # The token answer carries no errcode, unlike the other APIs of the platform.
    return SimResponse.json(200, {"access_token": token, "expires_in": max(1, int(expires_at - sim.wall_now()))})
