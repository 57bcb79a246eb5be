"""Interop with the independent SDK wechatpayv3 2.0.4, offline, in both directions.

wechatpayv3 in public-key mode never touches the network: it only needs PEM strings.
"""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sdk_samples import signed_notification, transaction
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.utils import build_authorization, rsa_encrypt
from wechatpayv3.utils import rsa_sign as v3_rsa_sign

from weipay.sdk.crypto import oaep_decrypt
from weipay.sdk.v3 import SignedHeaders, TransactionNotification, Verifier, jsapi_params, parse_notification
from weipay.sdk.v3.sensitive import encrypt_sensitive
from weipay.sdk.v3.wechat_side import sign_response, verify_request

MCHID = "1230000109"
APPID = "wxd678efh567hg6787"
API_V3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"
TRANSACTION = transaction(mchid=MCHID, appid=APPID)


@pytest.fixture(scope="module")
def wxpay(merchant_keys, wechatpay_keys) -> WeChatPay:
    private_pem = merchant_keys.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    public_pem = (
        wechatpay_keys.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    )
    return WeChatPay(
        wechatpay_type=WeChatPayType.MINIPROG,
        mchid=MCHID,
        private_key=private_pem,
        cert_serial_no=merchant_keys.serial,
        appid=APPID,
        apiv3_key=API_V3_KEY,
        notify_url="https://merchant.example.com/notify",
        public_key=public_pem,
        public_key_id=KEY_ID,
    )


def _notification(wechatpay_keys, timestamp: int) -> tuple[dict[str, str], bytes]:
    return signed_notification(wechatpay_keys.private_key, KEY_ID, TRANSACTION, api_v3_key=API_V3_KEY.encode(),
                               timestamp=timestamp, notification_id="EV-2018022511223320873")  # fmt: skip


def test_our_jsapi_pay_sign_equals_wechatpayv3_sign(wxpay, merchant_keys) -> None:
    params = jsapi_params(
        merchant_keys.private_key,
        APPID,
        "wx201410272009395522657a690389285100",
        "1414561699",
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    )
    expected = wxpay.sign(
        [APPID, "1414561699", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", "prepay_id=wx201410272009395522657a690389285100"]
    )
    assert params["paySign"] == expected


def test_wechatpayv3_accepts_our_notification(wxpay, wechatpay_keys) -> None:
    headers, body = _notification(wechatpay_keys, int(time.time()))
    result = wxpay.callback(headers, body)
    assert result is not None
    assert result["event_type"] == "TRANSACTION.SUCCESS"
    assert result["resource"] == TRANSACTION
    # The same check fails on a tampered body, so the acceptance above means something.
    assert wxpay.callback(headers, body.replace(b"EV-2018", b"EV-2019")) is None
    # And wechatpayv3, like us, refuses a notification without Wechatpay-Signature-Type.
    with pytest.raises(Exception, match="does not support this algorithm"):
        wxpay.callback({k: v for k, v in headers.items() if k != "Wechatpay-Signature-Type"}, body)


def test_wechatpayv3_accepts_our_response_signatures(wxpay, wechatpay_keys) -> None:
    for body in [b'{"prepay_id":"wx1"}', b"", '{"trade_state_desc":"支付成功"}'.encode()]:
        headers = sign_response(wechatpay_keys.private_key, KEY_ID, body, str(int(time.time())), "n" * 32)
        assert wxpay._core._verify_signature(headers, body.decode()) is True


def test_we_accept_wechatpayv3_signed_responses_and_notifications(wechatpay_keys) -> None:
    now = int(time.time())
    verifier = Verifier(clock=lambda: float(now))
    verifier.add_public_key(KEY_ID, wechatpay_keys.private_key.public_key())
    body = json.dumps({"prepay_id": "wx1", "note": "中文"}, ensure_ascii=False).encode()
    signature = v3_rsa_sign(wechatpay_keys.private_key, f"{now}\nabc\n{body.decode()}\n")
    headers = {
        "Wechatpay-Timestamp": str(now),
        "Wechatpay-Nonce": "abc",
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": KEY_ID,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }
    verifier.verify(SignedHeaders.from_headers(headers), body)


def test_we_parse_what_wechatpayv3_parses(wxpay, wechatpay_keys) -> None:
    now = int(time.time())
    headers, body = _notification(wechatpay_keys, now)
    verifier = Verifier(clock=lambda: float(now))
    verifier.add_public_key(KEY_ID, wechatpay_keys.private_key.public_key())
    ours = parse_notification(verifier, API_V3_KEY.encode(), headers, body)
    theirs = wxpay.callback(headers, body)
    assert isinstance(ours, TransactionNotification)
    assert ours.transaction.out_trade_no == theirs["resource"]["out_trade_no"]
    assert ours.transaction.amount.total_fen == theirs["resource"]["amount"]["total"]


@pytest.mark.parametrize("data", [None, {"mchid": MCHID}, {"description": "Image形象店-深圳腾大-QQ公仔", "amount": 1}])
def test_we_verify_wechatpayv3_request_signatures(merchant_keys, data) -> None:
    path = "/v3/pay/transactions/out-trade-no/ORDER_000001?mchid=1230000109"
    method = "GET" if data is None else "POST"
    header = build_authorization(path, method, MCHID, merchant_keys.serial, merchant_keys.private_key, data=data)
    # wechatpayv3 signs json.dumps(data) with default separators and ASCII escapes; requests sends the same bytes.
    body = b"" if data is None else json.dumps(data).encode()
    params = verify_request(
        merchant_keys.private_key.public_key(), method, path, {"Authorization": header}, body, time.time()
    )
    assert params.mchid == MCHID and params.serial_no == merchant_keys.serial
    assert len(params.nonce_str) == 32


def test_sensitive_fields_cross_decrypt(wxpay, merchant_keys, wechatpay_keys) -> None:
    # wechatpayv3 encrypts for WeChat with the public key; WeChat's side (our oaep_decrypt) reads it.
    assert oaep_decrypt(wechatpay_keys.private_key, wxpay._core.encrypt("张三")) == "张三"
    assert (
        oaep_decrypt(wechatpay_keys.private_key, rsa_encrypt("13800138000", wechatpay_keys.private_key.public_key()))
        == "13800138000"
    )
    # We encrypt for a key holder; wechatpayv3 decrypts with the merchant private key.
    assert wxpay.decrypt(encrypt_sensitive(merchant_keys.private_key.public_key(), "李四")) == "李四"
