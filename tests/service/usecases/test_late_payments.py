"""A payment WeChat took is never kept without an order (issue #8, deliver 3).

WeChat's PAYERROR is not final there: the order stays payable (the payer retries, e.g. with another card)
until it is closed or expires. So a PAYERROR attempt is closed at WeChat once its five minutes allow, and
if WeChat says SUCCESS for an attempt we marked failed or closed (notification, query, or a close answering
ORDERPAID), the money pays the order if it is still pending, and is otherwise refunded automatically, like a
double payment. Either way an operator-visible ``late_payment`` anomaly says what happened. v2 and v3, with
the simulator in strict mode (WeChat's five-minute close rule).
"""

from __future__ import annotations

import pytest

from weipay.service.domain import AttemptStatus, OrderStatus, RefundKind, RefundStatus
from weipay.service.gateway import WeChatGateway
from weipay.service.jobs import run_due_jobs
from weipay.service.usecases import (
    CreateOrder,
    close_order,
    create_order,
    get_order,
    order_details,
    order_events,
    start_payment,
    sync_attempt,
)
from weipay.service.usecases.lifecycle import expire_order
from weipay.service.usecases.outbox import EXPIRE_ORDER

from ..core_harness import MCHID, Core

APIS = ["v3", "v2"]
CLOSE_AFTER_S = 300


@pytest.fixture(autouse=True)
def _strict(core: Core) -> None:
    core.sim.strict = True
    core.gateway = WeChatGateway(
        {MCHID: core.gateway.client(MCHID)}, notify_base_url="https://service.test", clock=core.clock
    )


def _failed_attempt(core: Core, api: str, number: str, ttl_s: int = 1800):
    """An order whose first attempt WeChat answered PAYERROR to (the bank refused), as a query found it."""
    order = create_order(
        core.uow, core.merchant, CreateOrder(number, 900, "tea", expire_after_s=ttl_s), clock=core.clock
    )
    attempt = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", api).attempt
    assert core.pay(attempt.out_trade_no, "bank_error")["trade_state"] == "PAYERROR"
    failed = sync_attempt(core.uow, core.gateway, core.clock, attempt.id)
    assert (failed.status, failed.trade_state) == (AttemptStatus.FAILED, "PAYERROR")
    return order, failed


def _run_close_jobs(core: Core) -> None:
    """Only the close jobs (not the query jobs), so the close's own answer is what finds the payment."""
    run_due_jobs(core.uow, core.gateway, core.clock, 50, merchants={MCHID: core.merchant}, kinds=[EXPIRE_ORDER])


def _close_codes(core: Core, order_id: str) -> list[str | None]:
    return [c.wechat_code for c in order_events(core.uow, order_id).calls if "close" in c.endpoint]


def _anomalies(core: Core, order_id: str, kind: str):
    with core.uow.read() as tx:
        return tx.anomalies.list(order_id=order_id, kind=kind)


def _assert_applied(core: Core, order_id: str, attempt_id: str, transaction_id: str) -> None:
    details = order_details(core.uow, order_id)
    assert details.order.status == OrderStatus.PAID
    assert (details.order.paid_attempt_id, details.order.paid_fen) == (attempt_id, 900)
    attempt = next(a for a in details.attempts if a.id == attempt_id)
    assert (attempt.status, attempt.transaction_id) == (AttemptStatus.SUCCEEDED, transaction_id)
    assert details.refunds == []
    [late] = _anomalies(core, order_id, "late_payment")
    assert '"resolution": "applied"' in late.detail and '"previous_status": "failed"' in late.detail
    with core.uow.read() as tx:
        alerts = tx.alerts.recent(alert_key=f"anomaly:late_payment:{MCHID}")
    assert [(alert.severity, alert.detail["resolution"]) for alert in alerts] == [("critical", "applied")]


def _assert_refunded(core: Core, order_id: str, attempt_id: str, status: OrderStatus, previous: str) -> None:
    """The late money went back to the payer automatically, as a double payment's does."""
    core.run_jobs()  # the automatic refund is submitted
    core.advance(120)  # WeChat completes it and notifies
    core.run_jobs()
    details = order_details(core.uow, order_id)
    assert details.order.status == status
    attempt = next(a for a in details.attempts if a.id == attempt_id)
    assert attempt.status == AttemptStatus.SUCCEEDED
    [refund] = details.refunds
    assert (refund.kind, refund.attempt_id, refund.amount_fen) == (RefundKind.DUPLICATE_PAYMENT, attempt_id, 900)
    assert refund.status == RefundStatus.SUCCEEDED
    assert core.sim.ledger.refund(MCHID, refund.out_refund_no).status == "SUCCESS"  # WeChat gave it back
    [late] = _anomalies(core, order_id, "late_payment")
    assert '"resolution": "refunded"' in late.detail and f'"previous_status": "{previous}"' in late.detail


# -- closing a PAYERROR attempt at WeChat ------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_a_payerror_attempt_is_closed_at_wechat_once_five_minutes_allow(core: Core, api: str) -> None:
    order, failed = _failed_attempt(core, api, f"payerror-close-{api}")
    core.run_jobs()
    assert core.sim_order(failed.out_trade_no).state == "PAYERROR"  # too early: WeChat would refuse
    core.advance(CLOSE_AFTER_S + 10)
    core.run_jobs()
    assert core.sim_order(failed.out_trade_no).state == "CLOSED"
    details = order_details(core.uow, order.id)
    assert [(a.status, a.trade_state) for a in details.attempts] == [(AttemptStatus.CLOSED, "CLOSED")]
    assert details.order.status == OrderStatus.PENDING  # the order itself can still be paid with a new attempt
    # The payer can no longer pay the failed out_trade_no.
    answer = core.control.post(
        "/simulator/payments", json={"mchid": MCHID, "out_trade_no": failed.out_trade_no, "outcome": "success"}
    )
    assert answer.status_code != 200 and core.sim_order(failed.out_trade_no).state == "CLOSED"


