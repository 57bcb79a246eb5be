"""API v2 notifications: payment (signed) and refund (encrypted), against vectors and wechatpy."""

from __future__ import annotations

import base64
import datetime as dt
import hmac

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st
from v2vectors import (
    V2_APPID,
    V2_KEY,
    V2_MCHID,
    WECHATPY_REFUND_APPID,
    WECHATPY_REFUND_KEY,
    WECHATPY_REFUND_MCHID,
    WECHATPY_REQ_INFO,
)
from wechatpy.crypto import WeChatRefundCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature, dict_to_xml

from weipay.sdk.crypto import aes_ecb_decrypt, aes_ecb_encrypt
from weipay.sdk.errors import ProtocolError, SignatureError
from weipay.sdk.v2 import (
    BEIJING,
    failure_reply,
    from_xml,
    parse_payment_notification,
    parse_refund_notification,
    sign,
    success_reply,
    to_xml,
)
from weipay.sdk.v2.wechat_side import build_payment_notification, build_refund_notification

PAYMENT = {
    "appid": V2_APPID,
    "bank_type": "OTHERS",
    "cash_fee": "1",
    "fee_type": "CNY",
    "is_subscribe": "N",
    "mch_id": "10000100",  # PROTOCOL.md §6.1.3 vector
    "nonce_str": "5d2b6c2a8db53831f7eda20af46e531c",
    "openid": "oUpF8uMEb4qRXf22hE3X68TekukE",
    "out_trade_no": "1409811653",
    "result_code": "SUCCESS",
    "return_code": "SUCCESS",
    "time_end": "20140903131540",
    "total_fee": "1",
    "trade_type": "JSAPI",
    "transaction_id": "4200000483202001042069747825",
}
COUPONS = {
    "coupon_fee": "10",
    "coupon_count": "1",
    "coupon_type_0": "CASH",
    "coupon_id_0": "10000",
    "coupon_fee_0": "10",
}
REFUND = {
    "transaction_id": "4200000483202001042069747825",
    "out_trade_no": "1217752501201407033233368018",
    "refund_id": "50300103182020010413419046597",
    "out_refund_no": "R1217752501201407033233368018",
    "total_fee": "100",
    "settlement_total_fee": "100",
    "refund_fee": "100",
    "settlement_refund_fee": "100",
    "refund_status": "SUCCESS",
    "success_time": "2020-01-04 18:34:24",
    "refund_recv_accout": "招商银行信用卡8915",
    "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
    "refund_request_source": "API",
}


def _wechatpy(appid: str = V2_APPID, key: str = V2_KEY, mch_id: str = V2_MCHID) -> WeChatPay:
    return WeChatPay(appid=appid, api_key=key, mch_id=mch_id)


# ---- payment notifications ----


def test_vector_6_1_3_notification_is_accepted_by_us_and_wechatpy() -> None:
    body = build_payment_notification(V2_KEY, PAYMENT)
    assert from_xml(body)["sign"] == "0C5C906C8FE7E8994CCC8375ADEABE7A"
    note = parse_payment_notification(V2_KEY, body)
    assert note.total_fee_fen == 1
    assert note.cash_fee_fen == 1
    assert note.out_trade_no == "1409811653"
    assert note.transaction_id == "4200000483202001042069747825"
    assert note.time_end == dt.datetime(2014, 9, 3, 13, 15, 40, tzinfo=BEIJING)
    assert note.time_end.utcoffset() == dt.timedelta(hours=8)
    assert note.attach is None
    parsed = _wechatpy().parse_payment_result(body)
    assert parsed["total_fee"] == 1
    assert parsed["sign"] == "0C5C906C8FE7E8994CCC8375ADEABE7A"


def test_coupon_and_unknown_fields_are_verified_and_kept_in_raw() -> None:
    body = build_payment_notification(V2_KEY, {**PAYMENT, **COUPONS, "attach": "a&b<c>", "new_field_2030": "x"})
    note = parse_payment_notification(V2_KEY, body)
    assert note.raw["coupon_id_0"] == "10000"
    assert note.raw["new_field_2030"] == "x"
    assert note.attach == "a&b<c>"
    _wechatpy().parse_payment_result(body)


def test_we_accept_what_wechatpy_dict_to_xml_builds() -> None:
    fields = {**PAYMENT, **COUPONS, "attach": "订单 42"}
    body = dict_to_xml(fields, calculate_signature(fields, V2_KEY)).encode()
    assert parse_payment_notification(V2_KEY, body).attach == "订单 42"


