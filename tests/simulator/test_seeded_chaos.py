"""A seeded run under every fault at once, ending with invariant checks (the TigerBeetle habit):
every paid order paid exactly once, refunds never above payments, no notification lost."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import httpx
import pytest

from weipay.sdk.crypto import aes_gcm_decrypt
from weipay.sdk.errors import SignatureError
from weipay.sdk.v3.verifier import SignedHeaders
from weipay.simulator.clock import ManualClock
from weipay.simulator.core import Simulator
from weipay.simulator.notifier import RETRY_SCHEDULE_S

from .conftest import BASE_URL, V3Merchant
from .test_v3_lifecycle import order_body


def _retrying(call: Any, attempts: int = 12) -> httpx.Response:
    """What a careful merchant does: retry timeouts and 5xx with the same parameters."""
    for _ in range(attempts):
        try:
            response: httpx.Response = call()
        except httpx.TimeoutException:
            continue
        if response.status_code < 500 and response.status_code != 429:
            return response
    raise AssertionError("no answer after retries")


@pytest.mark.parametrize("seed", [1, 2])
def test_seeded_chaos_keeps_the_invariants(sim: Simulator, merchant: V3Merchant, clock: ManualClock,
                                           notify_handler: dict[str, Any], seed: int) -> None:
    rng = random.Random(seed)
    payments: Counter[str] = Counter()
    refunds: Counter[str] = Counter()
    key = sim.account["apiv3_key"].encode()

    def flaky_merchant(request: httpx.Request) -> httpx.Response:
        if rng.random() < 0.3:
            return httpx.Response(503)
        try:
            merchant.verifier.verify(SignedHeaders.from_headers(request.headers), request.content)
        except SignatureError:
            return httpx.Response(401)
        resource = json.loads(request.content)["resource"]
        plain = json.loads(aes_gcm_decrypt(key, resource["nonce"], resource["associated_data"],
                                           resource["ciphertext"]))
        (refunds if "refund_id" in plain else payments)[plain.get("out_refund_no") or plain["out_trade_no"]] += 1
        return httpx.Response(204)

    notify_handler["handler"] = flaky_merchant
    merchant.client.put(f"{BASE_URL}/simulator/faults", json={
        "seed": seed, "system_error_rate": 0.15, "frequency_limited_rate": 0.05, "commit_then_timeout_rate": 0.15,
        "notify_drop_rate": 0.2, "notify_duplicate_rate": 0.3, "notify_reorder": True, "signtest_probe_rate": 0.1,
    })
    numbers = [f"CHAOS-{seed}-{i:03d}" for i in range(12)]
    amounts = {number: rng.randint(1, 10_000) for number in numbers}
    for number in numbers:
        body = order_body(sim, "native", number, total=amounts[number])
        first = _retrying(lambda body=body: merchant.request("POST", "/v3/pay/transactions/native", body))
        assert first.status_code == 200, first.text
        if rng.random() < 0.8:
            for _ in range(rng.randint(1, 3)):  # the user taps Pay more than once
                merchant.client.post(f"{BASE_URL}/simulator/payments", json={"code_url": first.json()["code_url"]})
        clock.advance(rng.uniform(0, 20))
        sim.tick()
    refund_requests = []
    for number in numbers:
        order = sim.ledger.order(sim.mchid, number)
        assert order is not None
        if order.state != "SUCCESS":
            continue
        for index in range(rng.randint(0, 3)):
            body = {"out_trade_no": number, "out_refund_no": f"{number}-R{index}",
                    "amount": {"refund": rng.randint(1, amounts[number]), "total": amounts[number], "currency": "CNY"}}
            refund_requests.append(_retrying(lambda body=body: merchant.request(
                "POST", "/v3/refund/domestic/refunds", body)))
    assert any(r.status_code == 200 for r in refund_requests)
    assert any(r.status_code == 400 for r in refund_requests)  # some asked beyond what was left
    for gap in (*RETRY_SCHEDULE_S, 60):  # let the whole retry schedule run
        clock.advance(gap + 1)
        sim.tick()

    paid = [o for o in (sim.ledger.order(sim.mchid, n) for n in numbers) if o and o.transaction_id]
    assert paid, "the seed produced no payment"
    assert len({o.transaction_id for o in paid}) == len(paid)
    for order in paid:
        accepted = [r for r in sim.ledger.refunds_for_order(sim.mchid, order.out_trade_no)
                    if r.status in ("PROCESSING", "SUCCESS")]
        assert sum(r.amount_fen for r in accepted) <= order.amount_fen
        assert all(r.status == "SUCCESS" for r in accepted)
        assert payments[order.out_trade_no] >= 1  # no payment notification lost
        for refund in accepted:
            assert refunds[refund.out_refund_no] >= 1
    assert set(payments) == {o.out_trade_no for o in paid}  # and none for unpaid orders
    assert {n.state for n in sim.ledger.notifications()} == {"delivered"}
    replies = " ".join(d["reply"] for d in sim.ledger.deliveries())
    for fault in ("[dropped", "[duplicate]", "[signtest probe rejected]"):
        assert fault in replies  # the faults really happened
