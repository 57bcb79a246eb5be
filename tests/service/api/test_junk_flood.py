"""A flood of junk notifications is counted and sampled, not stored one write transaction each."""

from __future__ import annotations

from typing import Any

from weipay.service.api.sampling import WindowSampler

from ..web_harness import MCHID, Harness


def _anomalies(harness: Harness) -> list[Any]:
    with harness.app.state.services.uow.read() as tx:
        return list(tx.anomalies.list())


def test_junk_is_refused_counted_and_only_a_sample_is_stored(harness: Harness) -> None:
    order, genuine = harness.captured_payment()
    headers = {k: v for k, v in genuine.headers.items() if k.lower() not in ("content-length", "host")}
    forged = {**headers, "wechatpay-signature": "A" * 344}
    for _ in range(60):
        answer = harness.api.post(f"/notify/wechatpay/v3/{MCHID}", content=genuine.content, headers=forged)
        assert answer.status_code == 401
    stored = [a for a in _anomalies(harness) if a.kind == "unverifiable_v3_notification"]
    assert 1 <= len(stored) <= 10  # before: 60 rows, 60 write transactions
    metrics = harness.api.get("/metrics").text
    counted = [line for line in metrics.splitlines() if line.startswith("weipay_notifications_total")
               and 'outcome="unverifiable"' in line and 'api="v3"' in line]  # fmt: skip
    assert counted and float(counted[0].rsplit(" ", 1)[1]) == 60.0
    real = harness.api.post(f"/notify/wechatpay/v3/{MCHID}", content=genuine.content, headers=headers)
    assert real.status_code == 204
    assert harness.order(order["id"])["status"] == "paid"


def test_the_sampler_keeps_the_first_few_per_key_and_window() -> None:
    now = [0.0]
    sampler = WindowSampler(limit=3, window_s=60, clock=lambda: now[0])
    assert [sampler.take("a") for _ in range(5)] == [True, True, True, False, False]
    assert sampler.take("b")  # another merchant has its own budget
    now[0] = 60.0
    assert sampler.take("a") and sampler.skipped == 2
