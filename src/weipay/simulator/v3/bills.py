"""API v3 bills: apply for a trade / fund-flow bill, then download it from the simulator itself.

The apply answer carries ``hash_value`` = SHA1 of the uncompressed file and a ``download_url`` whose token
is self-contained and HMAC-signed (so it survives restarts). The download needs a signed request and its
answer is not signed, as on WeChat.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import hmac
import json
import re
from typing import Any

from .. import bill_files
from ..clock import beijing, beijing_day
from ..http_messages import SimRequest, SimResponse
from ..state import SimulatorState
from .errors import V3Error, param_error

__all__ = ["download", "fundflow_bill", "trade_bill"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TOKEN_TTL_S = 300.0
_HISTORY_DAYS = 92


def _check_date(sim: SimulatorState, query: dict[str, str]) -> str:
    date_text = query.get("bill_date", "")
    if not date_text:
        raise param_error("bill_date", "缺少必填参数", location="query")
    if _DATE.fullmatch(date_text) is None:
        raise param_error("bill_date", "格式应为yyyy-MM-DD", date_text, location="query")
    try:
        beijing_day(date_text)
    except ValueError:
        raise param_error("bill_date", "不是合法的日期", date_text, location="query") from None
    today = beijing(sim.now()).date()
    day = dt.date.fromisoformat(date_text)
    if day > today or (sim.strict and day == today):
        raise V3Error(400, "NO_STATEMENT_EXIST", "账单文件不存在")
    if (today - day).days > _HISTORY_DAYS:
        raise V3Error(400, "NO_STATEMENT_EXIST", "账单文件不存在，只能下载三个月以内的账单")
    return date_text


def _check_tar(query: dict[str, str]) -> bool:
    tar_type = query.get("tar_type")
    if tar_type not in (None, "", "GZIP"):
        raise param_error("tar_type", "仅支持GZIP", tar_type, location="query")
    return tar_type == "GZIP"


def _token(sim: SimulatorState, claims: dict[str, Any]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(sim.account["token_secret"], payload.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{mac}"


def _claims(sim: SimulatorState, token: str) -> dict[str, Any]:
    payload, _, mac = token.partition(".")
    expected = hmac.new(sim.account["token_secret"], payload.encode(), hashlib.sha256).hexdigest()[:32]
    if not mac or not hmac.compare_digest(mac, expected):
        raise V3Error(400, "INVALID_REQUEST", "下载链接无效")
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    # Links live 5 minutes of wall time, however fast simulated time runs.
    if sim.wall_now() > claims["exp"]:
        raise V3Error(400, "INVALID_REQUEST", "下载链接已过期，请重新申请")
    return claims


def _apply(sim: SimulatorState, kind: str, date_text: str, variant: str, gzip_it: bool) -> SimResponse:
    text = bill_files.trade_bill(sim, date_text, variant) if kind == "trade" else bill_files.fundflow_bill(
        sim, date_text, variant)
    claims = {"k": kind, "d": date_text, "v": variant, "z": gzip_it, "exp": sim.wall_now() + _TOKEN_TTL_S}
    return SimResponse.json(200, {
        "hash_type": "SHA1",
        "hash_value": hashlib.sha1(text.encode()).hexdigest(),  # noqa: S324 - WeChat's declared hash
        "download_url": f"{sim.base_url}/v3/billdownload/file?token={_token(sim, claims)}",
    })


def trade_bill(sim: SimulatorState, request: SimRequest, _: dict[str, str]) -> SimResponse:
    """``GET /v3/bill/tradebill?bill_date=&bill_type=&tar_type=``."""
    query = request.query_params()
    date_text = _check_date(sim, query)
    bill_type = query.get("bill_type") or "ALL"
    if bill_type not in bill_files.TRADE_BILL_TYPES:
        raise param_error("bill_type", "取值错误", bill_type, location="query")
    return _apply(sim, "trade", date_text, bill_type, _check_tar(query))


def fundflow_bill(sim: SimulatorState, request: SimRequest, _: dict[str, str]) -> SimResponse:
    """``GET /v3/bill/fundflowbill?bill_date=&account_type=&tar_type=``."""
    query = request.query_params()
    date_text = _check_date(sim, query)
    account_type = query.get("account_type") or "BASIC"
    if account_type not in ("BASIC", "OPERATION", "FEES"):
        raise param_error("account_type", "取值错误", account_type, location="query")
    return _apply(sim, "fund", date_text, account_type, _check_tar(query))


def download(sim: SimulatorState, request: SimRequest, _: dict[str, str]) -> SimResponse:
    """``GET /v3/billdownload/file?token=`` -> the file (gzip when asked); the answer is not signed."""
    token = request.query_params().get("token", "")
    if not token:
        raise param_error("token", "缺少必填参数", location="query")
    try:
        claims = _claims(sim, token)
    except (ValueError, KeyError):
        raise V3Error(400, "INVALID_REQUEST", "下载链接无效") from None
    kind, date_text, variant = claims["k"], claims["d"], claims["v"]
    text = bill_files.trade_bill(sim, date_text, variant) if kind == "trade" else bill_files.fundflow_bill(
        sim, date_text, variant)
    data = text.encode()
    if claims["z"]:
        data = gzip.compress(data, mtime=0)
    return SimResponse(200, {"content-type": "application/octet-stream", "x-weipay-unsigned": "1"}, data)
