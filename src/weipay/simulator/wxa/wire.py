"""The mini-program API on the wire: HTTP 200 with ``errcode``/``errmsg`` (plus a ``rid``), JSON bodies, tokens."""

from __future__ import annotations

import json
import secrets
from typing import Any

from ..http_messages import SimRequest, SimResponse
from ..state import SimulatorState

__all__ = ["WxaError", "answer", "check_token", "error_response", "json_body"]


class WxaError(Exception):
    """An errcode answer: ``errcode`` and ``errmsg`` as WeChat words them."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode, self.errmsg = errcode, errmsg


def error_response(error: WxaError) -> SimResponse:
    """``{"errcode", "errmsg": "… rid: …"}``, HTTP 200 like WeChat's."""
    rid = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
    return SimResponse.json(200, {"errcode": error.errcode, "errmsg": f"{error.errmsg} rid: {rid}"})


def answer(payload: dict[str, Any] | None = None) -> SimResponse:
    """A successful answer: ``errcode`` 0, ``errmsg`` ok, plus ``payload``."""
    return SimResponse.json(200, {"errcode": 0, "errmsg": "ok", **(payload or {})})


def json_body(request: SimRequest) -> dict[str, Any]:
    """The JSON object sent, or 47001 (data format error)."""
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise WxaError(47001, "data format error") from None
    if not isinstance(data, dict):
        raise WxaError(47001, "data format error")
    return data


def check_token(sim: SimulatorState, request: SimRequest) -> str:
    """The appid whose token authenticates ``request``: 41001 missing, 40001 unknown or revoked, 42001 expired."""
    token = request.query_params().get("access_token", "")
    if not token:
        raise WxaError(41001, "access_token missing")
    row = sim.ledger.wxa_token(token)
    if row is None or row["revoked"]:
        raise WxaError(40001, "invalid credential, access_token is invalid or not latest")
    if float(row["expires_at"]) <= sim.wall_now():
        raise WxaError(42001, "access_token expired")
    return str(row["appid"])
