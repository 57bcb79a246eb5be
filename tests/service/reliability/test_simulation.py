"""T27-lite: seeded simulation of the service (``create_app``) and the simulator, then the I1–I6 oracle.

One seed drives every choice of the scenario (which action, on which order, how much, which fault plan;
the simulator's faults come from the same seed). The service's identifiers come from ``secrets``, so a
replay repeats the same scenario rather than the same bytes. A failing seed is printed with the command
that replays it. ``WEIPAY_SIM_SEEDS=17,99`` runs chosen seeds; ``WEIPAY_SIM_SLOW=1`` adds the ``slow``
variant (40 seeds x 120 steps).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from ..web_harness import MCHID, Harness
from .invariants import History, check_invariants

STEPS = 60
CI_SEEDS = [int(s) for s in os.environ.get("WEIPAY_SIM_SEEDS", "11,23,37,41,53,67,79,97").split(",")]
SLOW_SEEDS = range(1000, 1040)
CHANNELS = ("native", "app", "h5", "miniprogram")
CREATE_PATHS = ["/v3/pay/transactions/", "/pay/unifiedorder"]
TTLS_S = (300, 600, 1200)


@dataclass
class Scenario:
    """What the scenario knows (client side only: the oracle reads the truth from both ledgers)."""

    harness: Harness
    rng: random.Random
    openid: str
    orders: list[str] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    refunds: int = 0

    def answer(self, what: str, response: Any) -> Any:
        """Every service answer is a 2xx or a deliberate 4xx/502 with a code, never a 500."""
        self.log.append(f"{what} -> {response.status_code}")
        assert response.status_code != 500 and response.status_code < 504, f"{what}: {response.text}"
        if response.status_code >= 400:
            assert "code" in response.json()["error"], response.text
        return response


def _create(s: Scenario) -> None:
    body = {
        "merchant_order_no": f"SIM-{len(s.orders)}-{s.rng.randrange(10**9)}",
        "amount": s.rng.randint(100, 5000),
        "description": "simulated",
        "expire_in_s": s.rng.choice(TTLS_S),
    }
    response = s.answer("create", s.harness.api.post("/v1/orders", json=body, headers=s.harness.merchant))
    if response.status_code == 201:
        s.orders.append(response.json()["id"])


def _start(s: Scenario) -> None:
    if not s.orders:
        return _create(s)
    order_id = s.rng.choice(s.orders)
    channel = s.rng.choice(CHANNELS)
    body = {
        "channel": channel,
        "api": s.rng.choice(("v2", "v3")),
        "payer_openid": s.openid if channel == "miniprogram" else None,
    }
    response = s.answer(
        f"start {order_id} {body['channel']}/{body['api']}",
        s.harness.api.post(f"/v1/orders/{order_id}/payments", json=body, headers=s.harness.merchant),
    )
    if response.status_code == 201:
        s.payments.append(response.json())
    return None


def _pay(s: Scenario) -> None:
    if not s.payments:
        return _start(s)
    payment = s.rng.choice(s.payments)
    outcome = "success" if s.rng.random() < 0.8 else s.rng.choice(("cancel", "insufficient_balance"))
    answer = s.harness.wechat.post(
        "/simulator/payments",
        json={"mchid": MCHID, "out_trade_no": payment["out_trade_no"], "openid": s.openid, "outcome": outcome},
    )
    s.log.append(f"pay {payment['out_trade_no']} {outcome} -> {answer.status_code}")
    return None


def _refund(s: Scenario) -> None:
    for order_id in s.rng.sample(s.orders, min(6, len(s.orders))):  # look for a paid order, as an operator would
        order = s.harness.api.get(f"/v1/orders/{order_id}", headers=s.harness.merchant).json()
        room = order.get("paid_amount", 0) - order.get("refunded_amount", 0)
        if room > 0:
            break
    else:
        return None
    s.refunds += 1
    amount = s.rng.randint(1, room) if s.rng.random() < 0.7 else room + s.rng.randint(0, 50)
    s.answer(
        f"refund {order_id} {amount}",
        s.harness.api.post(
            f"/v1/orders/{order_id}/refunds",
            headers=s.harness.merchant,
            json={"merchant_refund_no": f"R{s.refunds}", "amount": amount},
        ),
    )
    return None


def _review(s: Scenario) -> None:
    """An operator approves or rejects a refund waiting for approval (merchants with approval on)."""
    for order_id in s.rng.sample(s.orders, min(6, len(s.orders))):
        order = s.harness.api.get(f"/v1/orders/{order_id}", headers=s.harness.merchant).json()
        waiting = [r for r in order.get("refunds", []) if r["status"] == "requested"]
        if waiting:
            refund = s.rng.choice(waiting)
            if s.rng.random() < 0.7:
                s.answer(
                    f"approve {refund['id']}",
                    s.harness.api.post(f"/v1/refunds/{refund['id']}/approve", headers=s.harness.merchant),
                )
            else:
                answer = s.answer(
                    f"reject {refund['id']}",
                    s.harness.api.post(
                        f"/v1/refunds/{refund['id']}/reject", headers=s.harness.merchant, json={"reason": "sim"}
                    ),
                )
                assert answer.status_code != 200 or answer.json()["rejection_reason"] == "sim"
            return


def _close(s: Scenario) -> None:
    if s.orders:
        order_id = s.rng.choice(s.orders)
        s.answer(f"close {order_id}", s.harness.api.post(f"/v1/orders/{order_id}/close", headers=s.harness.merchant))


def _get(s: Scenario) -> None:
    if s.orders:
        order_id = s.rng.choice(s.orders)
        s.answer(f"get {order_id}", s.harness.api.get(f"/v1/orders/{order_id}", headers=s.harness.merchant))


def _deliver(s: Scenario) -> None:
    s.log.append(f"deliver {s.harness.deliver(advance_s=s.rng.choice((0, 1, 5)))}")


def _jobs(s: Scenario) -> None:
    s.log.append(f"jobs ran {s.harness.run_jobs()}")


def _advance(s: Scenario) -> None:
    seconds = s.rng.choice((3, 11, 30, 61, 200))
    s.harness.clock.advance(seconds)
    s.log.append(f"advance {seconds}s")


def _faults(s: Scenario) -> None:
    rng = s.rng
    if rng.random() < 0.3:
        plan: dict[str, Any] = {"commit_then_timeout_rate": 0.5, "paths": CREATE_PATHS}
    else:
        plan = {
            "system_error_rate": rng.choice((0.0, 0.1, 0.25)),
            "notify_drop_rate": rng.choice((0.0, 0.3, 1.0)),
            "notify_duplicate_rate": rng.choice((0.0, 0.5)),
            "notify_delay_s": rng.choice((0, 0, 20)),
            "notify_reorder": rng.random() < 0.5,
        }
    plan["seed"] = rng.randrange(2**31)
    assert s.harness.wechat.put("/simulator/faults", json=plan).status_code == 200
    s.log.append(f"faults {plan}")


ACTIONS = ((_create, 4), (_start, 5), (_pay, 5), (_refund, 3), (_review, 2), (_close, 1), (_get, 2), (_deliver, 3),
           (_jobs, 3), (_advance, 3), (_faults, 1))  # fmt: skip


def quiesce(harness: Harness, history: History) -> None:
    """No more faults; move time past every TTL while delivering notifications and running jobs until idle."""
    assert harness.wechat.put("/simulator/faults", json={}).status_code == 200
    for _round in range(40):
        harness.deliver(advance_s=60)
        while harness.run_jobs():
            history.snapshot(harness.app.state.runtime.uow)
        history.snapshot(harness.app.state.runtime.uow)
    harness.deliver(advance_s=max(TTLS_S) + 3600)
    for _round in range(5):
        while harness.run_jobs():
            pass
        harness.deliver(advance_s=120)
    history.snapshot(harness.app.state.runtime.uow)


def run_seed(harness: Harness, seed: int, steps: int = STEPS) -> list[str]:
    """Play one seeded scenario and return the invariant violations (empty when all hold)."""
    rng = random.Random(seed)
    code = harness.wechat.post("/simulator/login-codes", json={"appid": harness.appid(), "user": "sim"}).json()
    scenario = Scenario(harness, rng, openid=code["openid"])
    history = History()
    uow = harness.app.state.runtime.uow
    functions = [f for f, _w in ACTIONS]
    weights = [w for _f, w in ACTIONS]
    try:
        for _step in range(steps):
            rng.choices(functions, weights)[0](scenario)
            history.snapshot(uow)
        quiesce(harness, history)
        problems = check_invariants(uow, harness.sim, MCHID, harness.clock(), history, set(scenario.orders))
    except AssertionError as error:
        problems = [f"step failed: {error}"]
    reached = sorted({str(st) for (kind, _id), states in history.seen.items() if kind != "attempt" for st in states})
    print(f"seed {seed}: {len(scenario.orders)} orders, {scenario.refunds} refunds asked; states reached {reached}")
    if problems:
        print(f"\nseed {seed} failed; replay: WEIPAY_SIM_SEEDS={seed} pytest {__file__} -k test_seeded")
        print("\n".join(scenario.log[-40:]))
        print("\n".join(problems))
    return [f"seed {seed}: {p}" for p in problems]


@pytest.mark.parametrize("seed", CI_SEEDS)
def test_seeded_simulation_keeps_every_invariant(harness_factory: Any, seed: int) -> None:
    # Odd seeds play a merchant whose refunds wait for an operator's approval.
    assert run_seed(harness_factory(refund_approval_required=seed % 2 == 1), seed) == []


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("WEIPAY_SIM_SLOW"), reason="set WEIPAY_SIM_SLOW=1 to run the long seeded runs")
@pytest.mark.parametrize("seed", SLOW_SEEDS)
def test_seeded_simulation_long_runs(harness_factory: Any, seed: int) -> None:
    assert run_seed(harness_factory(refund_approval_required=seed % 2 == 1), seed, steps=120) == []
