"""ABNORMAL refunds (WeChat holds the money) and refunds made outside weipay, on SQLite and PostgreSQL.

WeChat's ABNORMAL is not a failure: the money left the merchant's refundable balance at WeChat and waits
for the merchant to redirect it. So the refund stays reserved (never refundable twice), the merchant is
told ``refund.abnormal`` (never ``refund.failed``), and it ends through apply-abnormal-refund (v3) or an
operator's record (v2). A refund made in the merchant portal is recorded when WeChat tells us about it.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from weipay.sdk import v2 as sdk_v2
from weipay.sdk import v3 as sdk_v3
from weipay.service.domain import ApiVersion, Conflict, InvalidInput, OrderStatus, RefundKind, RefundStatus
from weipay.service.usecases import (
    CreateOrder,
    apply_abnormal_refund,
    create_order,
    get_refund,
    order_details,
    reconcile_day,
    request_refund,
    resolve_abnormal_refund,
    start_payment,
    sync_refund,
)

from ..core_harness import MCHID

CARD = {"bank_type": "ICBC_DEBIT", "bank_account": "6222020200001234567", "real_name": "张三"}


def _paid_order(core, api="v3", amount_fen=10_000):
    order = create_order(core.uow, core.merchant, CreateOrder(f"ab-{api}", amount_fen, "tea"), clock=core.clock)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", api)
    core.pay(start.attempt.out_trade_no)
    return order, start.attempt


def _webhook_events(core, order_id):
    with core.uow.read() as tx:
        return [j.payload["event"] for j in tx.jobs.list(order_id=order_id) if j.kind == "deliver_webhook"]


def _wechat_ends(core, out_refund_no, status):
    """WeChat finishes the refund with ``status`` now (the simulator's control API) and notifies."""
    answer = core.control.post("/simulator/refunds", json={"out_refund_no": out_refund_no, "status": status})
    assert answer.status_code == 200, answer.text
    core.sim.tick()


def _abnormal_refund(core, api="v3"):
    order, attempt = _paid_order(core, api)
    refund = request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 4000)
    assert refund.status == RefundStatus.PROCESSING
    _wechat_ends(core, refund.out_refund_no, "ABNORMAL")
    return order, attempt, get_refund(core.uow, refund.id)


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_an_abnormal_notification_holds_the_refund_reserved_and_tells_refund_abnormal(core, api):
    order, _, refund = _abnormal_refund(core, api)
    assert refund.status == RefundStatus.ABNORMAL
    details = order_details(core.uow, order.id)
    # The money is held at WeChat: still reserved, never refundable again, not counted as refunded.
    assert (details.order.reserved_fen, details.order.refunded_fen, details.order.refundable_fen) == (4000, 0, 6000)
    assert details.order.status == OrderStatus.PAID
    events = _webhook_events(core, order.id)
    assert "refund.abnormal" in events and "refund.failed" not in events
    with pytest.raises(Conflict) as info:
        request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 6001)
    assert info.value.code == "refund_exceeds_paid"


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_a_query_answering_abnormal_holds_the_refund_too(core, api):
    """The notification is lost; the sync job's query reads ABNORMAL (v2: refund_status CHANGE)."""
    order, _ = _paid_order(core, api)
    refund = request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 2500)
    answer = core.control.post("/simulator/refunds", json={"out_refund_no": refund.out_refund_no,
                                                           "status": "ABNORMAL"})  # fmt: skip
    assert answer.status_code == 200
    assert core.capture_notifications()  # lost on its way to us
    assert sync_refund(core.uow, core.gateway, core.clock, refund.id).status == RefundStatus.ABNORMAL
    assert order_details(core.uow, order.id).order.reserved_fen == 2500


def test_v3_abnormal_refund_to_the_payer_card_ends_succeeded(core):
    order, _, refund = _abnormal_refund(core, "v3")
    redirected = apply_abnormal_refund(core.uow, core.gateway, core.clock, refund.id, MCHID,
                                       type="user_bank_card", **CARD)  # fmt: skip
    assert redirected.status == RefundStatus.PROCESSING
    at_wechat = core.sim.ledger.refund(MCHID, refund.out_refund_no)
    assert (at_wechat.status, at_wechat.user_received_account) == ("PROCESSING", "ICBC借记卡4567")
    core.advance(10)  # WeChat pays the card and notifies SUCCESS
    assert get_refund(core.uow, refund.id).status == RefundStatus.SUCCEEDED
    details = order_details(core.uow, order.id)
    assert (details.order.refunded_fen, details.order.reserved_fen) == (4000, 0)
    assert details.order.status == OrderStatus.PARTIALLY_REFUNDED
    assert _webhook_events(core, order.id).count("refund.succeeded") == 1
    with core.uow.read() as tx:
        logged = " ".join(str(c.request_body) for c in tx.calls.for_order(order.id))
    assert CARD["bank_account"] not in logged and CARD["real_name"] not in logged


