"""The oracle of the seeded simulation over our DB and the simulator ledger: RELIABILITY.md I1–I6, I7 (liveness)
and I8 (money WeChat took is on the order or returned).

``History`` records every state each order, attempt and refund was seen in; ``check_invariants`` reads the
final state of both sides and returns the violations as readable lines (empty: all hold).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from weipay.service.domain import (
    ATTEMPT_TRANSITIONS,
    ORDER_TRANSITIONS,
    REFUND_TRANSITIONS,
    AttemptStatus,
    OrderStatus,
    RefundKind,
    RefundStatus,
)

_PAID_AT_WECHAT = ("SUCCESS", "REFUND")
_OPEN_ORDER = (OrderStatus.PENDING,)


def _reachable(table: Mapping[tuple[Any, Any], Any]) -> dict[Any, set[Any]]:
    """State -> every state reachable from it in one or more steps (the only "forward" moves)."""
    edges: dict[Any, set[Any]] = {}
    for (source, _event), target in table.items():
        edges.setdefault(source, set()).add(target)
    closure: dict[Any, set[Any]] = {}
    for start in {s for (s, _e) in table} | set(table.values()):
        seen: set[Any] = set()
        frontier = list(edges.get(start, ()))
        while frontier:
            state = frontier.pop()
            if state not in seen:
                seen.add(state)
                frontier.extend(edges.get(state, ()))
        closure[start] = seen
    return closure


FORWARD = {
    "order": _reachable(ORDER_TRANSITIONS),
    "attempt": _reachable(ATTEMPT_TRANSITIONS),
    "refund": _reachable(REFUND_TRANSITIONS),
}


@dataclass
class History:
    """Every distinct state seen, in order, per (kind, id)."""

    seen: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    def record(self, kind: str, ident: str, status: Any) -> None:
        """Append ``status`` if it differs from the last one seen."""
        states = self.seen.setdefault((kind, ident), [])
        if not states or states[-1] != status:
            states.append(status)

    def snapshot(self, uow: Any) -> None:
        """Record the current state of every order, attempt and refund in the database."""
        with uow.read() as tx:
            for order in tx.orders.list(limit=10_000):
                self.record("order", order.id, order.status)
                for attempt in tx.attempts.for_order(order.id):
                    self.record("attempt", attempt.id, attempt.status)
                for refund in tx.refunds.for_order(order.id):
                    self.record("refund", refund.id, refund.status)

    def backward_moves(self) -> list[str]:
        """I2: every observed change must be a forward move of its state machine."""
        problems = []
        for (kind, ident), states in self.seen.items():
            for before, after in pairwise(states):
                if after not in FORWARD[kind].get(before, set()):
                    problems.append(f"I2 {kind} {ident}: {before} -> {after} (history {[str(s) for s in states]})")
        return problems


def check_invariants(
    uow: Any, sim: Any, mchid: str, now: float, history: History, only: set[str] | None = None
) -> list[str]:
    """I1–I8 after quiescence over the orders in ``only`` (default: all); returns violations (empty: all hold)."""
    problems = history.backward_moves()
    with uow.read() as tx:
        orders = tx.orders.list(mchid=mchid, limit=10_000)
        for order in orders:
            if only is not None and order.id not in only:
                continue
            attempts = tx.attempts.for_order(order.id)
            refunds = tx.refunds.for_order(order.id)
            jobs = tx.jobs.list(order_id=order.id)
            problems += _order_problems(order, attempts, refunds, jobs, sim, mchid, now)
            dead_alerts = tx.anomalies.list(order_id=order.id, kind="job_dead")
            alerted = {json.loads(a.detail).get("job_id") for a in dead_alerts}
            problems += _liveness_problems(order, attempts, refunds, jobs, alerted, sim, mchid)
    return problems


_OPEN_REFUND = (RefundStatus.REQUESTED, RefundStatus.APPROVED, RefundStatus.PROCESSING, RefundStatus.ABNORMAL)
_REFUND_AT_WECHAT = {
    "SUCCESS": RefundStatus.SUCCEEDED, "ABNORMAL": RefundStatus.ABNORMAL, "CLOSED": RefundStatus.FAILED,
}  # fmt: skip


def _liveness_problems(
    order: Any, attempts: list[Any], refunds: list[Any], jobs: Iterable[Any], alerted: set[Any], sim: Any,
    mchid: str,
) -> list[str]:
    """I7 (liveness, after faults stopped and the schedules passed): nothing waits forever, nothing dies silently."""
    problems: list[str] = []
    tag = f"order {order.id} ({order.status}, reserved {order.reserved_fen})"
    at_wechat = {
        r.out_refund_no: r.status for a in attempts for r in sim.ledger.refunds_for_order(mchid, a.out_trade_no)
    }
    for refund in refunds:
        if refund.status == RefundStatus.PROCESSING:
            problems.append(f"I7 {tag}: refund {refund.out_refund_no} still processing (WeChat: "
                            f"{at_wechat.get(refund.out_refund_no)})")  # fmt: skip
        expected = _REFUND_AT_WECHAT.get(at_wechat.get(refund.out_refund_no, ""))
        if expected is not None and refund.status != expected:
            problems.append(f"I7 {tag}: refund {refund.out_refund_no} {refund.status} here, "
                            f"{at_wechat[refund.out_refund_no]} at WeChat")  # fmt: skip
    if order.reserved_fen > 0 and not any(r.status in _OPEN_REFUND for r in refunds):
        problems.append(f"I7 {tag}: {order.reserved_fen} fen reserved without an open refund")
    for job in jobs:
        if job.status == "dead" and job.id not in alerted:
            problems.append(f"I7 {tag}: job {job.id} ({job.kind}) dead without a job_dead anomaly")
    return problems


def _order_problems(
    order: Any, attempts: list[Any], refunds: list[Any], jobs: Iterable[Any], sim: Any, mchid: str, now: float
) -> list[str]:
    problems: list[str] = []
    tag = f"order {order.id} ({order.status}, paid {order.paid_fen}, refunded {order.refunded_fen})"
    succeeded = [a for a in attempts if a.status == AttemptStatus.SUCCEEDED]
    paid_locally = order.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)
    # I1: the order counts one payment, by one attempt; any other successful attempt is being given back
    # (an order closed or expired before a late payment, e.g. after PAYERROR, gives that payment back too).
    auto_refunded = {r.attempt_id for r in refunds if r.kind == RefundKind.DUPLICATE_PAYMENT}
    if paid_locally:
        if order.paid_fen != order.amount_fen or order.paid_attempt_id not in {a.id for a in succeeded}:
            problems.append(f"I1 {tag}: paid_fen/paid_attempt_id do not match one succeeded attempt")
    elif [a for a in succeeded if a.id not in auto_refunded]:
        problems.append(f"I1 {tag}: attempts {[a.id for a in succeeded]} succeeded but the order is not paid")
    for extra in succeeded:
        if extra.id != order.paid_attempt_id and extra.id not in auto_refunded:
            problems.append(f"I1 {tag}: second successful attempt {extra.out_trade_no} not refunded automatically")
    # I3: never more refunded than paid, and WeChat moved exactly the money our database says.
    merchant_done = sum(
        r.amount_fen for r in refunds if r.kind != RefundKind.DUPLICATE_PAYMENT and r.status == RefundStatus.SUCCEEDED
    )
    if order.refunded_fen > order.paid_fen or merchant_done != order.refunded_fen:
        problems.append(f"I3 {tag}: succeeded merchant refunds sum to {merchant_done}")
    ours = sum(r.amount_fen for r in refunds if r.status == RefundStatus.SUCCEEDED)
    at_wechat = 0
    held: set[str] = set()  # out_refund_no of the refunds WeChat holds (ABNORMAL)
    for attempt in attempts:
        wechat_order = sim.ledger.order(mchid, attempt.out_trade_no)
        if wechat_order is None:
            continue
        held |= {r.out_refund_no for r in sim.ledger.refunds_for_order(mchid, attempt.out_trade_no)
                 if r.status == "ABNORMAL"}  # fmt: skip
        at_wechat += sum(r.amount_fen for r in sim.ledger.refunds_for_order(mchid, attempt.out_trade_no)
                         if r.status == "SUCCESS")  # fmt: skip
        # I4: paid at WeChat means paid here once things settled.
        if wechat_order.state in _PAID_AT_WECHAT and attempt.status != AttemptStatus.SUCCEEDED:
            problems.append(f"I4 {tag}: {attempt.out_trade_no} {wechat_order.state} at WeChat, {attempt.status} here")
        # I8: money WeChat took is on the order or given back (or held by WeChat for manual handling).
        given_back = any(r.kind == RefundKind.DUPLICATE_PAYMENT and r.attempt_id == attempt.id
                         and r.status in (RefundStatus.SUCCEEDED, RefundStatus.ABNORMAL) for r in refunds)  # fmt: skip
        if wechat_order.state in _PAID_AT_WECHAT and attempt.id != order.paid_attempt_id and not given_back:
            problems.append(f"I8 {tag}: {attempt.out_trade_no} paid at WeChat, neither on the order nor refunded")
        if attempt.status == AttemptStatus.SUCCEEDED and wechat_order.state not in _PAID_AT_WECHAT:
            problems.append(f"I4 {tag}: {attempt.out_trade_no} succeeded here but {wechat_order.state} at WeChat")
    if ours != at_wechat:
        problems.append(f"I3 {tag}: refunds succeeded here {ours} fen, at WeChat {at_wechat} fen")
    # I3: money WeChat holds (ABNORMAL) stays reserved here: the refund is abnormal, never released as failed.
    for refund in refunds:
        if refund.out_refund_no in held and refund.status != RefundStatus.ABNORMAL:
            problems.append(f"I3 {tag}: refund {refund.out_refund_no} ABNORMAL at WeChat, {refund.status} here")
    held_here = [r for r in refunds if r.status == RefundStatus.ABNORMAL and r.kind != RefundKind.DUPLICATE_PAYMENT]
    if order.reserved_fen < sum(r.amount_fen for r in held_here):
        problems.append(f"I3 {tag}: abnormal refunds are not all reserved ({order.reserved_fen} fen reserved)")
    # I5: one fulfilment (order.paid webhook) per SUCCESS transition of the order.
    fulfilments = [j for j in jobs if j.kind == "deliver_webhook" and j.payload.get("event") == "order.paid"]
    if len(fulfilments) != (1 if paid_locally else 0):
        problems.append(f"I5 {tag}: {len(fulfilments)} order.paid outbox rows")
    # I6: nothing left open past its TTL.
    if order.status in _OPEN_ORDER and order.expires_at < now:
        problems.append(f"I6 {tag}: still {order.status} {now - order.expires_at:.0f}s past its TTL")
    open_attempts = [a.out_trade_no for a in attempts if a.is_open]
    if order.expires_at < now and open_attempts:
        problems.append(f"I6 {tag}: attempts {open_attempts} still open past the TTL")
    return problems
