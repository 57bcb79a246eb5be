"""Mini-program login: ``GET /sns/jscode2session`` turns a simulator-minted code into a stable openid.

Errors come back as HTTP 200 ``{"errcode", "errmsg": "… rid: …"}`` like WeChat's: 40013 invalid appid,
40125 invalid appsecret, 40029 invalid code (unknown, expired, other app), 40163 code been used,
40002 invalid grant_type, 41002/41004/41008 missing appid/secret/code.
"""

from __future__ import annotations

import base64
import hmac
import secrets

from .http_messages import SimRequest, SimResponse
from .ledger import LoginCode
from .state import SimulatorState

__all__ = ["CODE_TTL_S", "handle", "mint_code"]

CODE_TTL_S = 300.0


def _error(errcode: int, errmsg: str) -> SimResponse:
    return SimResponse.json(200, {"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(12)}"})


def mint_code(sim: SimulatorState, appid: str, user: str) -> LoginCode:
    """A fresh single-use code for ``user`` of ``appid`` (what ``wx.login()`` returns in the app)."""
    code = LoginCode(code=secrets.token_urlsafe(24), appid=appid, user=user, openid=sim.openid_for(appid, user),
                     used=0, created_at=sim.wall_now())
    sim.ledger.add_login_code(code)
    return code


def handle(sim: SimulatorState, request: SimRequest) -> SimResponse:
    """Answer ``/sns/jscode2session``."""
    if request.method.upper() != "GET":
        return _error(43001, "require GET method")
    query = request.query_params()
    appid, secret, js_code = query.get("appid", ""), query.get("secret", ""), query.get("js_code", "")
    if not appid:
        return _error(41002, "appid missing")
    if not secret:
        return _error(41004, "appsecret missing")
    if not js_code:
        return _error(41008, "missing code")
    if query.get("grant_type") != "authorization_code":
        return _error(40002, "invalid grant_type")
    kinds = {value: kind for kind, value in sim.account["appids"].items()}
    if appid not in kinds:
        return _error(40013, "invalid appid")
    expected = sim.account["app_secrets"].get(kinds[appid], "")
    if not hmac.compare_digest(secret.encode(), expected.encode()):
        return _error(40125, "invalid appsecret")
    code, first_use = sim.ledger.use_login_code(js_code)
    if code is None or code.appid != appid or sim.wall_now() - code.created_at > CODE_TTL_S:
        return _error(40029, "invalid code")
    if not first_use:
        return _error(40163, "code been used")
    session_key = base64.b64encode(secrets.token_bytes(16)).decode()
    return SimResponse.json(200, {"session_key": session_key, "openid": code.openid})
