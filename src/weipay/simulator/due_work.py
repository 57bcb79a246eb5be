"""Work that happens over time on WeChat's side: orders expire, refunds finish, shipped mini-program payments are
confirmed by the platform after its wait, notifications go out.

The server's background loop and ``POST /simulator/tick`` both run :func:`tick`; the state's lock makes a
second caller wait rather than deliver the same notification twice.
"""

from __future__ import annotations

from .codepay import resolve_due
from .notifier import deliver_due, enqueue_refund
from .state import SimulatorState
from .wxa.messages import auto_confirm_due

__all__ = ["tick"]


def tick(state: SimulatorState) -> dict[str, int]:
    """Run due work: expire orders, decide payment-code charges, finish refunds, deliver notifications."""
    with state.tick_lock:
        now = state.now()
        expired = state.ledger.expire_orders(now)
        decided = resolve_due(state)
        finished = 0
        for refund in state.ledger.due_refunds(now):
            done = state.ledger.complete_refund(refund, status="SUCCESS", now=now)
            if done is not None:
                finished += 1
                enqueue_refund(state, done)
        confirmed = auto_confirm_due(state)
        delivered = deliver_due(state)
        state.save_time()
    return {"expired": expired, "refunds": finished, "receipts_confirmed": confirmed, "deliveries": delivered,
            "code_charges": decided}
