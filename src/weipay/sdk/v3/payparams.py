"""The second signature (二次签名) that lets a client app start a v3 payment.

JSAPI / mini-program: sign ``appId\\ntimeStamp\\nnonceStr\\npackage\\n`` (package = ``prepay_id=…``) and
hand ``wx.requestPayment`` the six fields with ``signType=RSA``. APP: sign
``appid\\ntimestamp\\nnoncestr\\nprepayid\\n`` with the raw prepay_id.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from ..crypto import rsa_sign
from ..errors import ConfigurationError

__all__ = ["app_params", "jsapi_params", "pay_sign"]


def pay_sign(private_key: RSAPrivateKey, *lines: str) -> str:
    """Base64 SHA256withRSA of the lines, each followed by ``\\n`` (as every WeChat client signature)."""
    for line in lines:
        if not line or "\n" in line:
            raise ConfigurationError("pay-sign fields must be non-empty single-line strings")
    return rsa_sign(private_key, "".join(line + "\n" for line in lines).encode("utf-8"))


def jsapi_params(private_key: RSAPrivateKey, appid: str, prepay_id: str, timestamp: str, nonce: str) -> dict[str, str]:
    """Arguments of ``wx.requestPayment`` / ``WeixinJSBridge`` for a JSAPI or mini-program prepay."""
    package = f"prepay_id={prepay_id}"
    return {
        "appId": appid,
        "timeStamp": timestamp,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": pay_sign(private_key, appid, timestamp, nonce, package),
    }


def app_params(
    private_key: RSAPrivateKey, appid: str, mchid: str, prepay_id: str, timestamp: str, nonce: str
) -> dict[str, str]:
    """Arguments of the APP SDK's ``PayReq`` (``package`` is the literal ``Sign=WXPay``)."""
    return {
        "appid": appid,
        "partnerid": mchid,
        "prepayid": prepay_id,
        "package": "Sign=WXPay",
        "noncestr": nonce,
        "timestamp": timestamp,
        "sign": pay_sign(private_key, appid, timestamp, nonce, prepay_id),
    }
