"""RELIABILITY T04 as a seeded campaign: 2,000+ mutations of a genuine notification, none accepted."""

from __future__ import annotations

import base64
import json
import random
import time

import pytest
from sdk_samples import signed_notification, transaction

from weipay.sdk.errors import ProtocolError, SignatureError
from weipay.sdk.v3 import TransactionNotification, Verifier, parse_notification
from weipay.sdk.v3.wechat_side import sign_response

API_V3_KEY = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
NOW = int(time.time())
TRANSACTION = transaction()


@pytest.fixture(scope="module")
def genuine(wechatpay_keys):
    return signed_notification(
        wechatpay_keys.private_key, wechatpay_keys.serial, TRANSACTION, api_v3_key=API_V3_KEY, timestamp=NOW
    )


def _mutate(rng: random.Random, headers: dict[str, str], body: bytes, keys, other_keys) -> tuple[dict, bytes]:
    headers = dict(headers)
    kind = rng.randrange(9)
    if kind == 0:  # flip one bit of the body
        data = bytearray(body)
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        body = bytes(data)
    elif kind == 1:  # insert or delete a byte
        at = rng.randrange(len(body))
        body = body[:at] + body[at + 1 :] if rng.random() < 0.5 else body[:at] + b" " + body[at:]
    elif kind == 2:  # shift the timestamp
        headers["Wechatpay-Timestamp"] = str(NOW + rng.choice([-1, 1]) * rng.randint(1, 10))
    elif kind == 3:  # change the nonce
        nonce = list(headers["Wechatpay-Nonce"])
        nonce[rng.randrange(len(nonce))] = rng.choice("0123456789abcdef")
        if "".join(nonce) == headers["Wechatpay-Nonce"]:
            nonce.append("0")
        headers["Wechatpay-Nonce"] = "".join(nonce)
    elif kind == 4:  # a valid signature over a different body
        other = body.replace(b"ORDER_000001", b"ORDER_000002")
        headers = {
            **headers,
            **sign_response(
                keys.private_key, keys.serial, other, headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"]
            ),
        }
    elif kind == 5:  # signed by another key under WeChat's serial
        headers = {
            **headers,
            **sign_response(
                other_keys.private_key, keys.serial, body, headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"]
            ),
        }
    elif kind == 6:  # damage the signature
        raw = bytearray(base64.b64decode(headers["Wechatpay-Signature"]))
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        headers["Wechatpay-Signature"] = base64.b64encode(bytes(raw)).decode()
    elif kind == 7:  # signature type, serial or probe
        name, value = rng.choice(
            [
                ("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3"),
                ("Wechatpay-Serial", "ABCDEF0123"),
                ("Wechatpay-Signature", "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]),
            ]
        )
        headers[name] = value
    else:  # a genuinely signed body whose ciphertext, tag, nonce or AAD was altered
        envelope = json.loads(body)
        resource = envelope["resource"]
        field = rng.choice(["ciphertext", "associated_data", "nonce"])
        if field == "ciphertext":
            sealed = bytearray(base64.b64decode(resource["ciphertext"]))
            sealed[rng.randrange(len(sealed))] ^= 1 << rng.randrange(8)  # body bytes or the 16-byte tag
            resource["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
        elif field == "associated_data":
            resource["associated_data"] = rng.choice(["refund", "", "transactio", "transaction "])
        else:
            resource["nonce"] = resource["nonce"][::-1]
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            **headers,
            **sign_response(
                keys.private_key, keys.serial, body, headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"]
            ),
        }
    return headers, body


def test_no_mutation_is_accepted(genuine, wechatpay_keys, merchant_keys) -> None:
    verifier = Verifier(clock=lambda: float(NOW))
    verifier.add_certificate(wechatpay_keys.certificate)
    headers, body = genuine
    assert isinstance(parse_notification(verifier, API_V3_KEY, headers, body), TransactionNotification)
    rng = random.Random(20260104)
    accepted, tried = 0, 2_100
    for _ in range(tried):
        forged_headers, forged_body = _mutate(rng, headers, body, wechatpay_keys, merchant_keys)
        if (forged_headers, forged_body) == (headers, body):
            continue
        try:
            parse_notification(verifier, API_V3_KEY, forged_headers, forged_body)
        except (SignatureError, ProtocolError):
            continue
        accepted += 1
    assert accepted == 0, f"forged accepted {accepted} / {tried}"
