"""API v2 signatures: published vectors (PROTOCOL.md §6.1), wechatpy interop, properties, T04, T12."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from v2vectors import V2_KEY
from wechatpy.pay.utils import calculate_signature, calculate_signature_hmac, dict_to_xml

from weipay.sdk.v2 import SignType, from_xml, sign, signing_string, verify

OFFICIAL = {
    "appid": "wxd930ea5d5a258f4f",
    "mch_id": "10000100",
    "device_info": "1000",
    "body": "test",
    "nonce_str": "ibuaiVcKdpRxkhJA",
}

NOTIFICATION_6_1_3 = {
    "appid": "wxd930ea5d5a258f4f",
    "bank_type": "OTHERS",
    "cash_fee": "1",
    "fee_type": "CNY",
    "is_subscribe": "N",
    "mch_id": "10000100",
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


def test_official_example_signing_string() -> None:
    assert signing_string(OFFICIAL, V2_KEY) == (
        b"appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100"
        b"&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d"
    )


def test_official_example_md5() -> None:
    assert sign(OFFICIAL, V2_KEY) == "9A0A8659F005D6984697E2CA0A9CF3B7"
    assert sign(OFFICIAL, V2_KEY, "MD5") == "9A0A8659F005D6984697E2CA0A9CF3B7"


def test_official_example_hmac_sha256() -> None:
    expected = "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
    assert sign(OFFICIAL, V2_KEY, SignType.HMAC_SHA256) == expected


def test_wechatpy_test_vector() -> None:
    params = {"test1": "test1", "test2": "test2"}
    assert sign(params, V2_KEY) == "1E3A8D73B5A4AEE787C0F68B5DAB8520"
    assert sign(params, V2_KEY, "HMAC-SHA256") == "EDAC6D70D2FDF5A2382F8204FC96A1918017E46ACC5297F565ED1A7610ACF659"
    xml = dict_to_xml(params, "1E3A8D73B5A4AEE787C0F68B5DAB8520")
    assert xml == (
        "<xml>\n<test1><![CDATA[test1]]></test1>\n<test2><![CDATA[test2]]></test2>\n"
        "<sign><![CDATA[1E3A8D73B5A4AEE787C0F68B5DAB8520]]></sign>\n</xml>"
    )
    assert verify(from_xml(xml), V2_KEY)


def test_notification_vector_6_1_3() -> None:
    assert sign(NOTIFICATION_6_1_3, V2_KEY) == "0C5C906C8FE7E8994CCC8375ADEABE7A"


def test_sign_excludes_sign_and_empty_values_but_includes_sign_type() -> None:
    with_noise = {**OFFICIAL, "sign": "WHATEVER", "attach": "", "detail": None}
    assert sign(with_noise, V2_KEY) == sign(OFFICIAL, V2_KEY)
    with_type = {**OFFICIAL, "sign_type": "MD5"}
    assert sign(with_type, V2_KEY) != sign(OFFICIAL, V2_KEY)


def test_verify_uses_the_message_sign_type_then_md5() -> None:
    hmac_message = {**OFFICIAL, "sign_type": "HMAC-SHA256"}
    hmac_message["sign"] = sign(hmac_message, V2_KEY, "HMAC-SHA256")
    assert verify(hmac_message, V2_KEY)
    assert not verify(hmac_message, V2_KEY, SignType.MD5)  # T04: MD5 order, HMAC message
    md5_message = {**OFFICIAL, "sign": sign(OFFICIAL, V2_KEY)}
    assert verify(md5_message, V2_KEY)
    assert not verify(md5_message, V2_KEY, SignType.HMAC_SHA256)  # and vice versa


@pytest.mark.parametrize("bad", [None, "", "0" * 32, "9A0A8659F005D6984697E2CA0A9CF3B8"])
def test_verify_refuses_missing_or_wrong_sign(bad: str | None) -> None:
    message: dict[str, object] = dict(OFFICIAL)
    if bad is not None:
        message["sign"] = bad
    assert not verify(message, V2_KEY)


def test_verify_refuses_unknown_sign_type_and_wrong_key() -> None:
    message = {**OFFICIAL, "sign": sign(OFFICIAL, V2_KEY)}
    assert not verify(message, V2_KEY, "SHA1")
    assert not verify(message, "0" * 32)


def test_unknown_extra_field_verifies_and_altering_it_does_not() -> None:
    """T04: verification covers every received field, including ones we have never heard of."""
    received = {**NOTIFICATION_6_1_3, "brand_new_field": "v1"}
    received["sign"] = sign(received, V2_KEY)
    assert verify(received, V2_KEY)
    assert not verify({**received, "brand_new_field": "v2"}, V2_KEY)
    dropped = dict(received)
    del dropped["brand_new_field"]
    assert not verify(dropped, V2_KEY)


def test_verify_compares_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """T12: every verification goes through hmac.compare_digest, once."""
    calls: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    good = {**OFFICIAL, "sign": sign(OFFICIAL, V2_KEY)}
    bad = {**OFFICIAL, "sign": "0" * 32}
    assert verify(good, V2_KEY)
    assert not verify(bad, V2_KEY)
    assert len(calls) == 2


_names = st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True).filter(lambda n: n != "sign")
_values = st.text(min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_names, _values, min_size=1, max_size=12), st.sampled_from(list(SignType)))
def test_sign_equals_wechatpy_and_verifies(fields: dict[str, str], sign_type: SignType) -> None:
    ours = sign(fields, V2_KEY, sign_type)
    theirs = (
        calculate_signature(fields, V2_KEY) if sign_type is SignType.MD5 else calculate_signature_hmac(fields, V2_KEY)
    )
    assert ours == theirs
    assert verify({**fields, "sign": ours}, V2_KEY, sign_type)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_names, _values, min_size=1, max_size=8), st.data())
def test_any_change_to_a_value_breaks_the_signature(fields: dict[str, str], data: st.DataObject) -> None:
    signed = {**fields, "sign": sign(fields, V2_KEY)}
    name = data.draw(st.sampled_from(sorted(fields)))
    replacement = data.draw(_values.filter(lambda v: v != fields[name]))
    assert not verify({**signed, name: replacement}, V2_KEY)
