"""T02: a Hypothesis state machine over the service and the simulator, with I1–I6 as the oracle.

The moves are the seeded simulation's (``scenario.py``): create orders, start payments on every channel
and API version, pay (or fail to) at WeChat, refund (over the paid amount too), approve or reject refunds,
close, read, deliver notifications, run jobs, jump the clock, switch fault plans (drop, duplicate, delay,
reorder notifications; system errors; commit-then-timeout on order creation). Hypothesis chooses the
sequence and each move's choices, checks after every step that no order, attempt or refund moved backwards
through its state table, and at the end lets everything settle and checks I1–I6. A failure shrinks to the
shortest sequence that still breaks an invariant and is printed as steps to replay.

Figure (CI): ``EXAMPLES`` machines × up to ``STEPS`` steps per database; real HTTP into ``create_app``,
a real database, the simulator as WeChat, so far fewer examples than a pure model would run.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from ..web_harness import MCHID
from .invariants import History, check_invariants
from .scenario import ACTIONS, Scenario, quiesce

EXAMPLES = 15
STEPS = 40
MOVES = [action for action, _weight in ACTIONS]


def test_state_machine_keeps_every_invariant(harness_factory: Any) -> None:
    class PaymentService(RuleBasedStateMachine):
        scenario: Scenario
        history: History

        @initialize(approval=st.booleans(), strict=st.booleans())
        def open_shop(self, approval: bool, strict: bool) -> None:
            harness = harness_factory(refund_approval_required=approval)
            if strict:
                # WeChat refuses to close an order in its first five minutes, so a superseded attempt stays
                # payable next to the new one: the way to a double payment (and its automatic refund).
                harness.production_rules()
            code = harness.wechat.post("/simulator/login-codes", json={"appid": harness.appid(), "user": "m"})
            self.scenario = Scenario(harness, random.Random(0), openid=code.json()["openid"])
            self.history = History()

        @rule(move=st.sampled_from(MOVES), choices=st.integers(0, 2**32 - 1))
        def play(self, move: Any, choices: int) -> None:
            self.scenario.rng.seed(choices)
            move(self.scenario)

        @invariant()
        def states_only_move_forward(self) -> None:
            if not hasattr(self, "history"):
                return
            self.history.snapshot(self.scenario.harness.app.state.services.uow)
            assert self.history.backward_moves() == []

        def teardown(self) -> None:
            if not hasattr(self, "history"):
                return
            harness = self.scenario.harness
            quiesce(harness, self.history)
            problems = check_invariants(harness.app.state.services.uow, harness.sim, MCHID, harness.clock(),
                                        self.history, set(self.scenario.orders))  # fmt: skip
            assert problems == [], "\n".join(problems + self.scenario.log[-30:])

    budget = settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    run_state_machine_as_test(PaymentService, settings=budget)
