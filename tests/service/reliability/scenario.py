"""The scenario vocabulary of the reliability models: a client of the service and a payer at the simulator.

Every action is a function of a :class:`Scenario` whose ``rng`` makes each choice (which order, how much,
which fault plan), so the seeded simulation (``test_simulation``) and the Hypothesis state machine
(``test_stateful_model``) play the same moves. ``quiesce`` stops the faults and lets time, notifications and
jobs run until nothing is left to do, after which the I1–I6 oracle applies.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from ..web_harness import MCHID, Harness
from .invariants import History

__all__ = ["ACTIONS", "CODEPAY_ACTIONS", "OUTAGE_ACTIONS", "Scenario", "quiesce"]

CHANNELS = ("native", "app", "h5", "miniprogram")
CREATE_PATHS = ["/v3/pay/transactions/", "/pay/unifiedorder"]
REFUND_PATHS = ["/v3/refund/", "/secapi/pay/refund", "/pay/refundquery"]
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


def _pay_two_attempts(s: Scenario) -> None:
    """A payer switches channel and then pays both: the superseded attempt too, if WeChat still takes it.

    Under the strict simulator WeChat refuses to close an order in its first five minutes, so the old
    attempt stays payable: this is the road to a double payment and its automatic refund.
    """
    if not s.orders:
        return _create(s)
    order_id = s.rng.choice(s.orders)
    started = []
    for channel in s.rng.sample(("native", "app", "h5"), 2):
        response = s.answer(
            f"start {order_id} {channel}",
            s.harness.api.post(f"/v1/orders/{order_id}/payments", json={"channel": channel, "api": "v3"},
                               headers=s.harness.merchant),
        )  # fmt: skip
        if response.status_code == 201:
            started.append(response.json())
    s.payments.extend(started)
    for payment in started:
        answer = s.harness.wechat.post(
            "/simulator/payments", json={"mchid": MCHID, "out_trade_no": payment["out_trade_no"], "outcome": "success"}
        )
        s.log.append(f"pay {payment['out_trade_no']} success -> {answer.status_code}")
    return None


def _payerror_then_paid(s: Scenario) -> None:
    """The payer's bank refuses (WeChat's PAYERROR); the service learns it by a query and marks the attempt
    failed; the payer then pays the same out_trade_no with another card, which WeChat still takes. The
    money must end on the order (if still payable) or refunded automatically, never kept without one."""
    if not s.payments:
        return _start(s)
    payment = s.rng.choice(s.payments)
    target = {"mchid": MCHID, "out_trade_no": payment["out_trade_no"], "openid": s.openid}
    answer = s.harness.wechat.post("/simulator/payments", json={**target, "outcome": "bank_error"})
    s.log.append(f"pay {payment['out_trade_no']} bank_error -> {answer.status_code}")
    s.harness.clock.advance(11)  # past the expected notification time: reading the order queries WeChat
    _get_order(s, payment["order_id"])
    answer = s.harness.wechat.post("/simulator/payments", json={**target, "outcome": "success"})
    s.log.append(f"pay {payment['out_trade_no']} success after PAYERROR -> {answer.status_code}")
    return None


def _get_order(s: Scenario, order_id: str) -> None:
    s.answer(f"get {order_id}", s.harness.api.get(f"/v1/orders/{order_id}", headers=s.harness.merchant))


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


def _refunds_in(s: Scenario, status: str) -> list[dict[str, Any]]:
    """The refunds in ``status`` of a few orders, as an operator would find them."""
    found: list[dict[str, Any]] = []
    for order_id in s.rng.sample(s.orders, min(6, len(s.orders))):
        order = s.harness.api.get(f"/v1/orders/{order_id}", headers=s.harness.merchant).json()
        found += [r for r in order.get("refunds", []) if r["status"] == status]
    return found


def _abnormal(s: Scenario) -> None:
    """WeChat cannot pay a refund back (the payer's account is closed): it ends ABNORMAL, money held."""
    processing = _refunds_in(s, "processing")
    if processing:
        refund = s.rng.choice(processing)
        answer = s.harness.wechat.post("/simulator/refunds", json={"out_refund_no": refund["out_refund_no"],
                                                                   "status": "ABNORMAL"})  # fmt: skip
        s.log.append(f"abnormal {refund['id']} -> {answer.status_code}")  # 404/409: WeChat never took it / ended it


def _redirect(s: Scenario) -> None:
    """An operator sends an abnormal refund again, to the merchant's bank account (v3; v2 ones stay held)."""
    abnormal = _refunds_in(s, "abnormal")
    if abnormal:
        refund = s.rng.choice(abnormal)
        s.answer(f"abnormal-refund {refund['id']}", s.harness.api.post(
            f"/v1/refunds/{refund['id']}/abnormal-refund", headers=s.harness.merchant,
            json={"type": "merchant_bank_card"}))  # fmt: skip


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


ACTIONS = ((_create, 4), (_start, 5), (_pay, 5), (_pay_two_attempts, 1), (_refund, 3), (_review, 2), (_close, 1),
           (_get, 2), (_deliver, 3), (_jobs, 3), (_advance, 3), (_faults, 1), (_abnormal, 1),
           (_redirect, 1), (_payerror_then_paid, 1))  # fmt: skip



def _refund_outage(s: Scenario) -> None:
    """WeChat's refund API is unreachable for a while (every call times out) and its refund notifications are
    lost: a refund asked meanwhile is retried by the worker (its job re-arms itself while it runs) until WeChat
    answers, and only queries can tell how it ended."""
    outage = {"timeout_rate": 1.0, "notify_drop_rate": 1.0, "paths": REFUND_PATHS, "seed": s.rng.randrange(2**31)}
    assert s.harness.wechat.put("/simulator/faults", json=outage).status_code == 200
    s.log.append(f"faults {outage}")
    _refund(s)
    for _ in range(s.rng.randint(1, 3)):
        s.harness.clock.advance(11)
        s.log.append(f"advance 11s; jobs ran {s.harness.run_jobs()} (WeChat's refund API down)")
    back = {"notify_drop_rate": 1.0, "seed": s.rng.randrange(2**31)}  # reachable again; notifications still lost
    assert s.harness.wechat.put("/simulator/faults", json=back).status_code == 200
    s.log.append(f"faults {back}")


# The same moves plus refund outages (a separate set, so the seeds of ACTIONS keep playing what they played).
OUTAGE_ACTIONS = (*ACTIONS, (_refund_outage, 3))


def _codepay(s: Scenario) -> None:
    """A till charges a payment code; the payer pays at once, confirms later, gives up or never decides."""
    if not s.orders:
        return _create(s)
    order_id = s.rng.choice(s.orders)
    behaviour = {
        "confirm": s.rng.choice(("none", "password", "password")),
        "outcome": s.rng.choice(("success", "success", "cancel", "insufficient_balance", "bank_error", "wait")),
        "confirm_s": s.rng.choice((0, 4, 12, 45)),
    }
    code = s.harness.wechat.post("/simulator/payment-codes", json=behaviour).json()["auth_code"]
    body = {"channel": "codepay", "auth_code": code, "api": s.rng.choice(("v2", "v3"))}
    response = s.answer(
        f"codepay {order_id} {body['api']} {behaviour}",
        s.harness.api.post(f"/v1/orders/{order_id}/payments", json=body, headers=s.harness.merchant),
    )
    if response.status_code == 201:
        s.payments.append(response.json())
        s.log.append(f"  -> {response.json()['status']} {response.json()['error_code']}")
    return None


def _code_faults(s: Scenario) -> None:
    """WeChat takes a charge, a query or a reverse and the answer is lost (or it answers SYSTEMERROR)."""
    paths = ["/v3/pay/transactions/codepay", "/pay/micropay", "/v3/pay/transactions/out-trade-no/",
             "/secapi/pay/reverse", "/pay/orderquery"]  # fmt: skip
    plan = {"commit_then_timeout_rate": s.rng.choice((0.3, 1.0)), "system_error_rate": s.rng.choice((0.0, 0.3)),
            "paths": s.rng.sample(paths, 2), "seed": s.rng.randrange(2**31)}  # fmt: skip
    assert s.harness.wechat.put("/simulator/faults", json=plan).status_code == 200
    s.log.append(f"faults {plan}")


# The same moves plus payment codes and their faults (a separate set: the seeds of ACTIONS keep their scenario).
CODEPAY_ACTIONS = (*ACTIONS, (_codepay, 5), (_code_faults, 1))


def quiesce(harness: Harness, history: History) -> None:
    """No more faults; move time past every TTL while delivering notifications and running jobs until idle."""
    assert harness.wechat.put("/simulator/faults", json={}).status_code == 200
    for _round in range(40):
        harness.deliver(advance_s=60)
        while harness.run_jobs():
            history.snapshot(harness.app.state.services.uow)
        history.snapshot(harness.app.state.services.uow)
    harness.deliver(advance_s=max(TTLS_S) + 3600)
    for _round in range(5):
        while harness.run_jobs():
            pass
        harness.deliver(advance_s=120)
    history.snapshot(harness.app.state.services.uow)


