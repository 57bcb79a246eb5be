"""Negative cases for signed messages (RELIABILITY T04, T05, T17) and property round trips."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weipay.sdk.crypto import aes_gcm_decrypt, aes_gcm_encrypt, rsa_sign, rsa_verify
from weipay.sdk.errors import SignatureError, SignTestProbe
from weipay.sdk.v3 import (
    SCHEME,
    SignedHeaders,
    UnknownSerial,
    Verifier,
    authorization,
    parse_authorization,
)
from weipay.sdk.v3.wechat_side import (
    MESSAGE_BAD_AUTHORIZATION,
    MESSAGE_BAD_SIGNATURE,
    MESSAGE_STALE_TIMESTAMP,
    sign_response,
    verify_request,
)

# The fixture certificates are minted at real time (valid from yesterday), so "now" follows the wall clock.
NOW = int(time.time())
BODY = b'{"prepay_id":"wx201410272009395522657a690389285100"}'


@pytest.fixture(scope="module")
def verifier(wechatpay_keys):
    verifier = Verifier(clock=lambda: float(NOW))
    verifier.add_public_key("PUB_KEY_ID_0000000000000024101100397200000006", wechatpay_keys.private_key.public_key())
    verifier.add_certificate(wechatpay_keys.certificate)
    return verifier


def _signed(keys, serial: str, body: bytes = BODY, timestamp: int = NOW, nonce: str = "n" * 32) -> dict[str, str]:
    return sign_response(keys.private_key, serial, body, str(timestamp), nonce)


def _verify(verifier: Verifier, headers: dict[str, str], body: bytes = BODY) -> None:
    verifier.verify(SignedHeaders.from_headers(headers), body)


@pytest.mark.parametrize("serial_kind", ["public_key", "certificate"])
def test_genuine_message_verifies_by_key_id_and_by_certificate_serial(verifier, wechatpay_keys, serial_kind) -> None:
    serial = "PUB_KEY_ID_0000000000000024101100397200000006" if serial_kind == "public_key" else wechatpay_keys.serial
    _verify(verifier, _signed(wechatpay_keys, serial))
    # Header names are case-insensitive (frameworks lower-case them).
    _verify(verifier, {k.lower(): v for k, v in _signed(wechatpay_keys, serial).items()})


@pytest.mark.parametrize("skew_s", [-299, 299, 0])
def test_skew_within_window_is_accepted(verifier, wechatpay_keys, skew_s) -> None:
    _verify(verifier, _signed(wechatpay_keys, wechatpay_keys.serial, timestamp=NOW + skew_s))


@pytest.mark.parametrize("skew_s", [-301, 301, -300, 300, -86400])
def test_skew_outside_window_is_rejected(verifier, wechatpay_keys, skew_s) -> None:
    with pytest.raises(SignatureError, match="window"):
        _verify(verifier, _signed(wechatpay_keys, wechatpay_keys.serial, timestamp=NOW + skew_s))


def test_tampering_is_rejected(verifier, wechatpay_keys) -> None:
    headers = _signed(wechatpay_keys, wechatpay_keys.serial)
    for index in range(len(BODY)):
        flipped = bytearray(BODY)
        flipped[index] ^= 0x01
        with pytest.raises(SignatureError):
            _verify(verifier, headers, bytes(flipped))
    for name, value in [("Wechatpay-Nonce", "m" * 32), ("Wechatpay-Timestamp", str(NOW + 1))]:
        with pytest.raises(SignatureError):
            _verify(verifier, {**headers, name: value})
    other_body = _signed(wechatpay_keys, wechatpay_keys.serial, body=b"{}")
    with pytest.raises(SignatureError):
        _verify(verifier, other_body)


def test_wrong_key_is_rejected(verifier, wechatpay_keys, merchant_keys) -> None:
    with pytest.raises(SignatureError, match="does not verify"):
        _verify(verifier, _signed(merchant_keys, wechatpay_keys.serial))


def test_signtest_probe_is_its_own_signature_error(verifier, wechatpay_keys) -> None:
    headers = {**_signed(wechatpay_keys, wechatpay_keys.serial), "Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc=="}
    with pytest.raises(SignTestProbe):
        _verify(verifier, headers)


@pytest.mark.parametrize(
    "missing",
    ["Wechatpay-Signature-Type", "Wechatpay-Signature", "Wechatpay-Serial", "Wechatpay-Nonce", "Wechatpay-Timestamp"],
)
def test_missing_header_is_rejected(wechatpay_keys, missing) -> None:
    headers = _signed(wechatpay_keys, wechatpay_keys.serial)
    del headers[missing]
    with pytest.raises(SignatureError, match="missing header"):
        SignedHeaders.from_headers(headers)


def test_other_signature_type_is_rejected(verifier, wechatpay_keys) -> None:
    headers = {**_signed(wechatpay_keys, wechatpay_keys.serial), "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}
    with pytest.raises(SignatureError, match="Signature-Type"):
        _verify(verifier, headers)


@pytest.mark.parametrize(
    "serial",
    ["../../etc/passwd", "A" * 10_240, "PUB_KEY_ID_../x", "", "0x1F", "ＡＢ12", "DEADBEEF\x00", "D7CE 59D1"],
)
def test_junk_serials_are_plain_signature_errors(verifier, wechatpay_keys, serial) -> None:
    with pytest.raises(SignatureError):
        _verify(verifier, _signed(wechatpay_keys, serial))


def test_unknown_but_well_formed_serial_names_itself(verifier, wechatpay_keys) -> None:
    with pytest.raises(UnknownSerial) as caught:
        _verify(verifier, _signed(wechatpay_keys, "5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC"))
    assert caught.value.serial == "5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC"


@pytest.mark.parametrize("timestamp", ["+1700000000", " 1700000000", "1_700_000_000", "١٧٠٠٠٠٠٠٠٠", "9" * 10_240, ""])
def test_malformed_timestamps_are_rejected(verifier, wechatpay_keys, timestamp) -> None:
    headers = {**_signed(wechatpay_keys, wechatpay_keys.serial), "Wechatpay-Timestamp": timestamp}
    with pytest.raises(SignatureError):
        _verify(verifier, headers)


_header_text = st.one_of(
    st.text(max_size=64),
    st.text(alphabet="0123456789ABCDEF", max_size=80),
    st.just("x" * 10_240),
    st.just("WECHATPAY/SIGNTEST/" + "a" * 300),
)


@settings(max_examples=300, deadline=None)
@given(
    timestamp=_header_text,
    nonce=_header_text,
    signature=_header_text,
    serial=_header_text,
    signature_type=st.one_of(st.just(SCHEME), _header_text),
    body=st.binary(max_size=256),
)
def test_fuzzed_headers_only_ever_raise_signature_error(
    verifier, timestamp, nonce, signature, serial, signature_type, body
) -> None:
    headers = {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": signature_type,
    }
    with pytest.raises(SignatureError):
        _verify(verifier, headers, body)


@settings(max_examples=25, deadline=None)
@given(
    body=st.binary(max_size=2048),
    nonce=st.text(alphabet="0123456789abcdef", min_size=1, max_size=32),
    skew_s=st.integers(min_value=-299, max_value=299),
)
def test_sign_verify_round_trip(verifier, wechatpay_keys, body, nonce, skew_s) -> None:
    _verify(verifier, _signed(wechatpay_keys, wechatpay_keys.serial, body, NOW + skew_s, nonce), body)


@settings(max_examples=100, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32),
    nonce=st.text(alphabet="abcXYZ0189", min_size=12, max_size=12),
    aad=st.text(max_size=40),
    plaintext=st.binary(max_size=1024),
)
def test_aes_gcm_round_trip_and_binding(key, nonce, aad, plaintext) -> None:
    sealed = aes_gcm_encrypt(key, nonce, aad, plaintext)
    assert aes_gcm_decrypt(key, nonce, aad, sealed) == plaintext
    with pytest.raises(SignatureError):
        aes_gcm_decrypt(key, nonce, aad + "!", sealed)


# Merchant requests, as WeChat (and the simulator) checks them ------------------------------------

_params = st.fixed_dictionaries(
    {
        "mchid": st.from_regex(r"[0-9]{8,10}", fullmatch=True),
        "nonce": st.text(alphabet="0123456789ABCDEFabcdef-", min_size=1, max_size=40),
        "serial": st.from_regex(r"[0-9A-F]{1,40}", fullmatch=True),
        "path": st.from_regex(r"/v3/[a-z\-/]{1,30}(\?[a-z_]{1,8}=[0-9A-Za-z%]{1,10})?", fullmatch=True),
        "body": st.binary(max_size=300),
        "skew": st.integers(min_value=-300, max_value=300),
        "seed": st.integers(min_value=0, max_value=2**32),
    }
)


@settings(max_examples=25, deadline=None)
@given(p=_params)
def test_authorization_round_trip_in_any_parameter_order(merchant_keys, p) -> None:
    timestamp = str(NOW + p["skew"])
    header = authorization(
        mchid=p["mchid"],
        serial_no=p["serial"],
        private_key=merchant_keys.private_key,
        method="POST",
        canonical_url=p["path"],
        body=p["body"],
        timestamp=timestamp,
        nonce=p["nonce"],
    )
    scheme, _, rest = header.partition(" ")
    pairs = rest.split(",")
    random.Random(p["seed"]).shuffle(pairs)
    shuffled = f"{scheme} {','.join(pairs)}"
    parsed = verify_request(
        merchant_keys.private_key.public_key(), "POST", p["path"], {"Authorization": shuffled}, p["body"], NOW
    )
    assert (parsed.mchid, parsed.nonce_str, parsed.timestamp, parsed.serial_no) == (
        p["mchid"],
        p["nonce"],
        timestamp,
        p["serial"],
    )
    assert parse_authorization(shuffled) == parsed


def _request_headers(merchant_keys, timestamp: int, body: bytes = b"{}", path: str = "/v3/pay/transactions/native"):
    return {
        "authorization": authorization(
            mchid="1230000109",
            serial_no="ABC",
            private_key=merchant_keys.private_key,
            method="POST",
            canonical_url=path,
            body=body,
            timestamp=str(timestamp),
            nonce="abc",
        )
    }


@pytest.mark.parametrize("skew_s", [-300, 300])
def test_request_skew_of_300_s_is_accepted(merchant_keys, skew_s) -> None:
    headers = _request_headers(merchant_keys, NOW + skew_s)
    verify_request(merchant_keys.private_key.public_key(), "POST", "/v3/pay/transactions/native", headers, b"{}", NOW)


@pytest.mark.parametrize("skew_s", [-301, 301])
def test_request_skew_beyond_300_s_is_refused_with_wechats_message(merchant_keys, skew_s) -> None:
    headers = _request_headers(merchant_keys, NOW + skew_s)
    with pytest.raises(SignatureError) as caught:
        verify_request(
            merchant_keys.private_key.public_key(), "POST", "/v3/pay/transactions/native", headers, b"{}", NOW
        )
    assert caught.value.message == MESSAGE_STALE_TIMESTAMP


def test_request_tampering_is_refused_with_wechats_message(merchant_keys, wechatpay_keys) -> None:
    public = merchant_keys.private_key.public_key()
    headers = _request_headers(merchant_keys, NOW)
    for method, path, body, key in [
        ("POST", "/v3/pay/transactions/native", b"{ }", public),
        ("POST", "/v3/pay/transactions/jsapi", b"{}", public),
        ("GET", "/v3/pay/transactions/native", b"{}", public),
        ("POST", "/v3/pay/transactions/native", b"{}", wechatpay_keys.private_key.public_key()),
    ]:
        with pytest.raises(SignatureError) as caught:
            verify_request(key, method, path, headers, body, NOW)
        assert caught.value.message == MESSAGE_BAD_SIGNATURE


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        'WECHATPAY2-SHA256-RSA2048 mchid="1"',
        'Bearer mchid="1",nonce_str="a",timestamp="1",serial_no="A",signature="x"',
        'WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2",nonce_str="a",timestamp="1",serial_no="A",signature="x"',
        'WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="a",timestamp="soon",serial_no="A",signature="x"',
        "WECHATPAY2-SHA256-RSA2048 " + "x" * 10_240,
    ],
)
def test_malformed_authorization_is_refused(merchant_keys, header) -> None:
    headers = {} if header is None else {"Authorization": header}
    with pytest.raises(SignatureError) as caught:
        verify_request(merchant_keys.private_key.public_key(), "GET", "/v3/certificates", headers, b"", NOW)
    assert caught.value.message == MESSAGE_BAD_AUTHORIZATION


def test_rsa_verify_refuses_non_base64_and_wrong_lengths(wechatpay_keys) -> None:
    public = wechatpay_keys.private_key.public_key()
    good = rsa_sign(wechatpay_keys.private_key, b"m")
    for bad in ["", "WECHATPAY/SIGNTEST/x", good[:-4], good + "AAAA", "é" * 10, "A" * 10_000]:
        assert rsa_verify(public, b"m", bad) is False
