"""The worker: expiry closes at WeChat, webhooks are signed and retried, a killed worker's job runs again."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from weipay.service.domain import AttemptStatus, OrderStatus
from weipay.service.jobs import http_sender, run_due_jobs
from weipay.service.usecases import CreateOrder, MerchantConfig, create_order, order_details, start_payment

from ..core_harness import MCHID


def _order(core, number="m-1", expire_after_s=None):
    request = CreateOrder(number, 800, "tea", expire_after_s=expire_after_s)
    return create_order(core.uow, core.merchant, request, clock=core.clock)


def test_an_unpaid_order_expires_and_is_closed_at_wechat(core):
    order = _order(core, expire_after_s=600)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v3")
    core.advance(601)
    core.run_jobs()
    details = order_details(core.uow, order.id)
    assert details.order.status == OrderStatus.EXPIRED
    assert details.attempts[0].status == AttemptStatus.CLOSED
    assert core.sim_order(start.attempt.out_trade_no).state == "CLOSED"


def test_expiry_of_an_order_paid_meanwhile_leaves_it_paid(core):
    order = _order(core, expire_after_s=600)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v2")
    core.faults(notify_drop_rate=1.0)
    core.pay(start.attempt.out_trade_no)
    core.clock.advance(601)
    run_due_jobs(core.uow, core.gateway, core.clock, 50, kinds=["expire_order"])
    assert order_details(core.uow, order.id).order.status == OrderStatus.PAID


def test_webhook_is_signed_and_retried_until_accepted(core):
    received: list[httpx.Request] = []
    answers = iter([500, 200])

    def merchant_system(request: httpx.Request) -> httpx.Response:
        request.read()
        received.append(request)
        return httpx.Response(next(answers))

    merchant = MerchantConfig(MCHID, core.merchant.appids, webhook_url="https://shop.test/hook", webhook_secret="s3")
    sender = http_sender(transport=httpx.MockTransport(merchant_system))
    order = _order(core)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "app", "v3")
    core.pay(start.attempt.out_trade_no)
    for _ in range(2):
        run_due_jobs(core.uow, core.gateway, core.clock, 50, merchants={MCHID: merchant}, webhook_sender=sender)
        core.clock.advance(10)
    assert len(received) == 2
    body = received[-1].content
    assert json.loads(body)["event"] == "order.paid" and json.loads(body)["data"]["status"] == "paid"
    stamp, signature = (part.split("=", 1)[1] for part in received[-1].headers["x-weipay-signature"].split(","))
    expected = hmac.new(b"s3", f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    with core.uow.read() as tx:
        (job,) = tx.jobs.list(kind="deliver_webhook")
    assert job.status == "done"


def test_a_job_claimed_by_a_killed_worker_is_run_after_its_lease(core):
    order = _order(core)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v3")
    core.faults(notify_drop_rate=1.0)
    core.pay(start.attempt.out_trade_no)
    core.clock.advance(11)
    with core.uow.write() as tx:  # a worker claims the query job, then dies before running it
        claimed = tx.jobs.claim(core.clock(), limit=10, lease_s=120)
    assert [j.kind for j in claimed] == ["query_attempt"]
    assert run_due_jobs(core.uow, core.gateway, core.clock, 50) == 0  # leased: nobody else runs it
    core.clock.advance(121)
    assert run_due_jobs(core.uow, core.gateway, core.clock, 50) >= 1
    assert order_details(core.uow, order.id).order.status == OrderStatus.PAID
