"""Client-side re-signing (二次签名) for API v2: the parameters a mini-program, web page or app needs.

The keys are part of the signature exactly as written (camelCase for JSAPI, lower case for APP), so
they are spelled here once. ``timestamp`` and ``nonce`` are parameters: the caller's clock and nonce
source decide them, which keeps this module pure and testable.
"""

from __future__ import annotations

import re

from ..errors import ConfigurationError
from . import _checks as check
from .signing import SignType, sign

__all__ = ["app_params", "jsapi_params"]

_TIMESTAMP = re.compile(r"[0-9]{10}")
_NONCE = re.compile(r"[0-9A-Za-z]{1,32}")


def _checked(timestamp: str, nonce: str, prepay_id: str) -> None:
    if not isinstance(timestamp, str) or not _TIMESTAMP.fullmatch(timestamp):
        raise ConfigurationError("timestamp must be the 10-digit Unix time in seconds, as a string")
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise ConfigurationError("nonce must be 1-32 letters or digits")
    check.token(prepay_id, "prepay_id", 64)


def jsapi_params(
    api_v2_key: str,
    appid: str,
    prepay_id: str,
    timestamp: str,
    nonce: str,
    sign_type: SignType | str = SignType.MD5,
) -> dict[str, str]:
    """``wx.requestPayment`` / ``getBrandWCPayRequest`` parameters with ``paySign``.

    ``sign_type`` must be the algorithm the order was placed with (wechatpy only does MD5).
    """
    _checked(timestamp, nonce, prepay_id)
    chosen = check.sign_type(sign_type)
    params = {
        "appId": check.token(appid, "appid"),
        "timeStamp": timestamp,
        "nonceStr": nonce,
        "package": f"prepay_id={prepay_id}",
        "signType": chosen.value,
    }
    params["paySign"] = sign(params, api_v2_key, chosen)
    return params


def app_params(api_v2_key: str, appid: str, mchid: str, prepay_id: str, timestamp: str, nonce: str) -> dict[str, str]:
    """The APP SDK's ``PayReq`` parameters (all keys lower case), MD5-signed into ``sign``."""
    _checked(timestamp, nonce, prepay_id)
    params = {
        "appid": check.token(appid, "appid"),
        "partnerid": check.token(mchid, "mchid"),
        "prepayid": prepay_id,
        "package": "Sign=WXPay",
        "noncestr": nonce,
        "timestamp": timestamp,
    }
    params["sign"] = sign(params, api_v2_key, SignType.MD5)
    return params