def test_hmac_notification_carries_sign_type_and_needs_the_right_algorithm() -> None:
    body = build_payment_notification(V2_KEY, PAYMENT, sign_type="HMAC-SHA256")
    assert from_xml(body)["sign_type"] == "HMAC-SHA256"
    assert parse_payment_notification(V2_KEY, body).out_trade_no == "1409811653"
    assert parse_payment_notification(V2_KEY, body, "HMAC-SHA256").out_trade_no == "1409811653"
    with pytest.raises(SignatureError):
        parse_payment_notification(V2_KEY, body, "MD5")
    md5_body = build_payment_notification(V2_KEY, PAYMENT)
    with pytest.raises(SignatureError):
        parse_payment_notification(V2_KEY, md5_body, "HMAC-SHA256")


def _resign_without(fields: dict[str, str], name: str) -> bytes:
    return to_xml({k: v for k, v in fields.items() if k != name})


def test_forged_payment_notifications_are_refused() -> None:
    genuine = from_xml(build_payment_notification(V2_KEY, {**PAYMENT, "extra": "1"}))
    with pytest.raises(SignatureError, match="no sign"):
        parse_payment_notification(V2_KEY, _resign_without(genuine, "sign"))
    with pytest.raises(SignatureError):
        parse_payment_notification("0" * 32, to_xml(genuine))
    for name in ("total_fee", "out_trade_no", "extra", "result_code", "mch_id"):
        with pytest.raises(SignatureError):
            parse_payment_notification(V2_KEY, to_xml({**genuine, name: genuine[name] + "0"}))
    with pytest.raises(SignatureError):
        parse_payment_notification(V2_KEY, _resign_without(genuine, "extra"))
    with pytest.raises(SignatureError):
        parse_payment_notification(V2_KEY, to_xml({**genuine, "injected": "1"}))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_single_field_mutation_is_refused(data: st.DataObject) -> None:
    """T04 (property form): change, drop or add one field of a genuine notification → refused."""
    genuine = from_xml(build_payment_notification(V2_KEY, {**PAYMENT, **COUPONS}))
    names = sorted(k for k in genuine if k not in ("sign", "return_code"))
    name = data.draw(st.sampled_from(names))
    action = data.draw(st.sampled_from(["change", "drop", "add"]))
    forged = dict(genuine)
    if action == "change":
        forged[name] = data.draw(
            st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1).filter(
                lambda v: v != genuine[name] and v == v.strip()
            )
        )
    elif action == "drop":
        del forged[name]
    else:
        forged[name + "_x"] = "1"
    with pytest.raises((SignatureError, ProtocolError)):
        parse_payment_notification(V2_KEY, to_xml(forged))


def test_fail_notification_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_payment_notification(V2_KEY, b"<xml><return_code>FAIL</return_code><return_msg>x</return_msg></xml>")
    with pytest.raises(ProtocolError):
        parse_payment_notification(V2_KEY, b"<xml><a>1</a></xml>")


def test_signed_notification_with_malformed_amount_is_a_protocol_error() -> None:
    for bad in ("1.00", "-1", "+1", " 1", "１", ""):
        body = build_payment_notification(V2_KEY, {**PAYMENT, "total_fee": bad})
        with pytest.raises(ProtocolError):
            parse_payment_notification(V2_KEY, body)


def test_notification_verification_uses_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """T12: one constant-time comparison per notification."""
    calls: list[int] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    body = build_payment_notification(V2_KEY, PAYMENT)
    parse_payment_notification(V2_KEY, body)
    with pytest.raises(SignatureError):
        parse_payment_notification("0" * 32, body)
    assert len(calls) == 2


# ---- replies ----


def test_success_reply_is_exact() -> None:
    assert success_reply() == (
        b"<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
    )


def test_failure_reply_escapes_and_parses() -> None:
    reply = failure_reply("bad ]]> <sign> & \x00")
    assert from_xml(reply) == {"return_code": "FAIL", "return_msg": "bad ]]> <sign> &  "}


# ---- refund notifications: vectors ----


def _wechatpy_vector_body() -> bytes:
    return to_xml(
        {
            "return_code": "SUCCESS",
            "appid": WECHATPY_REFUND_APPID,
            "mch_id": WECHATPY_REFUND_MCHID,
            "nonce_str": "c1c237efc87ee8dfcb3f9124b63a4d94",
            "req_info": WECHATPY_REQ_INFO,
        }
    )


