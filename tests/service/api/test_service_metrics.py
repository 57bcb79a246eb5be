"""/metrics after real actions: WeChat calls and their latency, the job queue, webhooks, anomalies, alerts sent."""

from __future__ import annotations

import json
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from weipay.service.metrics import BACKLOG_CACHE_S
from weipay.service.usecases.outbox import DELIVER_WEBHOOK
from weipay.service.usecases.webhook_delivery import MAX_ATTEMPTS, RETRY_DELAYS_S

from ..web_harness import MCHID, Harness

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(harness: Harness, *, fresh: bool = True) -> Samples:
    """Every sample of /metrics; ``fresh`` first moves the clock past the backlog cache."""
    if fresh:
        harness.clock.advance(BACKLOG_CACHE_S + 0.1)
    answer = harness.api.get("/metrics")
    assert answer.status_code == 200
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}  # fmt: skip


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value, 0 when absent (a counter never incremented has no sample)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def start_native(harness: Harness) -> httpx.Response:
    order = harness.create_order(500)
    return harness.api.post(f"/v1/orders/{order['id']}/payments", headers=harness.merchant,
                            json={"channel": "native", "api": "v3"})  # fmt: skip


def test_wechat_calls_are_counted_by_endpoint_and_outcome_with_latency(harness: Harness) -> None:
    native = {"api": "v3", "endpoint": "v3/pay/transactions/native"}
    before = scrape(harness)
    assert value(before, "weipay_wechat_calls_total", **native, outcome="ok") == 0
    assert start_native(harness).status_code == 201
    after = scrape(harness)
    assert value(after, "weipay_wechat_calls_total", **native, outcome="ok") == 1
    assert value(after, "weipay_wechat_call_seconds_count", **native) == 1
    assert value(after, "weipay_wechat_call_seconds_bucket", **native, le="+Inf") == 1

    assert harness.wechat.put("/simulator/faults", json={"frequency_limited_rate": 1.0}).status_code == 200
    assert start_native(harness).status_code == 502
    refused = scrape(harness)
    assert value(refused, "weipay_wechat_calls_total", **native, outcome="refused") == 1
    assert value(refused, "weipay_wechat_calls_total", **native, outcome="ok") == 1
    assert value(refused, "weipay_wechat_call_seconds_count", **native) == 2


def test_job_queue_depth_and_lag_follow_the_clock(harness: Harness) -> None:
    assert value(scrape(harness), "weipay_jobs", kind="expire_order", status="pending") == 0
    assert start_native(harness).status_code == 201
    scheduled = scrape(harness)
    assert value(scheduled, "weipay_jobs", kind="expire_order", status="pending") == 1
    assert value(scheduled, "weipay_jobs_due", kind="expire_order") == 0
    assert value(scheduled, "weipay_job_lag_seconds", kind="expire_order") == 0
    harness.clock.advance(3 * 3600)  # past the order's expiry: the job is due and nobody ran it
    overdue = scrape(harness)
    assert value(overdue, "weipay_jobs_due", kind="expire_order") == 1
    assert value(overdue, "weipay_job_lag_seconds", kind="expire_order") > 60
    harness.run_jobs()
    drained = scrape(harness)
    assert value(drained, "weipay_jobs", kind="expire_order", status="pending") == 0
    assert value(drained, "weipay_jobs_due", kind="expire_order") == 0


def test_backlog_is_cached_between_scrapes(harness: Harness) -> None:
    assert value(scrape(harness), "weipay_jobs", kind="expire_order", status="pending") == 0
    assert start_native(harness).status_code == 201
    assert value(scrape(harness, fresh=False), "weipay_jobs", kind="expire_order", status="pending") == 0
    assert value(scrape(harness), "weipay_jobs", kind="expire_order", status="pending") == 1


def test_a_webhook_that_failed_for_good_shows_as_dead_and_its_alert_is_sent(harness_factory: Any) -> None:
    harness: Harness = harness_factory(webhook_url="http://merchant.test/hooks", webhook_secret="w" * 32)
    services = harness.app.state.services
    attempts: list[str] = []

    def merchant_down(url: str, body: bytes, headers: dict[str, str]) -> int:
        attempts.append(headers["x-weipay-event-type"])
        return 503

    services.webhook_sender = merchant_down
    order = harness.create_order(100)
    with services.uow.write() as tx:  # a job as queued before deliveries were stored: its event is written on its run
        tx.jobs.enqueue(DELIVER_WEBHOOK, {"mchid": MCHID, "order_id": order["id"], "event": "order.paid", "key": "k1"},
                        due_at=harness.clock(), now=harness.clock())  # fmt: skip
    pending = scrape(harness)
    assert value(pending, "weipay_jobs", kind=DELIVER_WEBHOOK, status="pending") == 1
    assert value(pending, "weipay_alert_messages_sent_total", sink="log") == 0
    harness.run_jobs()
    retrying = scrape(harness)
    assert value(retrying, "weipay_webhook_deliveries", state="pending") == 1
    assert value(retrying, "weipay_webhook_deliveries", state="retrying") == 1
    assert value(retrying, "weipay_webhook_deliveries", state="dead") == 0
    for delay_s in RETRY_DELAYS_S:  # the whole schedule: the last attempt fails, the alert job is written with it
        harness.clock.advance(delay_s)
        harness.run_jobs()
    harness.run_jobs()  # the alert job reaches the log sink
    # The order expired meanwhile: its order.expired event waited for order.paid to end, then had its first attempt.
    assert attempts == ["order.paid"] * MAX_ATTEMPTS + ["order.expired"]
    dead = scrape(harness)
    assert value(dead, "weipay_webhook_deliveries", state="dead") == 1
    assert value(dead, "weipay_webhook_deliveries", state="pending") == 1
    assert value(dead, "weipay_webhook_deliveries", state="retrying") == 1
    assert value(dead, "weipay_jobs", kind=DELIVER_WEBHOOK, status="dead") == 0  # the delivery failed, not the job
    assert value(dead, "weipay_alert_messages_sent_total", sink="log") == 1
    assert value(dead, "weipay_backlog_up") == 1


def test_a_junk_notification_counts_as_an_anomaly_by_kind(harness: Harness) -> None:
    body = json.dumps({"id": "EV-junk", "resource": {}}).encode()
    harness.api.post(f"/notify/wechatpay/v3/{MCHID}", content=body, headers={"Content-Type": "application/json"})
    samples = scrape(harness)
    kinds = {dict(labels)["kind"] for name, labels in samples if name == "weipay_anomalies"}
    assert any(kind.startswith("unverifiable") for kind in kinds), kinds
