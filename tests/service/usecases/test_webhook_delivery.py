"""Merchant webhooks end to end over the simulator: stored event objects, 12 attempts over 3 days in order per
order, every attempt logged, a final failure alerted, redelivery, scoping by merchant (SQLite and PostgreSQL).

The merchant's system is an ``httpx.MockTransport`` behind the real ``http_sender``; WeChat is the simulator."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from weipay.service.domain import NotFound
from weipay.service.domain.webhook_signature import verify_webhook
from weipay.service.jobs import http_sender, run_due_jobs
from weipay.service.usecases import (
    CreateOrder,
    MerchantConfig,
    approve_refund,
    close_order,
    create_order,
    redeliver_webhook,
    reject_refund,
    request_refund,
    start_payment,
    webhook_deliveries_for_order,
)
from weipay.service.usecases.webhook_delivery import MAX_ATTEMPTS, RETRY_DELAYS_S
from weipay.service.usecases.webhook_events import EVENT_TYPES

from ..core_harness import MCHID

SECRET = "whsec-test-0123456789abcdef"


@dataclass
class MerchantSystem:
    """The merchant's webhook receiver: answers ``status`` (or fails to connect), records what it was sent."""

    clock: Any
    status: int = 503
    body: str = ""
    refuse: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        if self.refuse:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        self.received.append({"at": self.clock(), "headers": dict(request.headers), "body": content,
                              "event": json.loads(content)})  # fmt: skip
        return httpx.Response(self.status, text=self.body)

    @property
    def types(self) -> list[str]:
        return [item["event"]["type"] for item in self.received]


@pytest.fixture
def shop(core: Any) -> tuple[MerchantConfig, MerchantSystem, Any]:
    merchant = MerchantConfig(MCHID, core.merchant.appids, webhook_url="https://shop.test/hooks",
                              webhook_secret=SECRET)
    system = MerchantSystem(core.clock)
    return merchant, system, http_sender(transport=httpx.MockTransport(system))


def _run(core: Any, merchant: MerchantConfig, sender: Any, rounds: int = 6) -> None:
    kinds = ["deliver_webhook", "alert", "query_attempt", "sync_refund", "expire_order"]
    for _ in range(rounds):
        if run_due_jobs(core.uow, core.gateway, core.clock, 50, merchants={MCHID: merchant}, webhook_sender=sender,
                        kinds=kinds) == 0:  # fmt: skip
            return


def _paid_order(core: Any, number: str = "m-1", amount: int = 800) -> str:
    order = create_order(core.uow, core.merchant, CreateOrder(number, amount, "tea"), clock=core.clock)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v3")
    core.pay(start.attempt.out_trade_no)
    return order.id


def _deliveries(core: Any, order_id: str) -> list[Any]:
    return webhook_deliveries_for_order(core.uow, order_id, MCHID)


def test_an_event_is_an_object_signed_with_its_id_and_type_in_headers(core, shop) -> None:
    merchant, system, sender = shop
    system.status = 200
    order_id = _paid_order(core)
    _run(core, merchant, sender)
    (sent,) = system.received
    event = sent["event"]
    assert set(event) == {"id", "type", "created", "data"} and event["type"] == "order.paid"
    assert event["data"]["order"]["id"] == order_id and event["data"]["order"]["status"] == "paid"
    assert event["data"]["payment"]["transaction_id"] and event["data"]["order"]["paid_amount"] == 800
    assert sent["headers"]["x-weipay-event-id"] == event["id"]
    assert sent["headers"]["x-weipay-event-type"] == "order.paid"
    assert verify_webhook(SECRET, sent["headers"]["x-weipay-signature"], sent["body"], now=core.clock())
    assert not verify_webhook(SECRET, sent["headers"]["x-weipay-signature"], sent["body"], now=core.clock() + 301)
    (delivery,) = _deliveries(core, order_id)
    assert (delivery.delivery.status, delivery.delivery.attempts) == ("delivered", 1)
    (attempt,) = delivery.attempts
    assert (attempt.outcome, attempt.http_status, attempt.error, attempt.manual) == ("succeeded", 200, None, False)
    assert attempt.latency_ms >= 0


