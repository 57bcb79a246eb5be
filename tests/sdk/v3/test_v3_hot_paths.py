"""The generated fast readers give exactly what the checked readers give, or the same error."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sdk_samples import refund, signed_notification, transaction

from weipay.sdk.errors import ProtocolError, SignatureError
from weipay.sdk.v3 import (
    BillLocation,
    PrepayResult,
    Refund,
    RefundResult,
    SignedHeaders,
    Transaction,
    TransactionNotification,
    Verifier,
    parse_notification,
)
from weipay.sdk.v3._json_model import JsonModel, checked_reader, fast_reader, wire
from weipay.sdk.v3.models import read_envelope

API_V3_KEY = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
NOW = int(time.time())
TRANSACTION: dict[str, Any] = transaction(payer_total=90)

_odd_values = st.sampled_from([None, "", "x", 0, 1, True, 1.5, [], {}, ["x"], {"openid": 1}])
_times = st.sampled_from(
    ["2026-01-04T18:30:59+08:00", "2026-01-04T10:30:59Z", "2026-01-04T18:30:59", "2026-01-04", "yesterday", "", None, 5]
)
_amounts = st.one_of(
    _odd_values,
    st.fixed_dictionaries(
        {},
        optional={
            "total": st.one_of(st.integers(-5, 10**12), _odd_values),
            "payer_total": st.one_of(st.integers(0, 100), _odd_values),
            "currency": st.one_of(st.just("USD"), _odd_values),
            "payer_currency": _odd_values,
        },
    ),
)
_payers = st.one_of(_odd_values, st.fixed_dictionaries({}, optional={"openid": st.one_of(st.just("o1"), _odd_values)}))


@st.composite
def _transactions(draw: st.DrawFn) -> dict[str, Any]:
    """The sample transaction with up to three fields removed or replaced by odd values."""
    data = dict(TRANSACTION)
    for name in draw(st.lists(st.sampled_from(sorted(TRANSACTION)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del data[name]
        else:
            strategy = {"amount": _amounts, "payer": _payers, "success_time": _times}.get(name, _odd_values)
            data[name] = draw(strategy)
    return data


def _outcome(build: Any, data: Any) -> object:
    try:
        return build(data)
    except ProtocolError as exc:
        return ("ProtocolError", str(exc))


def _checked(model: Any, data: Any) -> object:
    """The checked reader alone (nested objects too): the reference the generated one must match."""
    return _outcome(checked_reader(model), data)


def _shortcut_or_general(data: Any) -> object:
    """What parse_notification does: the fast reader, or the checked one when it declines."""
    return _outcome(Transaction.from_json, data)


@settings(max_examples=600, deadline=None)
@given(_transactions())
def test_plain_dict_transaction_matches_the_general_reader(data: dict[str, Any]) -> None:
    assert _shortcut_or_general(data) == _checked(Transaction, data)


_ODD = [None, "", "x", 0, 1, True, False, 1.5, [], {}, ["x"], {"openid": 1}, {"openid": "o"}, "2026-01-04T18:30:59Z"]
_ABSENT = object()


def _single_changes() -> list[tuple[str, str | None, object]]:
    """Every field and every ``amount``/``payer`` member, removed or set to each odd value in turn."""
    changes: list[tuple[str, str | None, object]] = []
    for name in sorted(TRANSACTION):
        changes += [(name, None, value) for value in [_ABSENT, *_ODD, "2026-01-04T18:30:59", "2026-01-04"]]
    for member in ("total", "payer_total", "currency", "payer_currency"):
        changes += [("amount", member, value) for value in [_ABSENT, *_ODD, -1, 2**70]]
    changes += [("payer", "openid", value) for value in [_ABSENT, *_ODD]]
    return changes


@pytest.mark.parametrize("change", _single_changes(), ids=repr)
def test_every_single_field_change_reads_alike(change: tuple[str, str | None, object]) -> None:
    name, member, value = change
    data = json.loads(json.dumps(TRANSACTION))
    target = data if member is None else data[name]
    key = name if member is None else member
    if value is _ABSENT:
        del target[key]
    else:
        target[key] = value
    assert _shortcut_or_general(data) == _checked(Transaction, data)


REFUND = refund()


def _refund_changes() -> list[tuple[str, str | None, object]]:
    changes: list[tuple[str, str | None, object]] = []
    for name in sorted(REFUND):
        changes += [(name, None, value) for value in [_ABSENT, *_ODD, "2026-01-05T10:00:00", "2026-01-05"]]
    members = ("total", "refund", "payer_total", "payer_refund", "settlement_total", "settlement_refund")
    for member in (*members, "discount_refund", "currency"):
        changes += [("amount", member, value) for value in [_ABSENT, *_ODD, -1, 2**70]]
    return changes


@pytest.mark.parametrize("change", _refund_changes(), ids=repr)
def test_every_single_refund_field_change_reads_alike(change: tuple[str, str | None, object]) -> None:
    name, member, value = change
    data = json.loads(json.dumps(REFUND))
    target = data if member is None else data[name]
    key = name if member is None else member
    if value is _ABSENT:
        target.pop(key, None)
    else:
        target[key] = value
    assert _outcome(RefundResult.from_json, data) == _checked(RefundResult, data)


def test_shortcut_objects_are_the_frozen_dataclasses() -> None:
    fast = fast_reader(Transaction)(dict(TRANSACTION))
    general = Transaction.from_json(TRANSACTION)
    assert fast is not None
    assert type(fast) is Transaction and type(fast.amount) is type(general.amount)
    assert fast == general and hash(fast.amount) == hash(general.amount) and repr(fast) == repr(general)
    with pytest.raises(AttributeError):
        fast.appid = "other"  # type: ignore[misc]
    assert not hasattr(fast, "__dict__")


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={"id": _odd_values, "event_type": _odd_values, "create_time": _times, "summary": _odd_values},
    )
)
def test_plain_dict_envelope_matches_the_general_reader(envelope: dict[str, Any]) -> None:
    assert _outcome(read_envelope, envelope) == _outcome(read_envelope, MappingProxyType(envelope))


@pytest.fixture(scope="module")
def verifier(wechatpay_keys: Any) -> Verifier:
    verifier = Verifier(clock=lambda: float(NOW))
    verifier.add_certificate(wechatpay_keys.certificate)
    return verifier


def _notification(keys: Any) -> tuple[dict[str, str], bytes]:
    return signed_notification(keys.private_key, keys.serial, TRANSACTION, api_v3_key=API_V3_KEY, timestamp=NOW)


@pytest.mark.parametrize("spelling", [str, str.lower, str.upper, str.swapcase])
def test_header_names_in_any_spelling(verifier: Verifier, wechatpay_keys: Any, spelling: Any) -> None:
    headers, body = _notification(wechatpay_keys)
    respelled = {spelling(name): value for name, value in headers.items()}
    notification = parse_notification(verifier, API_V3_KEY, respelled, body)
    assert isinstance(notification, TransactionNotification)
    assert notification.transaction == Transaction.from_json(MappingProxyType(TRANSACTION))
    assert SignedHeaders.from_headers(respelled) == SignedHeaders.from_headers(headers)


@pytest.mark.parametrize(
    "name",
    ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial", "Wechatpay-Signature-Type"],
)
def test_each_missing_header_is_named(verifier: Verifier, wechatpay_keys: Any, name: str) -> None:
    headers, body = _notification(wechatpay_keys)
    for respell in (str, str.lower):
        partial = {respell(key): value for key, value in headers.items() if key != name}
        with pytest.raises(SignatureError, match=f"missing header {name.lower()}"):
            parse_notification(verifier, API_V3_KEY, partial, body)


@pytest.mark.parametrize("timestamp", ["", "+1", " 1", "1e9", "١٢٣", "1234567890123", "12.5"])
def test_malformed_timestamps_are_refused(verifier: Verifier, wechatpay_keys: Any, timestamp: str) -> None:
    headers, body = _notification(wechatpay_keys)
    with pytest.raises(SignatureError, match="malformed Wechatpay-Timestamp"):
        parse_notification(verifier, API_V3_KEY, {**headers, "Wechatpay-Timestamp": timestamp}, body)


@pytest.mark.parametrize("body_suffix", [b" ", b"\n", b"\r\n\t"])
def test_json_fast_path_keeps_json_loads_verdicts(body_suffix: bytes) -> None:
    from weipay.sdk.v3.notify import _json_object

    assert _json_object(b'{"a": 1}' + body_suffix, "x") == {"a": 1}
    assert _json_object(b' {"a": 1}', "x") == {"a": 1}
    for bad in (b'{"a": 1} x', b"", b"[1]", b"\xff", b'\xef\xbb\xbf{"a": 1}', b'{"a": 1}{}', b"[" * 100_000):
        with pytest.raises(ProtocolError):
            _json_object(bad, "x")


_MODEL_SAMPLES: list[tuple[type[Any], dict[str, Any]]] = [
    (Refund, {"refund_id": "r1", "out_refund_no": "R1", "transaction_id": "t1", "out_trade_no": "O1",
              "status": "SUCCESS", "create_time": "2026-01-05T10:00:00+08:00", "amount": REFUND["amount"],
              "channel": "ORIGINAL", "success_time": "2026-01-05T10:00:05+08:00", "funds_account": "AVAILABLE"}),
    (PrepayResult, {"prepay_id": "wx1", "code_url": "weixin://x", "h5_url": "https://h5"}),
    (BillLocation, {"hash_type": "SHA1", "hash_value": "ab", "download_url": "https://d"}),
]


def _model_changes() -> list[tuple[type[Any], str, object]]:
    return [(model, name, value) for model, sample in _MODEL_SAMPLES for name in sample for value in [_ABSENT, *_ODD]]


@pytest.mark.parametrize("change", _model_changes(), ids=repr)
def test_every_declared_model_reads_alike_by_both_readers(change: tuple[type[Any], str, object]) -> None:
    model, name, value = change
    data = json.loads(json.dumps(dict(_MODEL_SAMPLES)[model]))
    if value is _ABSENT:
        del data[name]
    else:
        data[name] = value
    checked = _checked(model, data)
    if model is PrepayResult:  # from_json adds one rule on top of the readers: at least one of the three
        assert _outcome(fast_reader(model), data) in (None, checked)
    else:
        assert _outcome(model.from_json, data) == checked


def test_a_field_of_two_types_is_refused_when_the_model_is_read() -> None:
    @dataclass(frozen=True, slots=True)
    class Ambiguous(JsonModel):
        json_name: ClassVar[str] = "ambiguous"
        value: int | str = wire("value")

    with pytest.raises(TypeError, match="one type"):
        Ambiguous.from_json({"value": 1})