def test_v3_abnormal_refund_whose_notification_is_lost_is_queried_to_its_end(core):
    order, _, refund = _abnormal_refund(core, "v3")
    apply_abnormal_refund(core.uow, core.gateway, core.clock, refund.id, MCHID, type="merchant_bank_card")
    core.clock.advance(10)
    assert core.capture_notifications()  # the SUCCESS notification is lost
    core.advance(60)
    core.run_jobs()
    assert get_refund(core.uow, refund.id).status == RefundStatus.SUCCEEDED
    assert order_details(core.uow, order.id).order.refunded_fen == 4000


def test_abnormal_refund_rules(core):
    order, _, refund = _abnormal_refund(core, "v3")
    with pytest.raises(InvalidInput):
        apply_abnormal_refund(core.uow, core.gateway, core.clock, refund.id, MCHID, type="user_bank_card",
                              bank_type="ICBC_DEBIT")  # fmt: skip
    with pytest.raises(InvalidInput):
        apply_abnormal_refund(core.uow, core.gateway, core.clock, refund.id, MCHID, type="merchant_bank_card",
                              **CARD)  # fmt: skip
    with pytest.raises(Conflict) as info:
        resolve_abnormal_refund(core.uow, core.clock, refund.id, MCHID, outcome="succeeded")
    assert info.value.code == "resolve_unavailable"  # v3 ends through WeChat
    other = request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 100)
    with pytest.raises(Conflict) as info:
        apply_abnormal_refund(core.uow, core.gateway, core.clock, other.id, MCHID, type="merchant_bank_card")
    assert info.value.code == "refund_not_abnormal"


@pytest.mark.parametrize(("outcome", "refunded", "refundable"), [("succeeded", 4000, 6000), ("failed", 0, 10_000)])
def test_v2_abnormal_refund_is_resolved_by_an_operator(core, outcome, refunded, refundable):
    order, _, refund = _abnormal_refund(core, "v2")
    with pytest.raises(Conflict):
        apply_abnormal_refund(core.uow, core.gateway, core.clock, refund.id, MCHID, type="merchant_bank_card")
    done = resolve_abnormal_refund(core.uow, core.clock, refund.id, MCHID, outcome=outcome, note="paid by transfer")
    assert done.status == RefundStatus(outcome)
    details = order_details(core.uow, order.id)
    assert (details.order.refunded_fen, details.order.refundable_fen, details.order.reserved_fen) == (
        refunded, refundable, 0)  # fmt: skip
    assert f"refund.{outcome}" in _webhook_events(core, order.id)


# -- refunds made outside weipay ------------------------------------------------------------------------


def _portal_refund(core, attempt, out_refund_no, amount_fen):
    """The merchant refunds in the merchant portal: WeChat takes it and will notify our notify_url."""
    client = core.gateway.client(MCHID)
    notify_url = core.gateway.notify_url(MCHID, attempt.api)
    if attempt.api == ApiVersion.V3:
        client.call(sdk_v3.CreateRefund(out_refund_no=out_refund_no, refund_fen=amount_fen,
                                        total_fen=attempt.amount_fen, out_trade_no=attempt.out_trade_no,
                                        notify_url=notify_url))  # fmt: skip
    else:
        appid = core.merchant.appids["miniprogram"]
        client.call(sdk_v2.Refund(appid=appid, out_refund_no=out_refund_no, total_fee_fen=attempt.amount_fen,
                                  refund_fee_fen=amount_fen, out_trade_no=attempt.out_trade_no,
                                  notify_url=notify_url))  # fmt: skip


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_a_refund_made_in_the_merchant_portal_is_recorded_once(core, api):
    order, attempt = _paid_order(core, api)
    _portal_refund(core, attempt, "PORTAL-1", 10_000)
    core.advance(10)  # WeChat succeeds and notifies an out_refund_no we never minted
    details = order_details(core.uow, order.id)
    (external,) = details.refunds
    assert (external.kind, external.status, external.out_refund_no) == (
        RefundKind.EXTERNAL, RefundStatus.SUCCEEDED, "PORTAL-1")  # fmt: skip
    assert (details.order.refunded_fen, details.order.reserved_fen, details.order.status) == (
        10_000, 0, OrderStatus.REFUNDED)  # fmt: skip
    assert _webhook_events(core, order.id).count("refund.succeeded") == 1
    # WeChat delivers it again (its retry schedule): nothing is counted twice.
    core.control.put("/simulator/faults", json={"notify_duplicate_rate": 1.0})
    _portal_refund(core, attempt, "PORTAL-1", 10_000)  # the same out_refund_no refunds once
    core.advance(3600)
    again = order_details(core.uow, order.id)
    assert len(again.refunds) == 1 and again.order.refunded_fen == 10_000


