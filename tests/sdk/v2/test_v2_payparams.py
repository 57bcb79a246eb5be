"""Client-side re-signing (PROTOCOL.md §2.7, vectors §6.1.3), checked against wechatpy's own helpers."""

from __future__ import annotations

import pytest
from v2vectors import FIXED_NONCE, V2_KEY
from wechatpy.pay import WeChatPay

from weipay.sdk.errors import ConfigurationError
from weipay.sdk.v2 import app_params, jsapi_params, verify

APPID = "wxd930ea5d5a258f4f"
MCHID = "10000100"
PREPAY_ID = "wx201410272009395522657a690389285100"
TIMESTAMP = "1414561699"


def test_jsapi_md5_vector() -> None:
    params = jsapi_params(V2_KEY, APPID, PREPAY_ID, TIMESTAMP, FIXED_NONCE)
    assert params == {
        "appId": APPID,
        "timeStamp": TIMESTAMP,
        "nonceStr": FIXED_NONCE,
        "package": f"prepay_id={PREPAY_ID}",
        "signType": "MD5",
        "paySign": "FD19D752A746E5F238A6E53BD99EEBD0",
    }


def test_jsapi_hmac_vector() -> None:
    params = jsapi_params(V2_KEY, APPID, PREPAY_ID, TIMESTAMP, FIXED_NONCE, sign_type="HMAC-SHA256")
    assert params["signType"] == "HMAC-SHA256"
    assert params["paySign"] == "FC7A79E4918B4FFA96E836F5AD4A510F31241FB46C14C971D6D7B4F8E15AF262"
    assert verify({**params, "sign": params["paySign"], "paySign": ""}, V2_KEY, "HMAC-SHA256")


def test_jsapi_equals_wechatpy() -> None:
    client = WeChatPay(appid=APPID, api_key=V2_KEY, mch_id=MCHID)
    theirs = client.jsapi.get_jsapi_params(PREPAY_ID, timestamp=TIMESTAMP, nonce_str=FIXED_NONCE)
    assert jsapi_params(V2_KEY, APPID, PREPAY_ID, TIMESTAMP, FIXED_NONCE) == theirs


def test_app_vector_and_wechatpy() -> None:
    params = app_params(V2_KEY, APPID, MCHID, PREPAY_ID, TIMESTAMP, FIXED_NONCE)
    assert params == {
        "appid": APPID,
        "partnerid": MCHID,
        "prepayid": PREPAY_ID,
        "package": "Sign=WXPay",
        "noncestr": FIXED_NONCE,
        "timestamp": TIMESTAMP,
        "sign": "1F88CC0F1B0560FF6D5EED1FBB7AE9C0",
    }
    client = WeChatPay(appid=APPID, api_key=V2_KEY, mch_id=MCHID)
    assert params == client.order.get_appapi_params(PREPAY_ID, timestamp=TIMESTAMP, nonce_str=FIXED_NONCE)


@pytest.mark.parametrize(
    ("timestamp", "nonce", "prepay_id"),
    [
        ("1414561699000", FIXED_NONCE, PREPAY_ID),  # milliseconds
        ("141456169", FIXED_NONCE, PREPAY_ID),
        ("14145616x9", FIXED_NONCE, PREPAY_ID),
        (TIMESTAMP, "", PREPAY_ID),
        (TIMESTAMP, "x" * 33, PREPAY_ID),
        (TIMESTAMP, "nonce with space", PREPAY_ID),
        (TIMESTAMP, FIXED_NONCE, "wx&sign=1"),
        (TIMESTAMP, FIXED_NONCE, ""),
    ],
)
def test_bad_inputs_are_configuration_errors(timestamp: str, nonce: str, prepay_id: str) -> None:
    with pytest.raises(ConfigurationError):
        jsapi_params(V2_KEY, APPID, prepay_id, timestamp, nonce)
    with pytest.raises(ConfigurationError):
        app_params(V2_KEY, APPID, MCHID, prepay_id, timestamp, nonce)


def test_unknown_sign_type_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="sign_type"):
        jsapi_params(V2_KEY, APPID, PREPAY_ID, TIMESTAMP, FIXED_NONCE, sign_type="RSA")