def test_later_events_of_an_order_wait_for_the_earlier_one(core, shop) -> None:
    merchant, system, sender = shop
    order_id = _paid_order(core)
    _run(core, merchant, sender)  # order.paid: 503
    refund = request_refund(core.uow, core.gateway, core.clock, core.merchant, order_id, 300)
    core.advance(core.sim.refund_processing_s + 1)  # WeChat's SUCCESS notification: two events, same transaction
    core.advance(1)
    _run(core, merchant, sender)
    assert [d.delivery.event_type for d in _deliveries(core, order_id)] == [
        "order.paid", "refund.succeeded", "order.partially_refunded"]  # fmt: skip
    assert system.types == ["order.paid"]  # the refund's events were not sent before order.paid ended
    other = _paid_order(core, "m-2")  # another order is not held up by this one
    system.status = 200
    _run(core, merchant, sender)
    assert system.types[-1] == "order.paid" and system.received[-1]["event"]["data"]["order"]["id"] == other
    core.clock.advance(RETRY_DELAYS_S[0])
    _run(core, merchant, sender)
    assert system.types[-3:] == ["order.paid", "refund.succeeded", "order.partially_refunded"]
    refund_event = system.received[-2]["event"]["data"]
    assert refund_event["refund"]["id"] == refund.id and refund_event["refund"]["status"] == "succeeded"
    assert system.received[-1]["event"]["data"]["order"]["refunded_amount"] == 300
    assert all(d.delivery.status == "delivered" for d in _deliveries(core, order_id))


def test_a_failing_receiver_gets_12_attempts_over_3_days_then_an_alert_and_a_redelivery(core, shop) -> None:
    assert list(RETRY_DELAYS_S) == sorted(set(RETRY_DELAYS_S)) and len(RETRY_DELAYS_S) == MAX_ATTEMPTS - 1 == 11
    assert sum(RETRY_DELAYS_S) >= 3 * 86400
    merchant, system, sender = shop
    system.body = "<html>upstream down " + "x" * 1000 + f" echo {SECRET}</html>"
    order_id = _paid_order(core)
    first = core.clock()
    _run(core, merchant, sender)
    for _ in range(MAX_ATTEMPTS + 2):
        (found,) = _deliveries(core, order_id)
        if found.delivery.next_attempt_at is None:
            break
        core.clock.advance(found.delivery.next_attempt_at - core.clock())
        _run(core, merchant, sender)
    times = [item["at"] for item in system.received]
    assert [round(b - a) for a, b in itertools.pairwise(times)] == list(RETRY_DELAYS_S)
    assert times[-1] - first >= 3 * 86400
    (found,) = _deliveries(core, order_id)
    assert (found.delivery.status, found.delivery.attempts, found.delivery.last_error) == ("failed", 12, "http_503")
    assert [a.attempt for a in found.attempts] == list(range(1, 13))
    assert all(a.outcome == "failed" and a.http_status == 503 for a in found.attempts)
    excerpt = found.attempts[0].response_excerpt or ""
    assert excerpt.startswith("<html>upstream down") and len(excerpt) <= 256 and SECRET not in excerpt
    with core.uow.read() as tx:
        alerts = [event for event in tx.alerts.recent(limit=50) if event.kind == "webhook_failed"]
        (job,) = tx.jobs.list(kind="deliver_webhook")
    assert [a.detail["delivery_id"] for a in alerts] == [found.delivery.id]
    assert alerts[0].order_id == order_id and job.status == "done"  # the delivery failed; the job did its work

    with pytest.raises(NotFound):
        redeliver_webhook(core.uow, core.clock, found.delivery.id, "1900000999", operator="test")
    again = redeliver_webhook(core.uow, core.clock, found.delivery.id, MCHID, operator="test")
    assert (again.delivery.status, again.delivery.next_attempt_at) == ("pending", core.clock())
    system.status = 200
    _run(core, merchant, sender)
    (found,) = _deliveries(core, order_id)
    assert (found.delivery.status, found.delivery.attempts) == ("delivered", 13)
    assert found.attempts[-1].manual and found.attempts[-1].outcome == "succeeded"
    assert system.received[-1]["body"] == system.received[0]["body"]  # the same event, byte for byte

    redeliver_webhook(core.uow, core.clock, found.delivery.id, None, operator="test")  # a delivered one, again
    _run(core, merchant, sender)
    assert system.received[-1]["event"]["id"] == system.received[0]["event"]["id"] and len(system.received) == 14


