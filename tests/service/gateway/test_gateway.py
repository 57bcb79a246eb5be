"""The gateway maps what WeChat did to SUCCEEDED / FAILED / PENDING / UNKNOWN, never guessing a timeout."""

from __future__ import annotations

import pytest

from weipay.service.domain import ApiVersion, AttemptStatus, Channel, PaymentAttempt
from weipay.service.usecases import Outcome

from ..core_harness import MCHID, SERVICE_URL


def _attempt(core, api="v3", channel=Channel.NATIVE, number="abcdefabcdefabcdefabcdef-1"):
    now = core.clock()
    return PaymentAttempt(
        id="pay_1", order_id="ord_1", seq=1, mchid=MCHID, appid=core.merchant.appids["official_account"],
        out_trade_no=number, api=ApiVersion(api), channel=channel, status=AttemptStatus.CREATED, amount_fen=100,
        currency="CNY", description="tea", notify_url=core.gateway.notify_url(MCHID, ApiVersion(api)),
        time_expire=now + 3600, created_at=now, updated_at=now,
    )  # fmt: skip


def test_notify_url_is_per_merchant_and_version(core):
    assert core.gateway.notify_url(MCHID, ApiVersion.V2) == f"{SERVICE_URL}/notify/wechatpay/v2/{MCHID}"


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_lifecycle_outcomes(core, api):
    attempt = _attempt(core, api)
    created = core.gateway.run(core.gateway.create_payment(attempt))
    assert created.outcome == Outcome.SUCCEEDED and created.code_url
    assert created.call.outcome == "ok" and created.call.latency_ms >= 0
    assert core.gateway.run(core.gateway.query_payment(attempt)).outcome == Outcome.PENDING
    core.pay(attempt.out_trade_no, deliver=False)
    paid = core.gateway.run(core.gateway.query_payment(attempt))
    assert (paid.outcome, paid.amount_fen) == (Outcome.SUCCEEDED, 100) and paid.transaction_id
    closed = core.gateway.run(core.gateway.close_payment(attempt))
    assert (closed.outcome, closed.error_code) == (Outcome.FAILED, "ORDERPAID")
    missing = core.gateway.run(core.gateway.query_payment(_attempt(core, api, number="abcdefabcdefabcdefabcdef-9")))
    assert (missing.outcome, missing.error_code) == (Outcome.FAILED, "ORDERNOTEXIST")


@pytest.mark.parametrize("fault", ["timeout_rate", "commit_then_timeout_rate", "system_error_rate", "http_5xx_rate"])
def test_ambiguous_answers_are_unknown_never_failed(core, fault):
    core.faults(**{fault: 1.0})
    attempt = _attempt(core)
    assert core.gateway.run(core.gateway.create_payment(attempt)).outcome == Outcome.UNKNOWN
    assert core.gateway.run(core.gateway.query_payment(attempt)).outcome == Outcome.UNKNOWN
    assert core.gateway.run(core.gateway.close_payment(attempt)).outcome == Outcome.UNKNOWN


def test_call_records_hold_no_secrets(core):
    answer = core.gateway.run(core.gateway.create_payment(_attempt(core, "v2")))
    text = repr(answer.call) + (answer.call.request_body or "") + (answer.call.response_body or "")
    for secret in (core.sim.account["apiv2_key"], core.sim.account["apiv3_key"]):
        assert secret not in text


def test_v2_refund_notenough_falls_back_and_both_calls_are_recorded(core):
    from weipay.service.domain import Refund, RefundKind, RefundStatus

    attempt = _attempt(core, "v2")
    core.gateway.run(core.gateway.create_payment(attempt))
    core.pay(attempt.out_trade_no, deliver=False)
    core.faults(unsettled_fen=0, available_fen=10_000)
    now = core.clock()
    refund = Refund(
        id="rfd_1", order_id="ord_1", attempt_id="pay_1", seq=1, kind=RefundKind.MERCHANT, mchid=MCHID,
        out_refund_no="abcdefabcdefabcdefabcdefR1", out_trade_no=attempt.out_trade_no, api=ApiVersion.V2,
        amount_fen=100, total_fen=100, status=RefundStatus.PROCESSING, created_at=now, updated_at=now,
    )  # fmt: skip
    answer = core.gateway.run(core.gateway.create_refund(refund))
    assert answer.outcome == Outcome.PENDING and answer.funds_source == "REFUND_SOURCE_RECHARGE_FUNDS"
    assert [c.wechat_code for c in answer.earlier_calls] == ["NOTENOUGH"]
    other = _attempt(core, "v2", number="abcdefabcdefabcdefabcdef-2")
    core.gateway.run(core.gateway.create_payment(other))
    core.pay(other.out_trade_no, deliver=False)
    core.faults(unsettled_fen=0, available_fen=0)
    fields = {f: getattr(refund, f) for f in refund.__slots__}
    refused = core.gateway.run(core.gateway.create_refund(
        Refund(**{**fields, "out_refund_no": "abcdefabcdefabcdefabcdefR2", "out_trade_no": other.out_trade_no})
    ))
    assert refused.outcome == Outcome.FAILED and refused.error_code == "NOTENOUGH"
