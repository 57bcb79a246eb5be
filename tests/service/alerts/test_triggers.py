"""What raises alerts, through the real use cases with the simulator as WeChat: a refused or unanswered
create (with what was sent and what came back, never a secret), junk notification floods, and a robot that
is down never holding up a payment."""

from __future__ import annotations

import json

import pytest

from weipay.service.bootstrap.alerts import router_from_settings
from weipay.service.domain import OrderStatus, UpstreamError
from weipay.service.jobs import run_due_jobs
from weipay.service.settings import load_settings
from weipay.service.usecases import CreateOrder, create_order, order_details, record_anomaly, start_payment
from weipay.service.usecases.alerting import ALERT

from ..core_harness import MCHID
from .receivers import sink_settings


def _order(core, number):
    return create_order(core.uow, core.merchant, CreateOrder(number, 800, "tea"), clock=core.clock)


def _start(core, order, channel="native", api="v3", **options):
    return start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, channel, api, **options)


def _events(core):
    with core.uow.read() as tx:
        return tx.alerts.recent()


def test_a_refused_create_alerts_with_what_was_sent_and_what_came_back(core):
    order = _order(core, "A-1")
    core.faults(system_error_rate=1.0, paths=["/v3/pay/transactions/native"])
    with pytest.raises(UpstreamError):
        _start(core, order)
    [event] = _events(core)
    assert event.kind == "wechat_refused" and event.severity == "error" and event.order_id == order.id
    assert "统一下单" in event.title and "SYSTEM_ERROR" in event.title
    sent, answer = json.loads(event.detail["sent"]), json.loads(event.detail["answer"])
    assert sent["out_trade_no"] and sent["amount_fen"] == 800 and answer["code"] == "SYSTEM_ERROR"
    account = json.loads((core.sim.paths.root / "merchant" / "account.json").read_text())
    stored = json.dumps(event.detail, ensure_ascii=False)
    for secret in (account["apiv2_key"], account["apiv3_key"]):
        assert secret not in stored


def test_an_unanswered_create_is_a_warning_and_an_sdk_refusal_an_error(core):
    core.faults(timeout_rate=1.0, paths=["/v3/pay/transactions/native"])
    with pytest.raises(UpstreamError):
        _start(core, _order(core, "B-1"))
    core.faults()
    with pytest.raises(UpstreamError):
        _start(core, _order(core, "B-2"), "h5", "v2", client_ip="not-an-ip")
    kinds = {(e.kind, e.severity, e.detail.get("wechat_code")) for e in _events(core)}
    assert kinds == {("wechat_unknown", "warning", None), ("wechat_refused", "error", "CONFIGURATION_ERROR")}


def test_a_successful_payment_raises_no_alert(core):
    order = _order(core, "C-1")
    start = _start(core, order)
    core.pay(start.attempt.out_trade_no)
    core.run_jobs()
    assert order_details(core.uow, order.id).order.status == OrderStatus.PAID
    assert _events(core) == []


def test_a_junk_flood_is_summarised_in_one_message(core, robots):
    for index in range(30):
        record_anomaly(core.uow, core.clock, "unverifiable_v3_notification", mchid=MCHID, reason="SignatureError",
                       sha256=f"{index:016x}")  # fmt: skip
    only_wecom = sink_settings(robots.base_url)[:1]
    router = router_from_settings(load_settings(environ={}, overrides={"alerts": only_wecom}).alerts)
    run_due_jobs(core.uow, core.gateway, core.clock, 50, kinds=[ALERT], alerts=router)
    [message] = robots.accepted("wecom")
    content = message.body["markdown"]["content"]
    assert "无法验证的微信通知" in content and "×30" in content


def test_a_robot_down_never_holds_up_a_payment_and_its_alert_arrives_later(core, robots):
    refused = _order(core, "D-1")
    with pytest.raises(UpstreamError):
        _start(core, refused, "h5", "v2", client_ip="not-an-ip")
    robots.down = True
    every_sink = sink_settings(robots.base_url)
    router = router_from_settings(load_settings(environ={}, overrides={"alerts": every_sink}).alerts)

    def run_all():
        for _ in range(5):
            if run_due_jobs(core.uow, core.gateway, core.clock, 50, merchants={MCHID: core.merchant},
                            alerts=router) == 0:  # fmt: skip
                break

    paid = _order(core, "D-2")
    start = _start(core, paid)
    core.pay(start.attempt.out_trade_no)
    run_all()
    assert order_details(core.uow, paid.id).order.status == OrderStatus.PAID
    with core.uow.read() as tx:
        (alert_job,) = tx.jobs.list(kind=ALERT)
    assert alert_job.status == "pending" and "HTTP 503" in (alert_job.last_error or "")
    robots.down = False
    core.advance(10)
    run_all()
    assert {r.platform for r in robots.received if r.accepted} == {"wecom", "dingtalk", "feishu", "webhook"}
    with core.uow.read() as tx:
        assert tx.jobs.list(kind=ALERT)[0].status == "done"
