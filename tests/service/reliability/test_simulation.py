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
from typing import Any

import pytest

from ..web_harness import MCHID, Harness
from .invariants import History, check_invariants
from .scenario import ACTIONS, CODEPAY_ACTIONS, OUTAGE_ACTIONS, Scenario, quiesce

STEPS = 60
CI_SEEDS = [int(s) for s in os.environ.get("WEIPAY_SIM_SEEDS", "11,23,37,41,53,66,79,99").split(",")]
SLOW_SEEDS = range(1000, 1040)
_LAST_LOG: list[str] = []
OUTAGE_SEEDS = [int(s) for s in os.environ.get("WEIPAY_SIM_OUTAGE_SEEDS", "100,105,110,111").split(",")]
CODEPAY_SEEDS = [int(s) for s in os.environ.get("WEIPAY_SIM_CODEPAY_SEEDS", "200,201,202,203,204,205").split(",")]


def run_seed(harness: Harness, seed: int, steps: int = STEPS, actions: Any = ACTIONS) -> list[str]:
    """Play one seeded scenario and return the invariant violations (empty when all hold)."""
    rng = random.Random(seed)
    if seed % 3 == 0:  # every third seed plays against WeChat's production rules (see Harness.production_rules)
        harness.production_rules()
    code = harness.wechat.post("/simulator/login-codes", json={"appid": harness.appid(), "user": "sim"}).json()
    scenario = Scenario(harness, rng, openid=code["openid"])
    history = History()
    uow = harness.app.state.services.uow
    functions = [f for f, _w in actions]
    weights = [w for _f, w in actions]
    try:
        for _step in range(steps):
            rng.choices(functions, weights)[0](scenario)
            history.snapshot(uow)
        quiesce(harness, history)
        problems = check_invariants(uow, harness.sim, MCHID, harness.clock(), history, set(scenario.orders))
    except AssertionError as error:
        problems = [f"step failed: {error}"]
    _LAST_LOG[:] = scenario.log
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


@pytest.mark.parametrize("seed", OUTAGE_SEEDS)
def test_seeded_simulation_with_refund_outages_leaves_nothing_waiting(harness_factory: Any, seed: int) -> None:
    # WeChat's refund API goes down and comes back; I7 (liveness) must hold once it is back. A queue that
    # drops the follow-up a running job schedules (no rearm_at) fails 16 of seeds 100-139, these four included.
    assert run_seed(harness_factory(refund_approval_required=seed % 2 == 1), seed, actions=OUTAGE_ACTIONS) == []


@pytest.mark.parametrize("seed", CODEPAY_SEEDS)
def test_seeded_simulation_with_payment_codes(harness_factory: Any, seed: int) -> None:
    # Tills charge payment codes among the other moves; charges are lost, queried, reversed: I1-I8 must hold.
    harness = harness_factory(refund_approval_required=seed % 2 == 1)
    assert run_seed(harness, seed, actions=CODEPAY_ACTIONS) == []
    with harness.app.state.services.uow.read() as tx:
        orders = tx.orders.list(mchid=MCHID, limit=10_000)
        codes = [a for o in orders for a in tx.attempts.for_order(o.id) if a.channel == "codepay"]
    print(f"seed {seed}: payment-code attempts ended {sorted(str(a.status) for a in codes)}")
    assert all(not a.is_open for a in codes), "\n".join(_LAST_LOG)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("WEIPAY_SIM_SLOW"), reason="set WEIPAY_SIM_SLOW=1 to run the long seeded runs")
@pytest.mark.parametrize("seed", SLOW_SEEDS)
def test_seeded_simulation_long_runs(harness_factory: Any, seed: int) -> None:
    assert run_seed(harness_factory(refund_approval_required=seed % 2 == 1), seed, steps=120) == []