def test_vector_6_2_1_wechatpy_req_info() -> None:
    assert len(WECHATPY_REQ_INFO) == 1068
    plain = aes_ecb_decrypt(WECHATPY_REFUND_KEY, WECHATPY_REQ_INFO)
    assert len(plain) == 795  # 800 bytes with 5 bytes of PKCS#7 padding
    note = parse_refund_notification(
        WECHATPY_REFUND_KEY, _wechatpy_vector_body(), mchid=WECHATPY_REFUND_MCHID, appid=WECHATPY_REFUND_APPID
    )
    assert note.out_refund_no == "1234"
    assert note.out_trade_no == "2020010418301551404339261814"
    assert note.transaction_id == "4200000483202001042069747825"
    assert note.refund_id == "50300103182020010413419046597"
    assert note.refund_account == "REFUND_SOURCE_RECHARGE_FUNDS"
    assert note.refund_recv_accout == "招商银行信用卡8915"
    assert note.refund_request_source == "API"
    assert note.refund_status == "SUCCESS"
    assert (note.total_fee_fen, note.refund_fee_fen, note.settlement_refund_fee_fen) == (1, 1, 1)
    assert note.raw["settlement_total_fee"] == "1"
    assert note.success_time == dt.datetime(2020, 1, 4, 18, 34, 24, tzinfo=BEIJING)


def test_vector_6_2_2_php_aes_ecb_with_a_raw_key() -> None:
    """wechatpay-php uses the 32-byte key directly; our aes_ecb_* derive it as md5-hex of the APIv2 key."""
    key = b"0123456789abcdef0123456789abcdef"
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    sealed = encryptor.update(b"hello" + bytes([11]) * 11) + encryptor.finalize()
    assert base64.b64encode(sealed).decode() == "pZwJZBLuy3mDACEQT4YTBw=="
    assert aes_ecb_encrypt("0123456789abcdef0123456789abcdef", b"hello") != "pZwJZBLuy3mDACEQT4YTBw=="


def test_vector_6_2_3_our_refund_notification_is_decrypted_by_wechatpy() -> None:
    body = build_refund_notification(V2_KEY, V2_APPID, V2_MCHID, REFUND, nonce="c1c237efc87ee8dfcb3f9124b63a4d94")
    # ECB is deterministic: the same document always yields the same req_info.
    again = build_refund_notification(V2_KEY, V2_APPID, V2_MCHID, REFUND, nonce="c1c237efc87ee8dfcb3f9124b63a4d94")
    assert body == again
    theirs = WeChatRefundCrypto(V2_KEY).decrypt_message(body.decode(), V2_APPID, V2_MCHID)
    assert dict(theirs) == REFUND
    parsed = _wechatpy().parse_refund_notify_result(body.decode())
    assert parsed["refund_fee"] == 100
    ours = parse_refund_notification(V2_KEY, body, mchid=V2_MCHID, appid=V2_APPID)
    assert ours.out_refund_no == "R1217752501201407033233368018"
    assert ours.refund_fee_fen == 100
    assert ours.raw == REFUND


def test_refund_notification_for_another_merchant_is_refused() -> None:
    body = build_refund_notification(V2_KEY, V2_APPID, V2_MCHID, REFUND, nonce="n")
    with pytest.raises(SignatureError, match="another merchant"):
        parse_refund_notification(V2_KEY, body, mchid="1900000109")
    with pytest.raises(SignatureError, match="another merchant"):
        parse_refund_notification(V2_KEY, body, mchid=V2_MCHID, appid="wx0000000000000000")
    assert parse_refund_notification(V2_KEY, body, mchid=V2_MCHID).appid == V2_APPID


# ---- refund notifications: T26 robustness, one uniform error ----


def _outer(req_info: str) -> bytes:
    return to_xml(
        {"return_code": "SUCCESS", "appid": V2_APPID, "mch_id": V2_MCHID, "nonce_str": "n", "req_info": req_info}
    )


def _uniform_error(body: bytes, key: str = V2_KEY) -> str:
    with pytest.raises(SignatureError) as caught:
        parse_refund_notification(key, body, mchid=V2_MCHID)
    assert caught.value.__cause__ is None  # nothing chained that could tell padding from parsing
    return str(caught.value)