def test_a_portal_refund_the_bill_shows_is_recorded_by_reconciliation(core):
    order, attempt = _paid_order(core, "v3")
    _portal_refund(core, attempt, "PORTAL-2", 3000)
    core.clock.advance(10)
    assert core.capture_notifications()  # its notification never reaches us
    assert order_details(core.uow, order.id).refunds == []
    day = dt.datetime.fromtimestamp(core.clock(), tz=dt.timezone(dt.timedelta(hours=8))).date()
    report = reconcile_day(core.uow, core.gateway, core.clock, core.merchant, day)
    assert [(d.kind, d.repaired) for d in report.discrepancies if d.kind == "unknown_out_refund_no"] == [
        ("unknown_out_refund_no", True)]  # fmt: skip
    details = order_details(core.uow, order.id)
    assert [(r.kind, r.status, r.amount_fen) for r in details.refunds] == [
        (RefundKind.EXTERNAL, RefundStatus.SUCCEEDED, 3000)]  # fmt: skip
    assert (details.order.refunded_fen, details.order.status) == (3000, OrderStatus.PARTIALLY_REFUNDED)
    # Rerunning finds it recorded: no second refund, nothing to repair.
    reconcile_day(core.uow, core.gateway, core.clock, core.merchant, day)
    assert order_details(core.uow, order.id).order.refunded_fen == 3000


def test_an_abnormal_refund_ended_from_the_merchant_portal_is_found_by_a_query(core):
    """The merchant applied in the merchant portal and its SUCCESS notification was lost: the sync (as
    reconciliation runs it) queries the abnormal refund, never resubmits it, and ends it succeeded."""
    order, _, refund = _abnormal_refund(core, "v3")
    core.gateway.client(MCHID).call(sdk_v3.ApplyAbnormalRefund(
        refund_id=refund.refund_id, out_refund_no=refund.out_refund_no, type="MERCHANT_BANK_CARD"))  # fmt: skip
    core.clock.advance(10)
    assert core.capture_notifications()
    assert get_refund(core.uow, refund.id).status == RefundStatus.ABNORMAL
    assert sync_refund(core.uow, core.gateway, core.clock, refund.id).status == RefundStatus.SUCCEEDED
    assert order_details(core.uow, order.id).order.refunded_fen == 4000
    assert len(core.sim.ledger.refunds_for_order(MCHID, refund.out_trade_no)) == 1


def test_a_certificate_mode_merchant_encrypts_with_the_platform_certificate(database_url, tmp_path):
    """A merchant verifying WeChat with platform certificates (downloaded, never configured) encrypts the card
    fields with the newest one and names its serial; the simulator decrypts them with that certificate's key."""
    from weipay.simulator.bundle import init_bundle

    from ..core_harness import make_core

    bundle = tmp_path / "cert-bundle"
    init_bundle(bundle, mchid=MCHID, verification="platform_certificate")
    core = make_core(database_url, bundle, tmp_path / "sim")
    core.clock.advance(max(0.0, time.time() - core.clock()) + 60)  # into the fresh certificate's validity
    try:
        _, _, refund = _abnormal_refund(core, "v3")
        client = core.gateway.client(MCHID)
        assert client.verifier.preferred_serial() == core.sim.account["platform_serial_no"]
        redirected = apply_abnormal_refund(core.uow, core.gateway, core.clock, refund.id, MCHID,
                                           type="user_bank_card", **CARD)  # fmt: skip
        assert redirected.status == RefundStatus.PROCESSING
        core.advance(10)
        assert get_refund(core.uow, refund.id).status == RefundStatus.SUCCEEDED
        assert core.sim.ledger.refund(MCHID, refund.out_refund_no).user_received_account == "ICBC借记卡4567"
    finally:
        core.control.close()
        core.gateway.client(MCHID).close()
        core.sim.close()
