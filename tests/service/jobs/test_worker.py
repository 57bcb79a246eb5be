"""The worker: expiry closes at WeChat, webhooks are signed and retried, a killed worker's job runs again."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from weipay.service.domain import AttemptStatus, OrderStatus, RefundStatus
from weipay.service.jobs import http_sender, run_due_jobs
from weipay.service.usecases import (
    CreateOrder,
    MerchantConfig,
    create_order,
    get_refund,
    order_details,
    request_refund,
    start_payment,
)

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
        core.clock.advance(61)  # the first retry comes a minute later
    assert len(received) == 2
    body = received[-1].content
    assert body == received[0].content  # the same event, byte for byte
    event = json.loads(body)
    assert event["type"] == "order.paid" and event["data"]["order"]["status"] == "paid"
    assert received[-1].headers["x-weipay-event-id"] == event["id"] and event["id"].startswith("evt_")
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


def _job(core, kind):
    with core.uow.read() as tx:
        (job,) = tx.jobs.list(kind=kind)
    return job


def test_a_refund_still_processing_is_queried_again_until_it_ends(core):
    # sync_refund re-arms its own job while it runs: completing that job must not drop the follow-up.
    core.sim.refund_processing_s = 10**6  # WeChat keeps the refund PROCESSING until told otherwise
    order = _order(core)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v3")
    core.pay(start.attempt.out_trade_no)
    refund = request_refund(core.uow, core.gateway, core.clock, core.merchant, order.id, 300)
    assert refund.status == RefundStatus.PROCESSING
    for _ in range(3):  # each query finds it still PROCESSING
        core.advance(31)
        core.run_jobs()
    assert _job(core, "sync_refund").status == "pending"
    answer = core.control.post("/simulator/refunds", json={"out_refund_no": refund.out_refund_no, "status": "SUCCESS"})
    assert answer.status_code == 200, answer.text
    assert core.capture_notifications()  # WeChat's SUCCESS notification is lost: only the query can tell
    core.advance(31)
    core.run_jobs()
    assert get_refund(core.uow, refund.id).status == RefundStatus.SUCCEEDED
    assert order_details(core.uow, order.id).order.refunded_fen == 300


def test_polling_an_unpaid_order_for_days_never_uses_up_its_attempts(core):
    order = _order(core, expire_after_s=7 * 86400)
    start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v3")
    for _ in range(30):  # more polls than max_attempts: each one is a wait, not a failure
        core.advance(3600)
        run_due_jobs(core.uow, core.gateway, core.clock, 50, kinds=["query_attempt"])
    job = _job(core, "query_attempt")
    assert (job.status, job.attempts) == ("pending", 0)


def test_a_job_whose_lease_ran_out_during_the_pass_is_left_to_the_worker_now_holding_it(core):
    # One pass claims both webhooks on one lease; the first delivery is slow, another worker takes the
    # second meanwhile: the first worker must not deliver it too.
    merchant = MerchantConfig(MCHID, core.merchant.appids, webhook_url="https://shop.test/hook")
    delivered: list[str] = []
    other_worker: list[int] = []

    def slow_sender(url: str, body: bytes, headers: dict[str, str]) -> int:
        delivered.append(json.loads(body)["data"]["order"]["id"])
        if len(delivered) == 1:
            core.clock.advance(121)
            with core.uow.write() as tx:
                taken = tx.jobs.claim(core.clock(), limit=10, lease_s=120, kinds=["deliver_webhook"])
            other_worker.extend(j.id for j in taken)
        return 200

    for number in ("m-1", "m-2"):
        order = _order(core, number)
        start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "app", "v3")
        core.pay(start.attempt.out_trade_no)
    ran = run_due_jobs(core.uow, core.gateway, core.clock, 50, merchants={MCHID: merchant},
                       webhook_sender=slow_sender, kinds=["deliver_webhook"], lease_s=120)  # fmt: skip
    assert len(other_worker) == 2  # both leases ran out: the other worker holds the second job now
    assert ran == 1 and len(delivered) == 1


def test_a_job_that_used_up_its_attempts_is_dead_and_raises_a_job_dead_anomaly(core):
    # A job whose handler fails every time (here: a kind this worker has no handler for, as after a downgrade).
    order = _order(core)
    with core.uow.write() as tx:
        tx.jobs.enqueue("retired_kind", {"order_id": order.id}, due_at=core.clock(), now=core.clock(),
                        order_id=order.id, max_attempts=20)  # fmt: skip
    for _ in range(25):
        run_due_jobs(core.uow, core.gateway, core.clock, 50, kinds=["retired_kind"])
        core.clock.advance(3601)
    job = _job(core, "retired_kind")
    assert (job.status, job.attempts) == ("dead", 20)
    with core.uow.read() as tx:
        (anomaly,) = tx.anomalies.list(kind="job_dead")
    detail = json.loads(anomaly.detail)
    assert anomaly.order_id == order.id
    assert (detail["job_id"], detail["job_kind"], detail["last_error"]) == (job.id, "retired_kind", job.last_error)
    with core.uow.write() as tx:
        assert tx.jobs.revive(job.id, core.clock())
    assert _job(core, "retired_kind").status == "pending"


def test_a_job_whose_worker_dies_every_time_ends_dead_with_its_anomaly(core):
    order = _order(core)
    start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v3")
    for _ in range(20):  # every worker that takes the query job dies before finishing it
        core.clock.advance(3600)
        with core.uow.write() as tx:
            assert [j.kind for j in tx.jobs.claim(core.clock(), limit=1, lease_s=120, kinds=["query_attempt"])]
    core.clock.advance(121)
    run_due_jobs(core.uow, core.gateway, core.clock, 50, kinds=["query_attempt"])
    job = _job(core, "query_attempt")
    assert (job.status, job.attempts) == ("dead", 20)
    with core.uow.read() as tx:
        (anomaly,) = tx.anomalies.list(kind="job_dead")
    assert json.loads(anomaly.detail)["job_id"] == job.id