def _good_req_info() -> str:
    return from_xml(build_refund_notification(V2_KEY, V2_APPID, V2_MCHID, REFUND, nonce="n"))["req_info"]


def test_every_block_bit_flip_gives_the_same_error() -> None:
    sealed = bytearray(base64.b64decode(_good_req_info()))
    messages = set()
    for block in range(len(sealed) // 16):
        for bit in (0, 7):
            mutated = bytearray(sealed)
            mutated[block * 16 + 5] ^= 1 << bit
            messages.add(_uniform_error(_outer(base64.b64encode(bytes(mutated)).decode())))
    assert messages == {"refund notification req_info is invalid"}


def test_wrong_key_truncation_garbage_and_wrong_root_give_the_same_error() -> None:
    good = _good_req_info()
    sealed = base64.b64decode(good)
    cases = [
        _uniform_error(_outer(good), key="0" * 32),
        _uniform_error(_outer(base64.b64encode(sealed[:-16]).decode())),
        _uniform_error(_outer(base64.b64encode(sealed[:-3]).decode())),
        _uniform_error(_outer("not base64 !!!")),
        _uniform_error(_outer("")),
        _uniform_error(_outer(aes_ecb_encrypt(V2_KEY, to_xml(REFUND, root="xml")))),
        _uniform_error(_outer(aes_ecb_encrypt(V2_KEY, b"plain text, not XML"))),
        _uniform_error(_outer(aes_ecb_encrypt(V2_KEY, to_xml({**REFUND, "refund_fee": "1.5"}, root="root")))),
        _uniform_error(_outer(aes_ecb_encrypt(V2_KEY, to_xml({"refund_status": "SUCCESS"}, root="root")))),
        _uniform_error(
            _outer(aes_ecb_encrypt(V2_KEY, b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><root>&x;</root>'))
        ),
    ]
    assert set(cases) == {"refund notification req_info is invalid"}


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=256))
def test_random_ciphertexts_never_decrypt_to_a_notification(noise: bytes) -> None:
    assert _uniform_error(_outer(base64.b64encode(noise).decode())) == "refund notification req_info is invalid"


def test_fail_refund_notification_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_refund_notification(V2_KEY, failure_reply("x"), mchid=V2_MCHID)


def test_wechatpy_refuses_tampered_payment_notification_too() -> None:
    """Sanity check of the peer used as an oracle above: it does verify."""
    genuine = from_xml(build_payment_notification(V2_KEY, PAYMENT))
    tampered = to_xml({**genuine, "total_fee": "100"})
    with pytest.raises(InvalidSignatureException):
        _wechatpy().parse_payment_result(tampered)
    assert sign({**PAYMENT}, V2_KEY) == genuine["sign"]


_merchant_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), min_size=1, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(_merchant_text, st.integers(min_value=1, max_value=10**10))
def test_payment_notification_round_trip(attach: str, total_fee_fen: int) -> None:
    body = build_payment_notification(V2_KEY, {**PAYMENT, "attach": attach, "total_fee": str(total_fee_fen)})
    note = parse_payment_notification(V2_KEY, body)
    assert (note.attach, note.total_fee_fen) == (attach, total_fee_fen)


@settings(max_examples=100, deadline=None)
@given(_merchant_text, st.integers(min_value=1, max_value=10**10))
def test_refund_notification_round_trip(recv_account: str, refund_fee_fen: int) -> None:
    refund = {**REFUND, "refund_recv_accout": recv_account, "refund_fee": str(refund_fee_fen)}
    body = build_refund_notification(V2_KEY, V2_APPID, V2_MCHID, refund, nonce="n")
    note = parse_refund_notification(V2_KEY, body, mchid=V2_MCHID, appid=V2_APPID)
    assert (note.refund_recv_accout, note.refund_fee_fen) == (recv_account, refund_fee_fen)


def test_payment_notification_for_another_merchant_is_refused() -> None:
    body = build_payment_notification(V2_KEY, PAYMENT)
    assert parse_payment_notification(V2_KEY, body, mchid="10000100", appid=V2_APPID).mch_id == "10000100"
    with pytest.raises(SignatureError, match="another merchant"):
        parse_payment_notification(V2_KEY, body, mchid=V2_MCHID)
    with pytest.raises(SignatureError, match="another merchant"):
        parse_payment_notification(V2_KEY, body, appid="wx0000000000000000")