# -- WeChat's notification of a payment after PAYERROR -----------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_a_payment_notified_after_payerror_pays_the_still_pending_order(core: Core, api: str) -> None:
    order, failed = _failed_attempt(core, api, f"late-notified-{api}")
    paid = core.pay(failed.out_trade_no)  # the payer tries again with another card: WeChat takes it and notifies
    _assert_applied(core, order.id, failed.id, paid["transaction_id"])
    assert _anomalies(core, order.id, "paid_after_terminal") == []


@pytest.mark.parametrize("api", APIS)
def test_a_payment_notified_after_payerror_on_an_order_paid_meanwhile_is_refunded(core: Core, api: str) -> None:
    order, failed = _failed_attempt(core, api, f"late-double-{api}")
    second = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", api).attempt
    assert second.id != failed.id
    core.pay(second.out_trade_no)
    assert order_details(core.uow, order.id).order.paid_attempt_id == second.id
    core.pay(failed.out_trade_no)  # the first, failed, out_trade_no is paid too
    _assert_refunded(core, order.id, failed.id, OrderStatus.PAID, "failed")
    assert order_details(core.uow, order.id).order.paid_attempt_id == second.id


@pytest.mark.parametrize("api", APIS)
def test_a_payment_notified_after_payerror_on_a_closed_order_is_refunded(core: Core, api: str) -> None:
    order, failed = _failed_attempt(core, api, f"late-closed-{api}")
    assert close_order(core.uow, core.gateway, core.clock, order.id).status == OrderStatus.CLOSED
    core.pay(failed.out_trade_no)
    _assert_refunded(core, order.id, failed.id, OrderStatus.CLOSED, "failed")


@pytest.mark.parametrize("api", APIS)
def test_a_payment_notified_after_payerror_on_an_expired_order_is_refunded(core: Core, api: str) -> None:
    order, failed = _failed_attempt(core, api, f"late-expired-{api}", ttl_s=600)
    core.clock.advance(590)
    paid = core.pay(failed.out_trade_no, deliver=False)  # paid just in time; the notification comes late
    assert paid["trade_state"] == "SUCCESS"
    core.clock.advance(20)
    assert expire_order(core.uow, core.gateway, core.clock, order.id).status == OrderStatus.EXPIRED
    core.sim.tick()  # now the notification arrives
    _assert_refunded(core, order.id, failed.id, OrderStatus.EXPIRED, "failed")


# -- a query finds the payment -------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_a_query_after_payerror_finds_the_payment_and_pays_the_order(core: Core, api: str) -> None:
    order, failed = _failed_attempt(core, api, f"late-queried-{api}")
    core.faults(notify_drop_rate=1.0)  # the notification is lost
    paid = core.pay(failed.out_trade_no)
    core.advance(15)
    assert get_order(core.uow, core.gateway, core.clock, order.id).status == OrderStatus.PAID
    _assert_applied(core, order.id, failed.id, paid["transaction_id"])


@pytest.mark.parametrize("api", APIS)
def test_a_query_after_payerror_on_an_order_paid_meanwhile_refunds(core: Core, api: str) -> None:
    order, failed = _failed_attempt(core, api, f"late-queried-double-{api}")
    second = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", api).attempt
    core.pay(second.out_trade_no)
    core.faults(notify_drop_rate=1.0)
    core.pay(failed.out_trade_no)
    assert sync_attempt(core.uow, core.gateway, core.clock, failed.id).status == AttemptStatus.SUCCEEDED
    _assert_refunded(core, order.id, failed.id, OrderStatus.PAID, "failed")


# -- the close answers ORDERPAID ------------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_the_close_of_a_payerror_attempt_finds_it_paid_and_pays_the_order(core: Core, api: str) -> None:
    order, failed = _failed_attempt(core, api, f"late-close-paid-{api}")
    core.faults(notify_drop_rate=1.0)
    paid = core.pay(failed.out_trade_no)
    core.advance(CLOSE_AFTER_S + 10)
    _run_close_jobs(core)  # WeChat answers ORDERPAID; the query that follows applies the payment
    assert len(_close_codes(core, order.id)) == 1 and "PAID" in (_close_codes(core, order.id)[0] or "")
    _assert_applied(core, order.id, failed.id, paid["transaction_id"])
    assert core.sim_order(failed.out_trade_no).state == "SUCCESS"


@pytest.mark.parametrize("api", APIS)
def test_the_close_of_a_payerror_attempt_of_a_closed_order_finds_it_paid_and_refunds(core: Core, api: str) -> None:
    order, failed = _failed_attempt(core, api, f"late-close-refund-{api}")
    close_order(core.uow, core.gateway, core.clock, order.id)
    core.faults(notify_drop_rate=1.0)
    core.pay(failed.out_trade_no)
    core.advance(CLOSE_AFTER_S + 10)
    _run_close_jobs(core)
    assert "PAID" in (_close_codes(core, order.id)[-1] or "")
    _assert_refunded(core, order.id, failed.id, OrderStatus.CLOSED, "failed")
