"""Client helpers that need the credentials: notifications (v2, v3) and client pay params."""

from __future__ import annotations

import json
import secrets

import pytest
from sdk_samples import transaction

from weipay.sdk.crypto import rsa_verify
from weipay.sdk.errors import ConfigurationError, SignatureError, SignTestProbe
from weipay.sdk.v2.signing import verify as v2_verify
from weipay.sdk.v2.wechat_side import build_payment_notification, build_refund_notification
from weipay.sdk.v3.models import RefundNotification, TransactionNotification
from weipay.sdk.v3.verifier import UnknownSerial
from weipay.sdk.v3.wechat_side import build_notification

pytestmark = pytest.mark.anyio

TRANSACTION = transaction(out_trade_no="1217752501201407033233368018", success_time="2020-01-04T18:30:59+08:00")


def notification(wechat, *, key=None, serial=None, timestamp=None):
    return build_notification(
        private_key=key or wechat.signer_key,
        serial=serial or wechat.signer_serial,
        api_v3_key=wechat.api_v3_key.encode(),
        notification_id="EV-" + secrets.token_hex(8),
        create_time="2020-01-04T18:31:00+08:00",
        event_type="TRANSACTION.SUCCESS",
        summary="支付成功",
        original_type="transaction",
        associated_data="transaction",
        plaintext=json.dumps(TRANSACTION).encode(),
        resource_nonce=secrets.token_hex(6),
        timestamp=str(timestamp or int(wechat.clock())),
        nonce=secrets.token_hex(16),
    )


def test_v3_notification_in_public_key_mode(wechat, credentials, make_client):
    headers, body = notification(wechat)
    note = make_client(credentials, wechat).v3_notification(headers, body)
    assert isinstance(note, TransactionNotification)
    assert note.transaction.out_trade_no == TRANSACTION["out_trade_no"]
    assert wechat.received == []


def test_v3_notification_refuses_probe_stale_and_foreign(wechat, credentials, make_client, merchant_keys):
    client = make_client(credentials, wechat)
    headers, body = notification(wechat)
    with pytest.raises(SignTestProbe):
        client.v3_notification({**headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc"}, body)
    stale_headers, stale_body = notification(wechat, timestamp=int(wechat.clock()) - 301)
    with pytest.raises(SignatureError):
        client.v3_notification(stale_headers, stale_body)
    forged_headers, forged_body = notification(wechat, key=merchant_keys.private_key)
    with pytest.raises(SignatureError):
        client.v3_notification(forged_headers, forged_body)
    with pytest.raises(UnknownSerial):
        client.v3_notification(*notification(wechat, serial="ABCDEF0123"))
    assert wechat.received == []


def test_v3_notification_with_new_certificate_downloads_once(cert_wechat, cert_credentials, make_client, clock):
    client = make_client(cert_credentials, cert_wechat)
    first = client.v3_notification(*notification(cert_wechat))
    assert isinstance(first, TransactionNotification) and cert_wechat.certificate_downloads == 1

    for _ in range(50):  # junk serials within the 5-minute window: no more downloads
        with pytest.raises(UnknownSerial):
            client.v3_notification(*notification(cert_wechat, serial=secrets.token_hex(20).upper()))
    assert cert_wechat.certificate_downloads == 1
    clock.advance(301)
    assert isinstance(client.v3_notification(*notification(cert_wechat)), TransactionNotification)


def test_v3_notification_offline_never_downloads(cert_wechat, cert_credentials, make_client):
    """The offline call verifies with the keys held and leaves an unknown serial to ``v3_notification``."""
    client = make_client(cert_credentials, cert_wechat)
    with pytest.raises(UnknownSerial):  # certificate mode, nothing downloaded yet: the serial is unknown
        client.v3_notification_offline(*notification(cert_wechat))
    assert cert_wechat.certificate_downloads == 0
    assert isinstance(client.v3_notification(*notification(cert_wechat)), TransactionNotification)
    assert cert_wechat.certificate_downloads == 1
    note = client.v3_notification_offline(*notification(cert_wechat))  # now held: verified without I/O
    assert note.transaction.out_trade_no == TRANSACTION["out_trade_no"]  # type: ignore[union-attr]
    headers, body = notification(cert_wechat)
    with pytest.raises(SignTestProbe):
        client.v3_notification_offline({**headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc"}, body)
    with pytest.raises(UnknownSerial):
        client.v3_notification_offline(*notification(cert_wechat, serial=secrets.token_hex(20).upper()))
    assert cert_wechat.certificate_downloads == 1


async def test_async_v3_notification_downloads_certificates(cert_wechat, cert_credentials, make_async_client):
    async with make_async_client(cert_credentials, cert_wechat) as client:
        note = await client.v3_notification(*notification(cert_wechat))
    assert not isinstance(note, RefundNotification) and cert_wechat.certificate_downloads == 1


def test_v2_notifications(credentials, make_client):
    client = make_client(credentials, lambda request: pytest.fail("no I/O"))
    payment = {
        "return_code": "SUCCESS",
        "result_code": "SUCCESS",
        "appid": credentials.appids["miniprogram"],
        "mch_id": credentials.mchid,
        "nonce_str": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "trade_type": "JSAPI",
        "bank_type": "CMC",
        "total_fee": 100,
        "cash_fee": 100,
        "transaction_id": "1004400740201409030005092168",
        "out_trade_no": "1409811653",
        "time_end": "20140903131540",
    }
    body = build_payment_notification(credentials.api_v2_key, payment)
    assert client.v2_payment_notification(body).total_fee_fen == 100
    other_merchant = build_payment_notification(credentials.api_v2_key, {**payment, "mch_id": "1900000109"})
    with pytest.raises(SignatureError):
        client.v2_payment_notification(other_merchant)
    with pytest.raises(SignatureError):
        client.v2_payment_notification(body.replace(b"100", b"1", 1))

    refund = build_refund_notification(
        credentials.api_v2_key,
        credentials.appids["miniprogram"],
        credentials.mchid,
        {
            "transaction_id": "4200000483202001042069747825",
            "out_trade_no": "1409811653",
            "refund_id": "50000408942018111907145868882",
            "out_refund_no": "R1",
            "total_fee": 100,
            "refund_fee": 40,
            "refund_status": "SUCCESS",
        },
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    )
    assert client.v2_refund_notification(refund).refund_fee_fen == 40


def test_pay_params_v3_and_v2(credentials, merchant_keys, make_client, clock):
    client = make_client(credentials, lambda request: pytest.fail("no I/O"))
    appid = credentials.appids["miniprogram"]

    params = client.jsapi_params(appid, "wx201410272009395522657a690389285100")
    message = "".join(
        f"{line}\n" for line in (appid, params["timeStamp"], params["nonceStr"], params["package"])
    ).encode()
    assert params["signType"] == "RSA" and params["timeStamp"] == str(int(clock()))
    assert rsa_verify(merchant_keys.private_key.public_key(), message, params["paySign"])

    v2 = client.jsapi_params(appid, "wx201410272009395522657a690389285100", api="v2")
    pay_sign = v2.pop("paySign")
    assert v2_verify({**v2, "sign": pay_sign}, credentials.api_v2_key, "MD5")

    app = client.app_params("wx201410272009395522657a690389285100")
    assert app["appid"] == credentials.appids["app"] and app["partnerid"] == credentials.mchid
    assert v2_verify(client.app_params("wx201410272009395522657a690389285100", api="v2"), credentials.api_v2_key)
    with pytest.raises(ConfigurationError):
        client.jsapi_params(appid, "wx1", api="v4")
