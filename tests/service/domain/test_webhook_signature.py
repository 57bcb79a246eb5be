"""The webhook signature: a tampered body, a wrong secret, an old or future timestamp and a malformed header all
fail; a rotated secret's second ``v1`` passes. Checked against an HMAC computed here, not by our own signer."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from weipay.service.domain.webhook_signature import DEFAULT_TOLERANCE_S, sign_webhook, verify_webhook

SECRET = "whsec-test-0123456789abcdef"
NOW = 1_790_000_000
BODY = b'{"data":{"order":{"id":"ord_1","status":"paid"}},"id":"evt_1","type":"order.paid","created":1790000000}'


def test_the_header_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign_webhook(SECRET, NOW, BODY) == f"t={NOW},v1={expected}"
    assert verify_webhook(SECRET, sign_webhook(SECRET, NOW, BODY), BODY, now=NOW)


def test_tampering_a_wrong_secret_or_a_missing_header_fail() -> None:
    header = sign_webhook(SECRET, NOW, BODY)
    assert not verify_webhook(SECRET, header, BODY.replace(b"paid", b"PAID"), now=NOW)
    assert not verify_webhook("another-secret-0123456789", header, BODY, now=NOW)
    forged_time = header.replace(f"t={NOW}", f"t={NOW + 1}")  # the time is signed too
    assert not verify_webhook(SECRET, forged_time, BODY, now=NOW)
    for bad in (None, "", "v1=abc", f"t={NOW}", f"t=soon,v1={header.split('v1=')[1]}", "t=1," + "v1=a" * 400):
        assert not verify_webhook(SECRET, bad, BODY, now=NOW)


def test_old_and_future_timestamps_fail_outside_the_window() -> None:
    header = sign_webhook(SECRET, NOW, BODY)
    assert verify_webhook(SECRET, header, BODY, now=NOW + DEFAULT_TOLERANCE_S)
    assert verify_webhook(SECRET, header, BODY, now=NOW - DEFAULT_TOLERANCE_S)
    assert not verify_webhook(SECRET, header, BODY, now=NOW + DEFAULT_TOLERANCE_S + 1)  # a replay
    assert not verify_webhook(SECRET, header, BODY, now=NOW - DEFAULT_TOLERANCE_S - 1)  # from the future
    assert verify_webhook(SECRET, header, BODY, now=NOW + 3600, tolerance_s=3600)


def test_any_of_several_signatures_may_match_during_a_secret_rotation() -> None:
    old = sign_webhook("old-secret-0123456789abcdef", NOW, BODY).split(",")[1]
    header = sign_webhook(SECRET, NOW, BODY) + "," + old
    assert verify_webhook(SECRET, header, BODY, now=NOW)
    assert verify_webhook("old-secret-0123456789abcdef", header, BODY, now=NOW)


@given(st.binary(max_size=200), st.binary(min_size=1, max_size=8), st.integers(0, 199))
def test_any_change_to_the_body_fails(body: bytes, inserted: bytes, at: int) -> None:
    header = sign_webhook(SECRET, NOW, body)
    position = at % (len(body) + 1)
    changed = body[:position] + inserted + body[position:]
    assert verify_webhook(SECRET, header, body, now=NOW)
    assert not verify_webhook(SECRET, header, changed, now=NOW)
