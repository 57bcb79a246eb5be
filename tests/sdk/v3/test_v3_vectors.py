"""Published vectors of PROTOCOL.md §6.3 (AES-GCM), §6.4 (RSA) and §6.5 (derived v3 vectors)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.crypto import aes_gcm_decrypt, aes_gcm_encrypt, rsa_sign, rsa_verify
from weipay.sdk.errors import ProtocolError, SignatureError
from weipay.sdk.operation import Context
from weipay.sdk.v3 import (
    CreateOrder,
    QueryOrder,
    SignedHeaders,
    TransactionNotification,
    Verifier,
    app_params,
    authorization,
    decrypt_certificates,
    jsapi_params,
    parse_notification,
    request_message,
    response_message,
)
from weipay.sdk.v3.payparams import pay_sign
from weipay.sdk.v3.wechat_side import build_notification, encrypt_resource, sign_response

VECTORS = Path(__file__).parent / "vectors"

JAVA_KEY = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
GO_NOTIFY_CT = (
    "YDS3lKPaC4Y52Gf3uhft5qUBlIa8b428AWTtTauHQfQrRw+X1WpiuHIDy0vo1Vd6VEq67aVyqPdDYMkRVSDaZL3iZttevRMOoPKMifozg6XPWj"
    "IZumks/GpT48lI4NizyeaqLBokNebthah3o1H76qSlO9NkDjp9bzmKLEYYH9TEklFUpsvPqOTOcgSLgh21YJXYR7dEBXFgRLiNIKRgO5JdXh1h"
    "ccRUAlyVWxE54PXpnQ=="
)
GO_NOTIFY_PT = (
    b'{"mchid":"1234567890","appid":"054aa7d7a2a54ab5898df65bd96f001c","create_time":"2020-06-30T12:12:00+08:00",'
    b'"out_contract_code":"21640bdbd08e473e828f3206a2741c6e"}'
)


@pytest.mark.parametrize(
    ("key", "nonce", "aad", "ciphertext", "plaintext"),
    [
        (JAVA_KEY, "uluk4a9R25RW", "associatedData", "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=", b"message"),
        (
            b"testAPIv3Key0000",
            "wCq51qZv4Yfg",
            "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8",
            "FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC",
            b"Hello World",
        ),
        (b"testMchAPIv3Key0", "Kj7QIyUiYx1q", "payscore", GO_NOTIFY_CT, GO_NOTIFY_PT),
    ],
)
def test_aes_gcm_vectors_both_directions(key: bytes, nonce: str, aad: str, ciphertext: str, plaintext: bytes) -> None:
    assert aes_gcm_decrypt(key, nonce, aad, ciphertext) == plaintext
    assert aes_gcm_encrypt(key, nonce, aad, plaintext) == ciphertext
    with pytest.raises(SignatureError):
        aes_gcm_decrypt(key, nonce, aad + "x", ciphertext)


def test_java_certificate_download_vector() -> None:
    data = json.loads((VECTORS / "java_download_certificate_response.json").read_bytes())
    assert len(data["data"][0]["encrypt_certificate"]["ciphertext"]) == 1988
    now = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
    (certificate,) = decrypt_certificates(JAVA_KEY, data, now)
    assert f"{certificate.serial_number:X}" == "5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC"
    assert certificate.not_valid_before_utc == datetime(2023, 9, 19, 15, 15, 58, tzinfo=UTC)
    assert certificate.not_valid_after_utc == datetime(2028, 9, 17, 15, 15, 58, tzinfo=UTC)
    # Outside its validity the only certificate is skipped, which leaves nothing usable.
    with pytest.raises(ProtocolError):
        decrypt_certificates(JAVA_KEY, data, datetime(2029, 1, 1, tzinfo=UTC).timestamp())


def test_go_key_matches_published_fingerprint(go_key: RSAPrivateKey, go_cert: x509.Certificate) -> None:
    modulus = go_key.public_key().public_numbers().n.to_bytes(256, "big")
    assert hashlib.sha256(modulus).hexdigest() == "8ed56c2d8b5636812f5e5197eeaf2f1f5bee9f01e42d812c2bb834936f453cbd"
    assert go_cert.public_key().public_numbers() == go_key.public_key().public_numbers()  # type: ignore[union-attr]
    assert f"{go_cert.serial_number:X}" == "D7CE59D1F522D701"


def test_go_signer_vector(go_key: RSAPrivateKey) -> None:
    expected = (
        "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoVz+pp4hAm6pHU4ld815U4jsKu1RkyaII+1"
        "CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLli/K8V29QiOhuH6IEqLNJn8e9b3nwNcQ7be3CzYG"
        "pDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj1aJGH6/L+hdwfLpUtJm4QYVazzW7DFD27EpSQEqA8bX9+"
        "8m1rLg=="
    )
    assert rsa_sign(go_key, b"source") == expected
    assert rsa_verify(go_key.public_key(), b"source", expected)


def test_go_authorization_format_vector(go_key: RSAPrivateKey) -> None:
    assert request_message("GET", "/v3/certificates", "1624523846", "A1B2C3D4E5F6G7", b"") == (
        b"GET\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\n\n"
    )
    assert request_message("POST", "/v3/certificates", "1624523846", "A1B2C3D4E5F6G7", b"Hello World!\n") == (
        b"POST\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\nHello World!\n\n"
    )
    header = authorization(
        mchid="1234567890",
        serial_no="0123456789ABC",
        private_key=go_key,
        method="GET",
        canonical_url="/v3/certificates",
        body=b"",
        timestamp="1624523846",
        nonce="A1B2C3D4E5F6G7",
    )
    assert header.startswith(
        'WECHATPAY2-SHA256-RSA2048 mchid="1234567890",nonce_str="A1B2C3D4E5F6G7",timestamp="1624523846",'
        'serial_no="0123456789ABC",signature="'
    )


GO_NOTIFY_HEADERS = {
    "Wechatpay-Nonce": "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz",
    "Wechatpay-Timestamp": "1624523846",
    "Wechatpay-Serial": "D7CE59D1F522D701",
    "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    "Wechatpay-Signature": (
        "tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6lBu6sKvkqDkzpqzBsVHyXFlbYZTOQrVdG4b6LfTnK4mikv9++"
        "ixJMd3vTf2yCqvBkh98zs3Ds5zsYQakzbcwhmw4fMJs4nPLws28H0UW9FjDR//rxELLwXvV1VEA1IBLX70xptjL8hrfUjEE8kkry6yNJTHZRU8CAc"
        "7qHli2Ng1V1qb9ARbK8A3ThmFmPQvRGrapI/jS2laKKgYUmfdEdkNO6B2Cke5e8VTxY406ArAmQ90GAihDwIcb16TQMnzCMBoutnwZKNiKRACrFmtx"
        "w2Q=="
    ),
}
GO_NOTIFY_BODY = (
    '{"id":"3119dfba-e649-5eec-ab1e-3412bc4d2e17","create_time":"2021-06-24T16:37:26+08:00",'
    '"resource_type":"encrypt-resource","event_type":"PAYSCORE.USER_OPEN_SERVICE","summary":"签约成功",'
    '"resource":{"original_type":"payscore","algorithm":"AEAD_AES_256_GCM","ciphertext":"' + GO_NOTIFY_CT + '",'
    '"associated_data":"payscore","nonce":"Kj7QIyUiYx1q"}}'
).encode()


def test_go_notification_vector_verifies_with_frozen_clock(go_cert: x509.Certificate) -> None:
    verifier = Verifier(clock=lambda: 1624523846.0)
    verifier.add_certificate(go_cert)
    verifier.verify(SignedHeaders.from_headers(GO_NOTIFY_HEADERS), GO_NOTIFY_BODY)
    # Verified first, then refused as an event type we do not handle (pay-score is out of scope).
    with pytest.raises(ProtocolError, match="event_type"):
        parse_notification(verifier, b"testMchAPIv3Key0", GO_NOTIFY_HEADERS, GO_NOTIFY_BODY)
    # The same message a day later is stale.
    late = Verifier(clock=lambda: 1624523846.0 + 86400)
    late.add_certificate(go_cert)
    with pytest.raises(SignatureError, match="window"):
        parse_notification(late, b"testMchAPIv3Key0", GO_NOTIFY_HEADERS, GO_NOTIFY_BODY)


# §6.5 derived vectors ------------------------------------------------------------------------------

TS, NONCE = "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242"
JSAPI_BODY = (
    '{"appid":"wxd678efh567hg6787","mchid":"1230000109","description":"Image形象店-深圳腾大-QQ公仔",'
    '"out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php",'
    '"amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}'
).encode()
JSAPI_SIGNATURE = (
    "pZiQhrF522xeAq+RRHDJybp2Pa+UY+kdjK/7ttFy6n20wjQGCBWdMWasBFz0gS+hxH3ljSj6KXmwA2jtjZTsdZoWBf5SDw1OfgmXpI0onXKS08kt7+"
    "mnMkJFpuT3QtlDBtfOcW5DQjA2JezMtJLsVDfd1cja8EyDVkRAmVeI2ZK3/+OFZirZ9Qt10l7ojFZyc2nb8yOCi6w1W2UUEZenveeim5v9qFLZbTupU"
    "kzR8TwjSJXOKK4EA+OY6HACrFD8QeaKvezTwQbGqTiH3gZvajrbuK4iHIZKThBs413j4xRau+ZocaMYm18dgCX2DitoYqjpsmIiL69zeD8dWz4LuQ=="
)
QUERY_SIGNATURE = (
    "Mi6/vU9oV2sHqOtO5LZDQBvzCU+Hti+oFJOfyB0oyR0kxDgmeHmTqczM3gzb5jNY/uFYvtMBOke1DxYDEK6rSE3l7Y0Xp3WrgX7gZgRTHJAz/qFRze1q"
    "VxK1kWx1wcXs9jqWHy3BApmDEFO+2oBGfde4qmTG9oAMYmJZ3QTWVjNOKTaJ3lH5HbAdX+gFAO1PIOUmL8HnMlLWVNyW7BJzFFYiBvJmsSp5lgdW0Jw7"
    "6oMZ0LCiPqe5FlzovlZQXx4uup7PMpGcUVzFQ69APJeBVQqAMuQJDiCbl5/XCi3eteFKVj0ZpQrcpJa+kynM0Z8TE/CwPMVR0c5b2xN1s7ofUQ=="
)
EMPTY_RESPONSE_SIGNATURE = (
    "FvlS+Ab7shbPZIPgZBeHWZkY6n5jgdU61ZW35+bXAtnB2uC/9RHI9bvSQEcWV6ncZbjrbGhOIQFkGcjmG9KAN25jisOMdVJ92CYkuiQE+hgvsHtvRr2B"
    "pgKBxEXfFXmHEmivNkc9ShQr6VYiGunG0VqREcSE9tAtZnbwtNe0Ah1ArDHZb8qiQPFrazv2MmKfl15Ve68SX9BvEZO3Z2I6yR6MfKal/IWKDgBDGSDl"
    "qYzmZV3gb6E76ai08Wmt6ijn2MJbfQ++jjDIpivdilSPmcGqPQSR+zfnJt6XGpMDCsip8KDP2Olm3C6LfX0CAJ0D/RLelu2ZAMvW5ZFEoad0Lw=="
)
PAY_SIGN = (
    "UV+EKQ3OdnOkUbbKaVi53s/67T59JbHx9gc9MaWoQEOaiZH+uYMByfW2MWXTZW1gnOXl1CqwzHtx7QUxfatSdSxgBhbNhJx1QaxkP0zSXAgXIoWPAk"
    "tOlj9n/phfOH95rNl8bHzRDUoNAMQmfQy8SHGooKtEU6/87nWXHhcYarv/nmtgAJcwsV+lGJQ4jLZhGl5BaAvpLW1Xg8yYg1DXNjik2SPK8d+4FRSkW"
    "671wIvxXQCYqG3mi3FvxP5XJ3OBVbPk4GRf/8wi2r2eiqXYd5e4mRMIAOGxqape9Cm46kxrjlHF0uM+wSir4Nychn2H5geUh2YvE8vJJMAqmkN2gg=="
)
APP_SIGN = (
    "k9dDLJX9oaCVgeQ2uOjxTFhB/ww7Wgz9521j9IZFCbU5xkC6Q1me7jYto/WqhjPdMrFrI1iRf9alm+0iDYwGPIrvwzRFYD+k9MHIeKt8hNp9j+f60WII"
    "SEeNJtEVjRIjW1RFQkYXUgzyi5PXHsOgSS5lq+FXV3Rioe/WiZl4Xxxuq/MYDNlaSKKv1EJN45ft/lQCRd3Es7pQct3rA+OL4IiwyUq4W0FO4DggJAgZ"
    "LHB0Cu5f1a3h4uQ9rHTYPelojk1Hs41SKonv0O5UT/su6SFNvtcP5BfupXZ6tbs9cDNfvQepcHEeA6d1xNR+LsaXJHWsZ8CjqY0B9cQ/WwVVpg=="
)
NOTIFY_PT = (
    '{"mchid":"1230000109","appid":"wxd678efh567hg6787","out_trade_no":"1217752501201407033233368018",'
    '"transaction_id":"4200000483202001042069747825","trade_type":"JSAPI","trade_state":"SUCCESS",'
    '"trade_state_desc":"支付成功","bank_type":"OTHERS","attach":"","success_time":"2020-01-04T18:30:59+08:00",'
    '"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY",'
    '"payer_currency":"CNY"}}'
).encode()
NOTIFY_CT = (
    "CjvS+0eyZkyq9iT1P7ZuJyRdB85YPKxVY9zPGAzb5V+qEf65YLpT0VTFPc8FhXUf0LgWO45h3UtHJ8clhYXWZ//hjkAjTpcxauOuSJ4l+1rhnIAzV8aN"
    "fc40a+gUCRprEjyBFRt7RRTA2o/M64azd+QpiQQJ2984S18R7Adbt0oER+OCoFTJY4/MU+F0iERco+UXtz00isXAytJnhpOpSonYEo1tKhiNoDywrHqr"
    "/PEBHMp3ywRE/ncn5dyKV7CyadDmfHWBWoYzu+K+Gw+kMGmKfCM8A8q4uENrqsVXBz16weQLGjEtQxFPwcrtcaEGijCr86q8/rzf8Suv48Iotuo5fJrq"
    "+PnJp2JbKm2hvisWgUY6J63WZBCZGO+jei4VBTBVIiffb2C+BOH9qBruHIXfXpDlBHkNagbKjsoY0iIjB3VyvEEiNc3tRFpttJq5lxjBcNYIawRpDf7l"
    "B7HDVq0JQm+NrX6UzaU7LH0m+q+7mvRcmR6Wdq8eBOkw83Ss+u03mwPxrBUx+jVLLEEXA7Zh4rrCxl/XmObE3/NcofYycrGLzhHEH1dqhKiRPwOyR9Qf"
    "Sda0Bc75CWvZtkCL"
)
NOTIFY_SIGNATURE = (
    "xyHK2WWHq2JvXeQstrRJNDZCizQy9UHpGJ8HFgjcRp2eH+RkQBWxIO1751nesSAQ4x/TGXH0vi3iUGUb5fNSwYaz4U/z0YRhNNtvK6ow1QphVuqJQGH1"
    "MNSj1PcPBGI/+eROU4a5WVCLkPb5sf4llTwXdmJvTAnIijEp17wD7LlXcLLuDfjpfyjyMcpyznRIE5e8sbvGihPXcjiR7W8sFx3pqcIFgWBQyYsQ5qab"
    "ZLmKX6fSNbTyg+PudkWBzuUfS/3eJ0EMt/Ug+eGc68VSEwpfScwsIA5FpAz344/J68KO7UHK3yDCH+jcHRK79cz9UGz/MnshKK+JuJLlXZe6zQ=="
)
NOTIFY_BODY = (
    '{"id":"EV-2018022511223320873","create_time":"2020-01-04T18:31:00+08:00","resource_type":"encrypt-resource",'
    '"event_type":"TRANSACTION.SUCCESS","summary":"支付成功","resource":{"original_type":"transaction",'
    '"algorithm":"AEAD_AES_256_GCM","ciphertext":"' + NOTIFY_CT + '","associated_data":"transaction",'
    '"nonce":"xk0eRbS8Dqjc"}}'
).encode("utf-8")
NOTIFY_HEADERS = {
    "Wechatpay-Timestamp": "1578133860",
    "Wechatpay-Nonce": "c5ac7061fccab6bf3e254dcf98995b8c",
    "Wechatpay-Serial": "D7CE59D1F522D701",
    "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    "Wechatpay-Signature": NOTIFY_SIGNATURE,
}


def _vector_ctx(go_key: RSAPrivateKey) -> Context:
    creds = MerchantCredentials(
        mchid="1230000109", api_v3_key=JAVA_KEY.decode(), private_key=go_key, merchant_serial_no="F5765756002FDD77"
    )
    return Context(credentials=creds, clock=lambda: float(TS), nonce=lambda: NONCE)


def test_jsapi_prepay_operation_builds_the_exact_vector_bytes(go_key: RSAPrivateKey) -> None:
    ctx = _vector_ctx(go_key)
    request = CreateOrder(
        channel="jsapi",
        appid="wxd678efh567hg6787",
        description="Image形象店-深圳腾大-QQ公仔",
        out_trade_no="1217752501201407033233368018",
        amount_fen=100,
        notify_url="https://www.weixin.qq.com/wxpay/pay.php",
        payer_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    ).build(ctx)
    assert (request.method, request.path, request.body) == ("POST", "/v3/pay/transactions/jsapi", JSAPI_BODY)
    header = authorization(
        mchid="1230000109",
        serial_no="F5765756002FDD77",
        private_key=go_key,
        method="POST",
        canonical_url=request.path,
        body=request.body,
        timestamp=TS,
        nonce=NONCE,
    )
    assert header == (
        'WECHATPAY2-SHA256-RSA2048 mchid="1230000109",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",'
        f'timestamp="1554208460",serial_no="F5765756002FDD77",signature="{JSAPI_SIGNATURE}"'
    )


def test_query_operation_signs_the_vector_url(go_key: RSAPrivateKey) -> None:
    request = QueryOrder(out_trade_no="1217752501201407033233368018").build(_vector_ctx(go_key))
    assert request.path == "/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1230000109"
    assert request.body == b""
    assert rsa_sign(go_key, request_message("GET", request.path, TS, NONCE, b"")) == QUERY_SIGNATURE


def test_empty_response_signature_vector(go_key: RSAPrivateKey) -> None:
    assert response_message(TS, NONCE, b"") == b"1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
    headers = sign_response(go_key, "D7CE59D1F522D701", b"", TS, NONCE)
    assert headers["Wechatpay-Signature"] == EMPTY_RESPONSE_SIGNATURE
    assert headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"


def test_pay_sign_vectors(go_key: RSAPrivateKey) -> None:
    params = jsapi_params(
        go_key,
        "wx8888888888888888",
        "wx201410272009395522657a690389285100",
        "1414561699",
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    )
    assert params == {
        "appId": "wx8888888888888888",
        "timeStamp": "1414561699",
        "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "package": "prepay_id=wx201410272009395522657a690389285100",
        "signType": "RSA",
        "paySign": PAY_SIGN,
    }
    app = app_params(
        go_key,
        "wx8888888888888888",
        "1230000109",
        "wx201410272009395522657a690389285100",
        "1414561699",
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    )
    assert app["sign"] == APP_SIGN
    assert app["package"] == "Sign=WXPay" and app["partnerid"] == "1230000109"
    assert (
        pay_sign(
            go_key,
            "wx8888888888888888",
            "1414561699",
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            "wx201410272009395522657a690389285100",
        )
        == APP_SIGN
    )


def test_transaction_notification_vector_is_rebuilt_byte_for_byte(go_key: RSAPrivateKey) -> None:
    assert (
        encrypt_resource(JAVA_KEY, "transaction", "transaction", NOTIFY_PT, "xk0eRbS8Dqjc")["ciphertext"] == NOTIFY_CT
    )
    headers, body = build_notification(
        private_key=go_key,
        serial="D7CE59D1F522D701",
        api_v3_key=JAVA_KEY,
        notification_id="EV-2018022511223320873",
        create_time="2020-01-04T18:31:00+08:00",
        event_type="TRANSACTION.SUCCESS",
        summary="支付成功",
        original_type="transaction",
        associated_data="transaction",
        plaintext=NOTIFY_PT,
        resource_nonce="xk0eRbS8Dqjc",
        timestamp="1578133860",
        nonce="c5ac7061fccab6bf3e254dcf98995b8c",
    )
    assert body == NOTIFY_BODY
    assert {name: headers[name] for name in NOTIFY_HEADERS} == NOTIFY_HEADERS


def test_transaction_notification_vector_parses_with_frozen_clock(go_key: RSAPrivateKey) -> None:
    verifier = Verifier(clock=lambda: 1578133860.0 + 120)
    verifier.add_public_key("D7CE59D1F522D701", go_key.public_key())
    notification = parse_notification(verifier, JAVA_KEY, NOTIFY_HEADERS, NOTIFY_BODY)
    assert isinstance(notification, TransactionNotification)
    assert notification.id == "EV-2018022511223320873"
    assert notification.summary == "支付成功"
    tx = notification.transaction
    assert (tx.out_trade_no, tx.transaction_id, tx.trade_state) == (
        "1217752501201407033233368018",
        "4200000483202001042069747825",
        "SUCCESS",
    )
    assert tx.amount.total_fen == 100 and tx.amount.payer_total_fen == 100
    assert tx.payer_openid == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert tx.success_time == datetime(2020, 1, 4, 10, 30, 59, tzinfo=UTC)
    assert tx.attach == ""
    # Without the Signature-Type header the same message is refused, as wechatpayv3 does.
    headers = {k: v for k, v in NOTIFY_HEADERS.items() if k != "Wechatpay-Signature-Type"}
    with pytest.raises(SignatureError):
        parse_notification(verifier, JAVA_KEY, headers, NOTIFY_BODY)