def test_a_transport_failure_is_an_attempt_with_its_error_and_no_status(core, shop) -> None:
    merchant, system, sender = shop
    system.refuse = True
    order_id = _paid_order(core)
    _run(core, merchant, sender)
    (found,) = _deliveries(core, order_id)
    (attempt,) = found.attempts
    assert (attempt.outcome, attempt.http_status, attempt.error) == ("failed", None, "ConnectError")
    assert found.delivery.next_attempt_at == core.clock() + RETRY_DELAYS_S[0]


def test_order_and_refund_events_follow_each_state_change(core, shop) -> None:
    merchant, system, sender = shop
    system.status = 200
    approving = MerchantConfig(MCHID, core.merchant.appids, refund_approval_required=True)
    order_id = _paid_order(core)
    kept = request_refund(core.uow, core.gateway, core.clock, approving, order_id, 100)
    turned_down = request_refund(core.uow, core.gateway, core.clock, approving, order_id, 200)
    reject_refund(core.uow, core.clock, turned_down.id, MCHID, reason="no receipt")
    approve_refund(core.uow, core.gateway, core.clock, kept.id, MCHID)
    unpaid = create_order(core.uow, core.merchant, CreateOrder("m-close", 500, "tea"), clock=core.clock)
    close_order(core.uow, core.gateway, core.clock, unpaid.id, MCHID)
    core.advance(core.sim.refund_processing_s + 1)
    core.advance(1)
    _run(core, merchant, sender)
    assert [d.delivery.event_type for d in _deliveries(core, order_id)] == [
        "order.paid", "refund.requested", "refund.requested", "refund.rejected", "refund.approved",
        "refund.succeeded", "order.partially_refunded"]  # fmt: skip
    assert [d.delivery.event_type for d in _deliveries(core, unpaid.id)] == ["order.closed"]
    rejected = next(item["event"] for item in system.received if item["event"]["type"] == "refund.rejected")
    assert rejected["data"]["refund"]["rejection_reason"] == "no receipt"
    assert set(system.types) <= set(EVENT_TYPES)


def test_a_failed_payment_and_an_expiry_are_events(core, shop) -> None:
    merchant, system, sender = shop
    system.status = 200
    request = CreateOrder("m-exp", 500, "tea", expire_after_s=900)
    order = create_order(core.uow, core.merchant, request, clock=core.clock)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v3")
    core.pay(start.attempt.out_trade_no, outcome="bank_error")
    for _ in range(12):
        core.advance(120)
        _run(core, merchant, sender)
    assert [d.delivery.event_type for d in _deliveries(core, order.id)] == ["payment.failed", "order.expired"]
    failed = system.received[0]["event"]["data"]
    assert failed["payment"]["trade_state"] == "PAYERROR" and failed["order"]["status"] == "pending"


def test_no_webhook_url_skips_the_delivery_but_keeps_the_event(core) -> None:
    order_id = _paid_order(core)
    core.run_jobs()
    (found,) = _deliveries(core, order_id)
    assert (found.delivery.status, found.delivery.attempts, found.attempts) == ("skipped", 0, [])
    assert json.loads(found.delivery.body)["type"] == "order.paid"


def test_deliveries_are_scoped_by_merchant(core) -> None:
    order_id = _paid_order(core)
    assert len(webhook_deliveries_for_order(core.uow, order_id, None)) == 1
    with pytest.raises(NotFound) as raised:
        webhook_deliveries_for_order(core.uow, order_id, "1900000999")
    assert raised.value.code == "order_not_found"
    (found,) = webhook_deliveries_for_order(core.uow, order_id, MCHID)
    with pytest.raises(NotFound) as raised:
        redeliver_webhook(core.uow, core.clock, found.delivery.id + 1000, MCHID, operator="test")
    assert raised.value.code == "webhook_delivery_not_found"
