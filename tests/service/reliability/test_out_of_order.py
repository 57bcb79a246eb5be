"""T16: every order of (payment notification, query SUCCESS, close, refund notification, refund query) for one
order, on v2 and v3: the state machines never move backward (paid never becomes closed, refunded never paid).

The refund is the operator's: it is requested as soon as the order is paid locally (the service refuses a
refund of an unpaid order), so "refund notification" and "refund query" before that point have nothing of
ours to act on. A refund WeChat reports for a refund the service never made (made outside it, e.g. on the
merchant platform) is not parked: it is stored as an anomaly and changes nothing (second test).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest

from weipay.sdk.crypto import aes_ecb_decrypt, aes_ecb_encrypt, aes_gcm_decrypt, aes_gcm_encrypt
from weipay.sdk.v2 import from_xml, to_xml
from weipay.service.domain import AttemptStatus, Conflict, OrderStatus, RefundStatus
from weipay.service.usecases import (
    CreateOrder,
    close_order,
    create_order,
    order_details,
    request_refund,
    start_payment,
    sync_attempt,
    sync_refund,
)
from weipay.simulator.wechat_keys import notification_uses_public_key, signed_headers

from ..core_harness import Core
from .invariants import History

EVENTS = ("payment_notification", "query_success", "close", "refund_notification", "refund_query")
AMOUNT_FEN = 2000
REFUND_FEN = 700


class Run:
    """One order driven through one permutation of the events."""

    def __init__(self, core: Core, api: str, number: str, history: History) -> None:
        self.core, self.history = core, history
        self.order = create_order(core.uow, core.merchant, CreateOrder(number, AMOUNT_FEN, "tea"), clock=core.clock)
        self.attempt = start_payment(
            core.uow, core.gateway, core.clock, core.merchant, self.order.id, "native", api
        ).attempt
        core.pay(self.attempt.out_trade_no, deliver=False)
        captured = core.capture_notifications()
        assert len(captured) == 1
        self.payment_notification = captured[0]
        self.refund_id: str | None = None
        self.refund_done_at_wechat = False
        self.snapshot()

    def snapshot(self) -> None:
        details = order_details(self.core.uow, self.order.id)
        self.history.record("order", details.order.id, details.order.status)
        for attempt in details.attempts:
            self.history.record("attempt", attempt.id, attempt.status)
        for refund in details.refunds:
            self.history.record("refund", refund.id, refund.status)
        if self.refund_id is None and details.order.status == OrderStatus.PAID:
            self.refund_id = request_refund(
                self.core.uow,
                self.core.gateway,
                self.core.clock,
                self.core.merchant,
                self.order.id,
                REFUND_FEN,
                "operator",
                f"rf-{self.order.id[-8:]}",
            ).id
            self.snapshot()

    def payment_notification_event(self) -> None:
        assert self.core.notify(self.payment_notification).status_code in (200, 204)

    def query_success_event(self) -> None:
        sync_attempt(self.core.uow, self.core.gateway, self.core.clock, self.attempt.id)

    def close_event(self) -> None:
        with pytest.raises(Conflict) as info:  # WeChat answers ORDERPAID (or the order is paid already)
            close_order(self.core.uow, self.core.gateway, self.core.clock, self.order.id)
        assert info.value.code == "order_already_paid"

    def refund_notification_event(self) -> None:
        if self.refund_id is None:
            return  # nothing of ours was refunded yet: WeChat has nothing to notify
        refund = order_details(self.core.uow, self.order.id).refunds[0]
        answer = self.core.control.post("/simulator/refunds", json={"out_refund_no": refund.out_refund_no})
        assert answer.status_code in (200, 409), answer.text
        self.refund_done_at_wechat = True
        self.core.sim.tick()

    def refund_query_event(self) -> None:
        if self.refund_id is not None:
            sync_refund(self.core.uow, self.core.gateway, self.core.clock, self.refund_id)

    def play(self, events: tuple[str, ...]) -> None:
        for name in events:
            getattr(self, f"{name}_event")()
            self.snapshot()


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_every_permutation_only_moves_forward(core: Core, api: str) -> None:
    core.sim.refund_processing_s = 10**6  # refunds stay PROCESSING at WeChat until the refund event finishes them
    history = History()
    runs: list[tuple[tuple[str, ...], Run]] = []
    for index, events in enumerate(itertools.permutations(EVENTS)):
        run = Run(core, api, f"perm-{api}-{index}", history)
        run.play(events)
        runs.append((events, run))
    # Quiesce: refunds still processing finish at WeChat, notifications and jobs run.
    core.sim.refund_processing_s = 1
    for _events, run in runs:
        if run.refund_id is not None and not run.refund_done_at_wechat:
            refund = order_details(core.uow, run.order.id).refunds[0]
            core.control.post("/simulator/refunds", json={"out_refund_no": refund.out_refund_no})
    for _ in range(3):
        core.advance(60)
        core.run_jobs(rounds=50)
    for _events, run in runs:
        run.snapshot()
    assert history.backward_moves() == []
    for events, run in runs:
        details = order_details(core.uow, run.order.id)
        final = (
            details.order.status,
            details.order.paid_fen,
            details.order.refunded_fen,
            [a.status for a in details.attempts],
            [r.status for r in details.refunds],
        )
        assert final == (
            OrderStatus.PARTIALLY_REFUNDED,
            AMOUNT_FEN,
            REFUND_FEN,
            [AttemptStatus.SUCCEEDED],
            [RefundStatus.SUCCEEDED],
        ), events
        seen = history.seen[("order", run.order.id)]
        assert OrderStatus.CLOSED not in seen and OrderStatus.EXPIRED not in seen, events


def _refund_notification_for(core: Core, paid_order_id: str) -> httpx.Request:
    refund = request_refund(core.uow, core.gateway, core.clock, core.merchant, paid_order_id, 500, "x", "rf-known")
    answer = core.control.post("/simulator/refunds", json={"out_refund_no": refund.out_refund_no})
    assert answer.status_code == 200
    captured = core.capture_notifications()
    assert len(captured) == 1
    return captured[0]


def _retarget(core: Core, request: httpx.Request, out_trade_no: str, api: str) -> tuple[bytes, dict[str, str]]:
    """The same refund notification, validly re-signed, now about ``out_trade_no`` and a refund we never made."""

    def edit(fields: dict[str, Any]) -> None:
        fields.update(out_trade_no=out_trade_no, out_refund_no="made-outside-0001")

    if api == "v3":
        envelope = json.loads(request.content)
        resource = envelope["resource"]
        key = core.sim.account["apiv3_key"].encode()
        plain = json.loads(aes_gcm_decrypt(key, resource["nonce"], resource["associated_data"], resource["ciphertext"]))
        edit(plain)
        resource["ciphertext"] = aes_gcm_encrypt(
            key, resource["nonce"], resource["associated_data"], json.dumps(plain).encode()
        )
        envelope["id"] = envelope["id"][:-4] + "0bad"
        body = json.dumps(envelope).encode()
        return body, {
            "content-type": "application/json",
            **signed_headers(core.sim, body, public_key=notification_uses_public_key(core.sim)),
        }
    fields = from_xml(request.content)
    inner = from_xml(aes_ecb_decrypt(core.sim.account["apiv2_key"], fields["req_info"]), root="root")
    edit(inner)
    fields["req_info"] = aes_ecb_encrypt(core.sim.account["apiv2_key"], to_xml(inner, root="root"))
    return to_xml(fields), {"content-type": "text/xml"}


@pytest.mark.parametrize("api", ["v3", "v2"])
def test_a_refund_seen_before_payment_is_an_anomaly_not_a_state_change(core: Core, api: str) -> None:
    other = create_order(core.uow, core.merchant, CreateOrder("paid-one", AMOUNT_FEN, "tea"), clock=core.clock)
    other_attempt = start_payment(core.uow, core.gateway, core.clock, core.merchant, other.id, "native", api).attempt
    core.pay(other_attempt.out_trade_no)
    assert order_details(core.uow, other.id).order.status == OrderStatus.PAID
    template = _refund_notification_for(core, other.id)

    run = Run(core, api, "early-refund", History())
    body, headers = _retarget(core, template, run.attempt.out_trade_no, api)
    with core.uow.read() as tx:
        before = len(tx.anomalies.list(limit=1000))
    answer = core.notify(httpx.Request("POST", template.url, headers=headers, content=body))
    assert answer.status_code in (200, 204)
    with core.uow.read() as tx:
        anomalies = tx.anomalies.list(limit=1000)
    assert len(anomalies) == before + 1 and anomalies[0].kind == "notification_mismatch"
    assert "out_refund_no" in anomalies[0].detail
    details = order_details(core.uow, run.order.id)
    assert details.order.status == OrderStatus.PENDING and not details.refunds
    # The payment still arrives normally afterwards; the unknown refund is never counted.
    run.payment_notification_event()
    details = order_details(core.uow, run.order.id)
    assert (details.order.status, details.order.refunded_fen) == (OrderStatus.PAID, 0)
